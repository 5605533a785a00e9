package sandbox

import (
	"fmt"
	"time"

	"github.com/protobridge/protobridge/bridge"
)

// Mode is what the sandbox does with an upstream's traffic.
type Mode string

// The modes.
const (
	// Off passes traffic through untouched.
	Off Mode = ""
	// Record passes traffic through and writes every exchange to HAR files.
	Record Mode = "record"
	// Replay answers from HAR files without touching the upstream.
	Replay Mode = "replay"
	// Mock answers from the route's contract without touching the upstream.
	Mock Mode = "mock"
)

// Config is an upstream's `sandbox:` block. Every field is optional; the
// serve flags --record, --replay and --mock set Mode and Dir for the
// upstreams whose block leaves Mode out.
type Config struct {
	// Mode is record, replay or mock (default: off, unless a serve flag sets it).
	Mode Mode `yaml:"mode"`
	// Dir holds the recordings, <upstream>-NNNN.har; relative to the config file.
	Dir string `yaml:"dir"`
	// MaxEntries starts a new HAR file after this many exchanges (default 100).
	MaxEntries int `yaml:"max_entries"`
	// MaxBodyBytes bounds each recorded body, stream or frame log (default 1 MiB);
	// what is cut is marked with `_truncated`.
	MaxBodyBytes bridge.ByteSize `yaml:"max_body_bytes"`
	// RedactFields are JSON keys and XML element or attribute local names
	// whose values are replaced by [REDACTED] in recordings, besides the
	// upstream's credentials and the secrets of its adapter block, which
	// always are.
	RedactFields []string `yaml:"redact_fields"`
	// RedactQuery are query parameters whose values are redacted, besides
	// the usual key and token names.
	RedactQuery []string `yaml:"redact_query"`
	// Match tunes how replay finds a recording.
	Match MatchConfig `yaml:"match"`
	// Mock tunes generated answers.
	Mock MockConfig `yaml:"mock"`
	// Chaos injects failures into replayed and mocked answers.
	Chaos *Chaos `yaml:"chaos"`
}

// MatchConfig tunes replay.
type MatchConfig struct {
	// Lenient answers with the closest recording of the same method and
	// path when none matches exactly; strict (default) refuses.
	Lenient bool `yaml:"lenient"`
	// IgnoreHeaders are request headers left out of the comparison, besides
	// credentials, tracing and transport headers, which always are.
	IgnoreHeaders []string `yaml:"ignore_headers"`
	// IgnoreFields are JSON keys and XML local names left out of the
	// comparison of bodies and frames (request ids, timestamps).
	IgnoreFields []string `yaml:"ignore_fields"`
	// RecordedSpeed replays stream events and WebSocket frames with the
	// recorded gaps between them; by default they come at once.
	RecordedSpeed bool `yaml:"recorded_speed"`
}

// MockConfig tunes mock answers.
type MockConfig struct {
	// Seed makes answers deterministic: the same seed and request give the
	// same reply (default 1).
	Seed int64 `yaml:"seed"`
	// Interval is the gap between the messages of a mocked stream (default 1s).
	Interval time.Duration `yaml:"interval"`
	// Messages is how many messages a mocked server stream sends before it
	// ends (default 10; WebSocket streams stay open until the caller ends them
	// when Messages is negative).
	Messages int `yaml:"messages"`
	// FaultRate is the share of SOAP calls answered with a fault from the
	// WSDL (a declared fault when there is one), 0..1.
	FaultRate float64 `yaml:"fault_rate"`
	// Items is how many entries a repeated field gets (default 2, at most
	// MaxItems), within the field's min_items/max_items; a reply holds at
	// most 10,000 messages and 100,000 entries beyond items.
	Items int `yaml:"items"`
	// WSDL is the WSDL a soap upstream's .proto was generated from; given,
	// mocked values also respect its XSD facets (enumerations, lengths,
	// patterns, ranges, digits), which a .proto does not carry. Relative to
	// the config file.
	WSDL string `yaml:"wsdl"`
	// OpenAPI is the OpenAPI 3 spec a rest upstream's .proto was generated
	// from (gen openapi); given, a route whose operation has a JSON reply
	// example that fits the reply type is answered with the example.
	// Relative to the config file.
	OpenAPI string `yaml:"openapi"`
}

// Defaults.
const (
	DefaultMaxEntries   = 100
	DefaultMaxBodyBytes = 1 << 20
	DefaultInterval     = time.Second
	DefaultMessages     = 10
	// MaxItems bounds sandbox.mock.items.
	MaxItems = 100
	// MaxEntries bounds sandbox.max_entries, and so one HAR file.
	MaxEntries = 10000
	// MaxBodyBytes bounds sandbox.max_body_bytes.
	MaxBodyBytes = 64 << 20
)

// Flags are the serve flags: a mode and directory for every upstream whose
// block sets no mode of its own.
type Flags struct {
	Mode Mode
	Dir  string
}

// withDefaults returns c with defaults applied and the serve flags merged in.
func (c *Config) withDefaults(f Flags) Config {
	var out Config
	if c != nil {
		out = *c
	}
	if out.Mode == Off {
		out.Mode = f.Mode
		if out.Dir == "" {
			out.Dir = f.Dir
		}
	}
	if out.MaxEntries <= 0 {
		out.MaxEntries = DefaultMaxEntries
	}
	if out.MaxBodyBytes <= 0 {
		out.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if out.Mock.Seed == 0 {
		out.Mock.Seed = 1
	}
	if out.Mock.Interval <= 0 {
		out.Mock.Interval = DefaultInterval
	}
	if out.Mock.Messages == 0 {
		out.Mock.Messages = DefaultMessages
	}
	if out.Mock.Items <= 0 {
		out.Mock.Items = 2
	}
	return out
}

// Check reports what is wrong with the block, for the config's problems.
func (c *Config) Check() error {
	if c == nil {
		return nil
	}
	switch c.Mode {
	case Off, Record, Replay, Mock:
	default:
		return fmt.Errorf("sandbox.mode must be record, replay or mock")
	}
	if (c.Mode == Record || c.Mode == Replay) && c.Dir == "" {
		return fmt.Errorf("sandbox.mode %s needs sandbox.dir", c.Mode)
	}
	if c.Mock.Items < 0 || c.Mock.Items > MaxItems {
		return fmt.Errorf("sandbox.mock.items must be between 0 and %d", MaxItems)
	}
	if c.Mock.FaultRate < 0 || c.Mock.FaultRate > 1 {
		return fmt.Errorf("sandbox.mock.fault_rate is a share between 0 and 1")
	}
	if c.MaxEntries < 0 || c.MaxEntries > MaxEntries {
		return fmt.Errorf("sandbox.max_entries must be between 1 and %d", MaxEntries)
	}
	if c.MaxBodyBytes < 0 || c.MaxBodyBytes > MaxBodyBytes {
		return fmt.Errorf("sandbox.max_body_bytes must be between 1 and %d bytes (64MiB)", MaxBodyBytes)
	}
	if c.Mock.Interval < 0 || c.Mock.Interval > maxLatency {
		return fmt.Errorf("sandbox.mock.interval must be between 0 and %s", maxLatency)
	}
	return c.Chaos.Check()
}
