package daemon

import (
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/protobridge/protobridge/internal/telemetry"
)

// Chart geometry: small multiples, one row of three per route.
const (
	chartW, chartH = 240, 56
	chartPad       = 4
)

// routeCharts is one route's last hour as the status page draws it.
type routeCharts struct {
	Method                    string
	Requests, Errors, Latency template.HTML
	Calls, Failed             uint64
	PeakRate                  string
	ErrorRate, P50, P90, P99  string
	LastActive                string
}

// chartViews draws every route's last hour from the in-memory history:
// requests per minute (bars), the error rate (a line over 0–100%) and
// latency p50/p90/p99 (three lines on one scale). The SVG holds numbers
// only; names are the template's to escape.
func chartViews(h *telemetry.History, methods []string) []routeCharts {
	sort.Strings(methods)
	out := make([]routeCharts, 0, len(methods))
	for _, m := range methods {
		s := h.Series(m)
		rc := routeCharts{Method: m, LastActive: "no calls in the last hour"}
		calls := make([]float64, len(s))
		errRate := make([]float64, len(s))
		p50, p90, p99 := make([]float64, len(s)), make([]float64, len(s)), make([]float64, len(s))
		var peak uint64
		var maxP50, maxP90, maxP99 time.Duration
		for i, p := range s {
			calls[i] = float64(p.Calls)
			rc.Calls += p.Calls
			rc.Failed += p.Errors
			peak = max(peak, p.Calls)
			errRate[i] = -1 // no calls: a gap in the line
			if p.Calls > 0 {
				errRate[i] = 100 * float64(p.Errors) / float64(p.Calls)
				rc.LastActive = "last call " + p.Minute.Format("15:04") + " UTC"
			}
			p50[i], p90[i], p99[i] = -1, -1, -1
			if p.Calls > 0 {
				p50[i], p90[i], p99[i] = ms(p.P50), ms(p.P90), ms(p.P99)
			}
			maxP50, maxP90, maxP99 = max(maxP50, p.P50), max(maxP90, p.P90), max(maxP99, p.P99)
		}
		rc.PeakRate = fmt.Sprintf("%d/min", peak)
		rc.ErrorRate = "–"
		if rc.Calls > 0 {
			rc.ErrorRate = fmt.Sprintf("%.1f%%", 100*float64(rc.Failed)/float64(rc.Calls))
		}
		rc.P50, rc.P90, rc.P99 = roundDur(maxP50), roundDur(maxP90), roundDur(maxP99)
		rc.Requests = bars(calls, "requests")
		rc.Errors = lines("errors", 100, line{errRate, "err"})
		top := max(ms(maxP99), 1)
		rc.Latency = lines("latency", top, line{p50, "p50"}, line{p90, "p90"}, line{p99, "p99"})
		out = append(out, rc)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func roundDur(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func svgOpen(kind string) *strings.Builder {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`, kind, chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect class="frame" x="0.5" y="0.5" width="%d" height="%d"/>`, chartW-1, chartH-1)
	return &b
}

// bars draws one bar per minute, scaled to the busiest minute.
func bars(v []float64, kind string) template.HTML {
	b := svgOpen(kind)
	top := 0.0
	for _, x := range v {
		top = max(top, x)
	}
	w := float64(chartW-2*chartPad) / float64(len(v))
	for i, x := range v {
		if x <= 0 || top == 0 {
			continue
		}
		h := max(1, x/top*float64(chartH-2*chartPad))
		fmt.Fprintf(b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`,
			float64(chartPad)+float64(i)*w, float64(chartH-chartPad)-h, max(w-0.5, 0.5), h)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers and fixed names only
}

type line struct {
	v     []float64
	class string
}

// lines draws series over 0–top; a negative value is a gap. A lone point
// between gaps is drawn as a dot.
func lines(kind string, top float64, ls ...line) template.HTML {
	b := svgOpen(kind)
	n := 0
	for _, l := range ls {
		n = max(n, len(l.v))
	}
	step := float64(chartW-2*chartPad) / float64(max(n-1, 1))
	y := func(x float64) float64 {
		return float64(chartH-chartPad) - min(x, top)/top*float64(chartH-2*chartPad)
	}
	for _, l := range ls {
		var d strings.Builder
		pen := false
		for i, x := range l.v {
			if x < 0 {
				pen = false
				continue
			}
			px := float64(chartPad) + float64(i)*step
			switch {
			case pen:
				fmt.Fprintf(&d, "L%.1f %.1f", px, y(x))
			case i+1 >= len(l.v) || l.v[i+1] < 0:
				fmt.Fprintf(b, `<circle class="dot %s" cx="%.1f" cy="%.1f" r="2.5"/>`, l.class, px, y(x))
			default:
				fmt.Fprintf(&d, "M%.1f %.1f", px, y(x))
			}
			pen = true
		}
		if d.Len() > 0 {
			fmt.Fprintf(b, `<path class="line %s" d="%s"/>`, l.class, d.String())
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers and fixed names only
}
