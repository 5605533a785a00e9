package async

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/protobridge/protobridge/internal/telemetry"
)

// jobMetrics are the jobs' Prometheus metrics.
type jobMetrics struct {
	submitted   *prometheus.CounterVec
	finished    *prometheus.CounterVec
	callbacks   *prometheus.CounterVec
	retried     prometheus.Counter
	redelivered prometheus.Counter
	running     prometheus.Gauge
	queueAge    prometheus.Histogram
	runAge      prometheus.Histogram
}

var ageBuckets = []float64{.01, .05, .25, 1, 5, 30, 120, 600, 3600, 6 * 3600, 24 * 3600}

func newJobMetrics(m *telemetry.Metrics, s *Service) *jobMetrics {
	jm := &jobMetrics{
		submitted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "protobridge_jobs_submitted_total",
			Help: "Jobs stored by Submit, by priority class."}, []string{"priority"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "protobridge_jobs_finished_total",
			Help: "Jobs that reached a final state in this daemon, by state (succeeded, failed, cancelled)."}, []string{"state"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "protobridge_job_callbacks_total",
			Help: "Completion callback POSTs, by outcome (delivered, failed)."}, []string{"outcome"}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{Name: "protobridge_jobs_retried_total",
			Help: "Job attempts that failed retryably and were put back with a backoff."}),
		redelivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "protobridge_jobs_redelivered_total",
			Help: "Jobs taken again after their lease ran out (a daemon died or stalled) or after a retry delay."}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{Name: "protobridge_jobs_running",
			Help: "Jobs this daemon is calling the upstream for now."}),
		queueAge: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "protobridge_job_start_age_seconds",
			Help: "Time from submit to each attempt's start.", Buckets: ageBuckets}),
		runAge: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "protobridge_job_finish_age_seconds",
			Help: "Time from submit to the final state.", Buckets: ageBuckets}),
	}
	if m == nil {
		return jm
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "protobridge_jobs_queued",
		Help: "Jobs in the queue, all classes: waiting, running, waiting for a retry, or cancelled and not yet taken off."}, func() float64 {
		d, _ := s.Depths()
		var n uint64
		for _, v := range d {
			n += v
		}
		return float64(n)
	})
	m.Registry.MustRegister(jm.submitted, jm.finished, jm.callbacks, jm.retried, jm.redelivered, jm.running, jm.queueAge, jm.runAge, depth)
	return jm
}

// Depths returns the jobs waiting per priority class (taken and not
// finished included).
func (s *Service) Depths() (map[string]uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out := map[string]uint64{}
	for _, c := range classes {
		cons, err := s.stream.Consumer(ctx, "pb-jobs-"+className(c))
		if err != nil {
			return out, err
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return out, err
		}
		out[className(c)] = info.NumPending + uint64(info.NumAckPending)
	}
	return out, nil
}

// Status is what the status page shows of the jobs.
type Status struct {
	// Queued is the jobs waiting per priority class, in class order
	// (taken and not finished included); Err says why it is unknown.
	Queued []ClassDepth
	Err    string
	// Running is the jobs this daemon is calling the upstream for now.
	Running int
	// Finished counts this daemon's final states since it started.
	Succeeded, Failed, Cancelled, Retried, Redelivered int
}

// ClassDepth is one priority class's queue.
type ClassDepth struct {
	Class string
	Jobs  uint64
}

// Status returns the jobs' state for the status page.
func (s *Service) Status() Status {
	st := Status{Running: int(gaugeValue(s.m.running)), Retried: int(counterValue(s.m.retried)), Redelivered: int(counterValue(s.m.redelivered)),
		Succeeded: int(counterValue(s.m.finished.WithLabelValues("succeeded"))), Failed: int(counterValue(s.m.finished.WithLabelValues("failed"))),
		Cancelled: int(counterValue(s.m.finished.WithLabelValues("cancelled")))}
	d, err := s.Depths()
	if err != nil {
		st.Err = err.Error()
	}
	for _, c := range classes {
		st.Queued = append(st.Queued, ClassDepth{Class: className(c), Jobs: d[className(c)]})
	}
	return st
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

func gaugeValue(g prometheus.Gauge) float64 {
	var m dto.Metric
	_ = g.Write(&m)
	return m.GetGauge().GetValue()
}
