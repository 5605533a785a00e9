package bridge

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// noticeLogEvery bounds how often one route's notice of one kind is logged.
const noticeLogEvery = 10 * time.Minute

// maxNoticeDetail bounds the header text kept in a notice.
const maxNoticeDetail = 256

// HeaderNotices reads the health signals in an upstream's HTTP reply
// headers: Deprecation (RFC 9745: "@<unix seconds>"; older drafts' HTTP-date
// or "true"), Sunset (RFC 8594: an HTTP-date) and Warning.
func HeaderNotices(h http.Header) []Notice {
	var out []Notice
	if v := strings.TrimSpace(h.Get("Deprecation")); v != "" {
		n := Notice{Kind: "deprecation", Detail: bound(v)}
		if strings.HasPrefix(v, "@") {
			if secs, err := strconv.ParseInt(v[1:], 10, 64); err == nil {
				n.Date = time.Unix(secs, 0).UTC()
			}
		} else if t, err := http.ParseTime(v); err == nil {
			n.Date = t.UTC()
		}
		out = append(out, n)
	}
	if v := strings.TrimSpace(h.Get("Sunset")); v != "" {
		n := Notice{Kind: "sunset", Detail: bound(v)}
		if t, err := http.ParseTime(v); err == nil {
			n.Date = t.UTC()
		}
		out = append(out, n)
	}
	for _, v := range h.Values("Warning") {
		out = append(out, Notice{Kind: "warning", Detail: bound(v)})
	}
	return out
}

func bound(s string) string {
	if len(s) > maxNoticeDetail {
		return s[:maxNoticeDetail]
	}
	return s
}

// noticeReporter returns the Env.Notify hook: it sets the notice metric and
// logs each (route, kind) at most once per noticeLogEvery.
func noticeReporter(logger *slog.Logger, m *Metrics) func(*Route, Notice) {
	var mu sync.Mutex
	last := map[string]time.Time{}
	return func(r *Route, n Notice) {
		if m != nil {
			ts := 0.0
			if !n.Date.IsZero() {
				ts = float64(n.Date.Unix())
			}
			m.notices.WithLabelValues(r.Name(), r.Upstream.Name, n.Kind).Set(ts)
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
