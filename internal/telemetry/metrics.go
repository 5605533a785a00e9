// Package telemetry is what the daemon reports: Prometheus metrics in a
// registry of its own, OpenTelemetry tracing, and upstream notices
// (Deprecation, Sunset, Warning) as metrics and rate-limited log lines.
package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

// Metrics are the daemon's Prometheus metrics, in a registry of their own.
// Label values come from the loaded route table (method and upstream names)
// and fixed sets (gRPC codes, directions), so cardinality is bounded by the
// config; calls of unknown methods are counted under method="unknown".
type Metrics struct {
	// Registry holds every metric below plus the Go and process collectors.
	Registry *prometheus.Registry
	// History is each route's last hour in memory, for the status page.
	History *History

	calls           *prometheus.CounterVec
	callSeconds     *prometheus.HistogramVec
	upstreamSeconds *prometheus.HistogramVec
	attempts        *prometheus.CounterVec
	openStreams     *prometheus.GaugeVec
	messageBytes    *prometheus.CounterVec
	reloads         *prometheus.CounterVec
	notices         *prometheus.GaugeVec
}

// NewMetrics builds the metrics and registers them.
func NewMetrics() *Metrics {
	buckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		History:  NewHistory(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protobridge_calls_total", Help: "Calls served, by method, upstream, front door (grpc, invoke, mcp, ...) and gRPC code.",
		}, []string{"method", "upstream", "front_door", "code"}),
		callSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "protobridge_call_duration_seconds", Help: "Time from receiving a call to answering it, by method, upstream and front door.", Buckets: buckets,
		}, []string{"method", "upstream", "front_door"}),
		upstreamSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "protobridge_upstream_duration_seconds", Help: "Time spent in the upstream adapter per attempt (encode, round trip, decode).", Buckets: buckets,
		}, []string{"method", "upstream"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protobridge_upstream_attempts_total", Help: "Upstream attempts (a stream counts one per open), by method, upstream and gRPC code of the attempt.",
		}, []string{"method", "upstream", "code"}),
		openStreams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "protobridge_open_streams", Help: "Streaming calls in progress.",
		}, []string{"method", "upstream"}),
		messageBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protobridge_message_bytes_total", Help: "gRPC wire bytes of routed calls' messages (5-byte frame header included), by method and direction (in: from callers, out: to callers).",
		}, []string{"method", "direction"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protobridge_config_reloads_total", Help: "Config reloads, by result (ok, rejected).",
		}, []string{"result"}),
		notices: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "protobridge_upstream_notice_timestamp_seconds", Help: "Date an upstream announced for a route in a Deprecation or Sunset header (Unix seconds; 0 when the header carried no date).",
		}, []string{"method", "upstream", "notice"}),
	}
	m.Registry.MustRegister(m.calls, m.callSeconds, m.upstreamSeconds, m.attempts, m.openStreams, m.messageBytes, m.reloads, m.notices,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveCall records one finished call at a front door.
func (m *Metrics) ObserveCall(method, upstream, frontDoor string, code codes.Code, d time.Duration) {
	m.calls.WithLabelValues(method, upstream, frontDoor, code.String()).Inc()
	if method != "unknown" {
		m.callSeconds.WithLabelValues(method, upstream, frontDoor).Observe(d.Seconds())
		m.History.Observe(method, code != codes.OK, d)
	}
}

// OpenStream counts a streaming call in progress until the returned
// function is called.
func (m *Metrics) OpenStream(method, upstream string) (done func()) {
	g := m.openStreams.WithLabelValues(method, upstream)
	g.Inc()
	return g.Dec
}

// AddMessageBytes counts wire bytes of a routed call's messages; dir is
// "in" (from callers) or "out" (to callers).
func (m *Metrics) AddMessageBytes(method, dir string, n int) {
	m.messageBytes.WithLabelValues(method, dir).Add(float64(n))
}

// CountReload counts a config reload; result is "ok" or "rejected".
func (m *Metrics) CountReload(result string) { m.reloads.WithLabelValues(result).Inc() }

// Calls returns the calls counter, for the status page.
func (m *Metrics) Calls() *prometheus.CounterVec { return m.calls }

// CountAttempt counts one upstream attempt without timing it: a stream's
// open, whose attempt lasts as long as the stream.
func (m *Metrics) CountAttempt(method, upstream string, code codes.Code) {
	m.attempts.WithLabelValues(method, upstream, code.String()).Inc()
}

// ObserveAttempt records one upstream attempt.
func (m *Metrics) ObserveAttempt(method, upstream string, code codes.Code, d time.Duration) {
	m.attempts.WithLabelValues(method, upstream, code.String()).Inc()
	m.upstreamSeconds.WithLabelValues(method, upstream).Observe(d.Seconds())
}

// Telemetry bundles what the router, the policies, the adapters and the
// front doors report to. A nil *Telemetry, or nil fields, turn each off.
type Telemetry struct {
	// Metrics are the daemon's Prometheus metrics (nil: none recorded).
	Metrics *Metrics
	// Provider is the tracer provider (nil: tracing off).
	Provider trace.TracerProvider
}

// M returns the metrics, nil when off.
func (t *Telemetry) M() *Metrics {
	if t == nil {
		return nil
	}
	return t.Metrics
}
