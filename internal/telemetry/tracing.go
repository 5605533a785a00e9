package telemetry

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/protobridge/protobridge/internal/config"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Propagator carries W3C trace context and baggage in and out.
var Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// NewTracerProvider builds the tracer provider a config asks for; nil when
// tracing is off. Shut it down to flush spans.
func NewTracerProvider(ctx context.Context, c config.TracingConfig, logOut io.Writer) (*sdktrace.TracerProvider, error) {
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

// Tracer returns the daemon's tracer, a no-op one when tracing is off.
func (t *Telemetry) Tracer() trace.Tracer {
	if t == nil || t.Provider == nil {
		return noop.NewTracerProvider().Tracer("")
	}
	return t.Provider.Tracer("github.com/protobridge/protobridge")
}

// Tracing reports whether spans are recorded.
func (t *Telemetry) Tracing() bool { return t != nil && t.Provider != nil }

// WrapTransport returns the tracing part of Env.WrapTransport: otelhttp
// client spans and W3C trace context on every upstream request.
func (t *Telemetry) WrapTransport() func(http.RoundTripper) http.RoundTripper {
	if !t.Tracing() {
		return func(rt http.RoundTripper) http.RoundTripper { return rt }
	}
	tp := t.Provider
	return func(rt http.RoundTripper) http.RoundTripper {
		return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(Propagator))
	}
}
