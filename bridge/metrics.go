package bridge

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc/codes"
)

// Metrics are the daemon's Prometheus metrics, in a registry of their own.
// Label values come from the loaded route table (method and upstream names)
// and fixed sets (gRPC codes, directions), so cardinality is bounded by the
// config; calls of unknown methods are counted under method="unknown".
type Metrics struct {
	// Registry holds every metric below plus the Go and process collectors.
	Registry *prometheus.Registry

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
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protobridge_calls_total", Help: "gRPC calls served, by method, upstream and gRPC code.",
		}, []string{"method", "upstream", "code"}),
		callSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "protobridge_call_duration_seconds", Help: "Time from receiving a call to answering it, at the gRPC front door.", Buckets: buckets,
		}, []string{"method", "upstream"}),
		upstreamSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "protobridge_upstream_duration_seconds", Help: "Time spent in the upstream adapter per attempt (encode, round trip, decode).", Buckets: buckets,
		}, []string{"method", "upstream"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protobridge_upstream_attempts_total", Help: "Upstream attempts, by method, upstream and gRPC code of the attempt.",
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

// observeCall records one finished call at the front door.
func (m *Metrics) observeCall(method, upstream string, code codes.Code, d time.Duration) {
	m.calls.WithLabelValues(method, upstream, code.String()).Inc()
	if method != "unknown" {
		m.callSeconds.WithLabelValues(method, upstream).Observe(d.Seconds())
	}
}

// observeAttempt records one upstream attempt.
func (m *Metrics) observeAttempt(method, upstream string, code codes.Code, d time.Duration) {
	m.attempts.WithLabelValues(method, upstream, code.String()).Inc()
	m.upstreamSeconds.WithLabelValues(method, upstream).Observe(d.Seconds())
}
