package bridge

// PolicyConfig holds the resilience and traffic policies of an upstream or a
// route: retries, circuit breaker, fallbacks, rate limits, cache, dedup and
// validation.
type PolicyConfig struct{}

// StateConfig selects where shared policy state lives.
type StateConfig struct{}
