package rest

import (
	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// Config is a rest upstream's own block (`rest:` under the upstream).
type Config struct {
	// JSONInt64 is how request bodies write 64-bit integers: "number"
	// (default; what OpenAPI int64 means) or "string" (protojson's form).
	// Replies are read in either form.
	JSONInt64 string `yaml:"json_int64"`
	// JSONNames is the spelling of JSON keys and query parameter names
	// sent: "as_written" (default: the field's json_name when the .proto
	// sets one, else the proto field name exactly) or "lower_camel"
	// (protojson's lowerCamelCase). Replies are read in any spelling.
	JSONNames string `yaml:"json_names"`
	// StreamEnd and StreamErrorEvent are the defaults of the upstream's
	// server-streaming routes' stream.end and stream.error_event.
	StreamEnd        *string `yaml:"stream_end"`
	StreamErrorEvent *string `yaml:"stream_error_event"`
}

// RouteConfig is a rest route's own block (`rest:` in a routes: entry).
type RouteConfig struct {
	// Stream tunes a server-streaming route (SSE/NDJSON), with
	// (protobridge.v1.route).stream's fields; set keys override the proto's.
	Stream *StreamConfig `yaml:"stream"`
	// Headers sends top-level scalar request fields as request headers
	// (field name → header name) instead of query parameters: OpenAPI's
	// header parameters. Configured headers still win.
	Headers map[string]string `yaml:"headers"`
}

// StreamConfig mirrors protobridge.v1.StreamRoute.
type StreamConfig struct {
	EventField     string          `yaml:"event_field"`
	IDField        string          `yaml:"id_field"`
	MaxReconnects  *uint32         `yaml:"max_reconnects"`
	InitialBackoff string          `yaml:"initial_backoff"`
	MaxBackoff     string          `yaml:"max_backoff"`
	MaxEventBytes  bridge.ByteSize `yaml:"max_event_bytes"`
	// End is the end-of-stream sentinel: an SSE event whose data, or an
	// NDJSON line, that is exactly this text (spaces around it aside) ends
	// the call with OK and is not relayed. Default "[DONE]" (OpenAI-style
	// streams); "" turns it off.
	End *string `yaml:"end"`
	// ErrorEvent is the SSE event type that carries an error: its data
	// ends the call with an error status (the HTTP status in the data's
	// "status" or "code", or "error"'s, mapped as a reply of that status;
	// else UNKNOWN, reason UPSTREAM_STREAM_ERROR), quoting the data.
	// Default "error"; "" turns it off.
	ErrorEvent *string `yaml:"error_event"`
}

// Defaults of the stream end sentinel and error event.
const (
	DefaultStreamEnd        = "[DONE]"
	DefaultStreamErrorEvent = "error"
)

func (c *StreamConfig) proto() *pbv1.StreamRoute {
	return &pbv1.StreamRoute{EventField: c.EventField, IdField: c.IDField, MaxReconnects: c.MaxReconnects,
		InitialBackoff: c.InitialBackoff, MaxBackoff: c.MaxBackoff, MaxEventBytes: uint64(c.MaxEventBytes),
		End: c.End, ErrorEvent: c.ErrorEvent}
}
