package bridge

import "go.opentelemetry.io/otel/trace"

// policies holds what a table's routes share: the authenticator and, with
// the policy layer, stores and limiters. One per Table.
type policies struct {
	auth *authenticator
}

// newPolicies builds the policy state of a table from its config.
func newPolicies(cfg *Config) (*policies, error) {
	return &policies{auth: newAuthenticator(cfg.Auth)}, nil
}

// chain wraps a route's endpoint with its middleware: authentication, the
// timeout, the options' middleware, then the attempt counter next to the
// endpoint.
func (p *policies) chain(r *Route, ep Endpoint, o options, tracer trace.Tracer) (Handler, StreamHandler, error) {
	mws := append([]Middleware{p.auth.middleware, timeoutMiddleware}, o.middleware...)
	mws = append(mws, attemptMiddleware(o.metrics, tracer))
	return Chain(ep.Unary, mws...), p.auth.stream(ep.Stream), nil
}

// Close releases the policy state (connections to shared stores).
func (p *policies) Close() error { return nil }
