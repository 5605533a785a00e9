package telemetry

import (
	"testing"
	"time"

	"github.com/protobridge/protobridge/bridge"
)

func TestHistorySeries(t *testing.T) {
	now := time.Date(2026, 12, 4, 15, 0, 30, 0, time.UTC)
	h := newHistory(func() time.Time { return now })
	// Minute 15:00: 90 fast calls, 10 slow failures.
	for i := 0; i < 90; i++ {
		h.Observe("a.S/M", false, 3*time.Millisecond)
	}
	for i := 0; i < 10; i++ {
		h.Observe("a.S/M", true, 700*time.Millisecond)
	}
	now = now.Add(2 * time.Minute) // 15:02: one call
	h.Observe("a.S/M", false, 40*time.Millisecond)

	s := h.Series("a.S/M")
	if len(s) != HistorySlots {
		t.Fatalf("%d points", len(s))
	}
	last, first := s[HistorySlots-1], s[HistorySlots-3]
	if !last.Minute.Equal(time.Date(2026, 12, 4, 15, 2, 0, 0, time.UTC)) || last.Calls != 1 || last.Errors != 0 {
		t.Errorf("last point %+v", last)
	}
	if last.P50 <= 20*time.Millisecond || last.P50 > 50*time.Millisecond {
		t.Errorf("one 40ms call: p50 %s is outside its bucket (20ms, 50ms]", last.P50)
	}
	if first.Calls != 100 || first.Errors != 10 {
		t.Errorf("15:00 point %+v", first)
	}
	if first.P50 <= 2*time.Millisecond || first.P50 > 5*time.Millisecond {
		t.Errorf("p50 %s, want within (2ms, 5ms]", first.P50)
	}
	if first.P99 <= 500*time.Millisecond || first.P99 > time.Second {
		t.Errorf("p99 %s, want within (500ms, 1s]", first.P99)
	}
	if s[HistorySlots-2].Calls != 0 || s[HistorySlots-2].P50 != 0 {
		t.Errorf("15:01 had no calls: %+v", s[HistorySlots-2])
	}

	// An hour on, 15:00 has left the window and its slot is reused.
	now = now.Add(58 * time.Minute) // 16:00
	h.Observe("a.S/M", false, time.Millisecond)
	s = h.Series("a.S/M")
	var total uint64
	for _, p := range s {
		total += p.Calls
	}
	if total != 2 || s[HistorySlots-1].Calls != 1 {
		t.Errorf("after an hour: %d calls in the window, want 2 (15:02 and 16:00)", total)
	}

	// A route quiet for an hour is dropped when another appears.
	now = now.Add(2 * time.Hour)
	h.Observe("b.S/M", false, time.Millisecond)
	h.mu.Lock()
	_, kept := h.routes["a.S/M"]
	h.mu.Unlock()
	if kept {
		t.Errorf("a route quiet for an hour is still kept")
	}
}

func TestHistorySlowerThanEveryBucket(t *testing.T) {
	h := NewHistory()
	h.Observe("a.S/M", false, 5*time.Minute)
	if p := h.Series("a.S/M")[HistorySlots-1].P99; p != time.Minute {
		t.Errorf("p99 %s, want the last bound (1m)", p)
	}
}

func TestHistoryNotices(t *testing.T) {
	h := NewHistory()
	sunset := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	h.Notice("b.S/M", "up", bridge.Notice{Kind: "sunset", Date: sunset, Detail: "Wed, 30 Jun 2027 00:00:00 GMT"})
	h.Notice("a.S/M", "up", bridge.Notice{Kind: "deprecation", Detail: "true"})
	h.Notice("a.S/M", "up", bridge.Notice{Kind: "deprecation", Detail: "@1700000000"})
	ns := h.Notices()
	if len(ns) != 2 || ns[0].Method != "a.S/M" || ns[0].Detail != "@1700000000" || !ns[1].Date.Equal(sunset) {
		t.Errorf("notices %+v", ns)
	}
}
