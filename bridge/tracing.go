package bridge

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
)

// TracingConfig turns OpenTelemetry tracing on. Off by default.
type TracingConfig struct {
	// Exporter is "none" (default), "stdout" (spans as JSON on the log
	// output) or "otlp" (OTLP over gRPC to Endpoint).
	Exporter string `yaml:"exporter"`
	// Endpoint is the OTLP collector's host:port (default 127.0.0.1:4317).
	Endpoint string `yaml:"endpoint"`
	// Insecure sends OTLP without TLS.
	Insecure bool `yaml:"insecure"`
	// SampleRatio is the fraction of new traces sampled (default 1); calls
	// that arrive with a sampled parent are always traced.
	SampleRatio *float64 `yaml:"sample_ratio"`
	// ServiceName is the service.name resource attribute (default protobridge).
	ServiceName string `yaml:"service_name"`
}

// propagator carries W3C trace context and baggage in and out.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// NewTracerProvider builds the tracer provider a config asks for; nil when
// tracing is off. Shut it down to flush spans.
func NewTracerProvider(ctx context.Context, c TracingConfig, logOut io.Writer) (*sdktrace.TracerProvider, error) {
	var exp sdktrace.SpanExporter
	var err error
	switch c.Exporter {
	case "", "none":
		return nil, nil
	case "stdout":
		exp, err = stdouttrace.New(stdouttrace.WithWriter(logOut))
	case "otlp":
		endpoint := c.Endpoint
		if endpoint == "" {
			endpoint = "127.0.0.1:4317"
		}
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(endpoint)}
		if c.Insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	default:
		return nil, fmt.Errorf("tracing.exporter %q is not known (none, stdout, otlp)", c.Exporter)
	}
	if err != nil {
		return nil, err
	}
	ratio := 1.0
	if c.SampleRatio != nil {
		ratio = *c.SampleRatio
	}
	name := c.ServiceName
	if name == "" {
		name = "protobridge"
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(name))),
	), nil
}

// WithTracerProvider traces calls: otelgrpc spans at the front door, a span
// per upstream attempt, otelhttp spans on adapters' HTTP requests, and W3C
// trace context passed to upstreams.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracer = tp }
}

// tracer returns the options' tracer, a no-op one when tracing is off.
func (o options) tracerOrNoop() trace.Tracer {
	if o.tracer == nil {
		return noop.NewTracerProvider().Tracer("")
	}
	return o.tracer.Tracer("github.com/protobridge/protobridge")
}

// wrapTransport returns Env.WrapTransport for the options.
func (o options) wrapTransport() func(http.RoundTripper) http.RoundTripper {
	if o.tracer == nil {
		return func(rt http.RoundTripper) http.RoundTripper { return rt }
	}
	tp := o.tracer
	return func(rt http.RoundTripper) http.RoundTripper {
		return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagator))
	}
}

// serverOptions returns the gRPC server options tracing needs.
func (o options) serverOptions() []grpc.ServerOption {
	if o.tracer == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(o.tracer), otelgrpc.WithPropagators(propagator)))}
}
