package telemetry

import (
	"sort"
	"sync"
	"time"

	"github.com/protobridge/protobridge/bridge"
)

// HistorySlots is how many one-minute slots History keeps per route: the
// last hour.
const HistorySlots = 60

// latencyBounds are the upper bounds of History's latency buckets; one
// more bucket holds what is slower than the last.
var latencyBounds = [...]time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute,
}

// slot is one minute of one route.
type slot struct {
	minute        int64 // Unix minute the slot holds; older content is stale
	calls, errors uint64
	buckets       [len(latencyBounds) + 1]uint64
}

// History keeps the last hour of every route's calls in memory, in a ring
// of one-minute slots per route (requests, errors and a latency histogram),
// and the latest upstream notice of each route and kind: what the status
// page draws, with no external service. Memory is bounded by the routes:
// a route not called for an hour is dropped.
type History struct {
	now func() time.Time

	mu      sync.Mutex
	routes  map[string]*[HistorySlots]slot
	notices map[[2]string]NoticeRecord
}

// NewHistory returns an empty History on the wall clock.
func NewHistory() *History { return newHistory(time.Now) }

func newHistory(now func() time.Time) *History {
	return &History{now: now, routes: map[string]*[HistorySlots]slot{}, notices: map[[2]string]NoticeRecord{}}
}

// Observe records one finished call of a route.
func (h *History) Observe(method string, failed bool, d time.Duration) {
	minute := h.now().Unix() / 60
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.routes[method]
	if r == nil {
		h.prune(minute)
		r = new([HistorySlots]slot)
		h.routes[method] = r
	}
	s := &r[minute%HistorySlots]
	if s.minute != minute {
		*s = slot{minute: minute}
	}
	s.calls++
	if failed {
		s.errors++
	}
	b := sort.Search(len(latencyBounds), func(i int) bool { return d <= latencyBounds[i] })
	s.buckets[b]++
}

// prune drops routes with no call in the last hour (a reload may have
// removed them).
func (h *History) prune(minute int64) {
	for m, r := range h.routes {
		live := false
		for _, s := range r {
			live = live || minute-s.minute < HistorySlots
		}
		if !live {
			delete(h.routes, m)
		}
	}
}

// Point is one minute of a route.
type Point struct {
	// Minute is the minute's start.
	Minute time.Time
	// Calls and Errors count the calls that ended in the minute, and
	// those that did not end OK.
	Calls, Errors uint64
	// P50, P90 and P99 are latency percentiles (zero without calls),
	// interpolated within History's buckets.
	P50, P90, P99 time.Duration
}

// Series returns a route's last hour, oldest minute first, HistorySlots
// points (minutes without calls are zero).
func (h *History) Series(method string) []Point {
	minute := h.now().Unix() / 60
	out := make([]Point, HistorySlots)
	h.mu.Lock()
	r := h.routes[method]
	var copied [HistorySlots]slot
	if r != nil {
		copied = *r
	}
	h.mu.Unlock()
	for i := range out {
		m := minute - HistorySlots + 1 + int64(i)
		p := Point{Minute: time.Unix(m*60, 0).UTC()}
		if s := copied[m%HistorySlots]; s.minute == m && s.calls > 0 {
			p.Calls, p.Errors = s.calls, s.errors
			p.P50, p.P90, p.P99 = percentile(&s, 0.5), percentile(&s, 0.9), percentile(&s, 0.99)
		}
		out[i] = p
	}
	return out
}

// percentile estimates the q quantile of a slot's latencies, linearly
// within the bucket it falls in.
func percentile(s *slot, q float64) time.Duration {
	rank := q * float64(s.calls)
	var seen float64
	for i, n := range s.buckets {
		if n == 0 {
			continue
		}
		if seen+float64(n) >= rank {
			lo := time.Duration(0)
			if i > 0 {
				lo = latencyBounds[i-1]
			}
			if i == len(latencyBounds) {
				return lo // slower than the last bound: the bound is all that is known
			}
			hi := latencyBounds[i]
			return lo + time.Duration(float64(hi-lo)*(rank-seen)/float64(n))
		}
		seen += float64(n)
	}
	return latencyBounds[len(latencyBounds)-1]
}

// NoticeRecord is the latest notice of one kind an upstream gave for a route.
type NoticeRecord struct {
	Method, Upstream string
	bridge.Notice
	// Seen is when it was last given.
	Seen time.Time
}

// Notice records an upstream notice (deprecation, sunset, warning).
func (h *History) Notice(method, upstream string, n bridge.Notice) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notices[[2]string{method, n.Kind}] = NoticeRecord{Method: method, Upstream: upstream, Notice: n, Seen: now}
}

// Notices returns the latest notice of each route and kind, by method.
func (h *History) Notices() []NoticeRecord {
	h.mu.Lock()
	out := make([]NoticeRecord, 0, len(h.notices))
	for _, n := range h.notices {
		out = append(out, n)
	}
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Method != out[j].Method {
			return out[i].Method < out[j].Method
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}
