package policy

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/protobridge/protobridge/internal/telemetry"
	"github.com/sony/gobreaker/v2"
)

// policyMetrics are the policy layer's Prometheus metrics. Labels come from
// the config (method, upstream and breaker scopes) and fixed sets.
type policyMetrics struct {
	breaker     *prometheus.GaugeVec
	fallbacks   *prometheus.CounterVec
	cache       *prometheus.CounterVec
	limited     *prometheus.CounterVec
	stateErrors *prometheus.CounterVec
}

var (
	policyMetricsMu sync.Mutex
	policyMetricsBy = map[*telemetry.Metrics]*policyMetrics{}
)

// policyMetricsOf returns m's policy metrics, registering them in m's
// registry the first time; nil m gives metrics registered nowhere.
func policyMetricsOf(m *telemetry.Metrics) *policyMetrics {
	policyMetricsMu.Lock()
	defer policyMetricsMu.Unlock()
	if pm := policyMetricsBy[m]; pm != nil {
		return pm
	}
	pm := &policyMetrics{
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "protobridge_circuit_breaker_state", Help: "Circuit breaker state by scope (upstream:NAME or route:METHOD): 0 closed, 1 half-open, 2 open.",
		}, []string{"scope"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protobridge_fallbacks_total", Help: "Calls answered by a fallback, by method and kind (static, stale).",
		}, []string{"method", "kind"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protobridge_cache_lookups_total", Help: "Cache lookups, by method and result (hit, miss).",
		}, []string{"method", "result"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protobridge_rate_limited_total", Help: "Calls refused by a rate limit, by scope and direction (inbound, outbound).",
		}, []string{"scope", "direction"}),
		stateErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "protobridge_state_errors_total", Help: "Failed operations on the policy state store, by use (cache, stale, limit, idempotency).",
		}, []string{"use"}),
	}
	if m != nil {
		m.Registry.MustRegister(pm.breaker, pm.fallbacks, pm.cache, pm.limited, pm.stateErrors)
		policyMetricsBy[m] = pm
	}
	return pm
}

func (pm *policyMetrics) breakerState(scope string, s gobreaker.State) {
	v := map[gobreaker.State]float64{gobreaker.StateClosed: 0, gobreaker.StateHalfOpen: 1, gobreaker.StateOpen: 2}[s]
	pm.breaker.WithLabelValues(scope).Set(v)
}
