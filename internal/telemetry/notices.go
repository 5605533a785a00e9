package telemetry

import (
	"log/slog"
	"sync"
	"time"

	"github.com/protobridge/protobridge/bridge"
)

// noticeLogEvery bounds how often one route's notice of one kind is logged.
const noticeLogEvery = 10 * time.Minute

// Notifier returns the Env.Notify hook: it sets the notice metric and
// logs each (route, kind) at most once per noticeLogEvery.
func Notifier(logger *slog.Logger, m *Metrics) func(*bridge.Route, bridge.Notice) {
	var mu sync.Mutex
	last := map[string]time.Time{}
	return func(r *bridge.Route, n bridge.Notice) {
		if m != nil {
			ts := 0.0
			if !n.Date.IsZero() {
				ts = float64(n.Date.Unix())
			}
			m.notices.WithLabelValues(r.Name(), r.Upstream.Name, n.Kind).Set(ts)
			m.History.Notice(r.Name(), r.Upstream.Name, n)
		}
		key := r.Name() + "\x00" + n.Kind
		now := time.Now()
		mu.Lock()
		due := now.Sub(last[key]) >= noticeLogEvery
		if due {
			last[key] = now
		}
		mu.Unlock()
		if !due {
			return
		}
		attrs := []any{"method", r.Name(), "upstream", r.Upstream.Name, "notice", n.Kind, "detail", n.Detail}
		if !n.Date.IsZero() {
			attrs = append(attrs, "date", n.Date.Format(time.DateOnly))
		}
		logger.Warn("upstream notice", attrs...)
	}
}
