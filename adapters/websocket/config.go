package websocket

import (
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// Config is a websocket upstream's own block (`websocket:` under the
// upstream).
type Config struct {
	// JSONNames is the spelling of keys in JSON frames sent: "as_written"
	// (default: the field's json_name when the .proto sets one, else the
	// proto field name exactly) or "lower_camel" (protojson's
	// lowerCamelCase). Frames received are read in any spelling.
	JSONNames string `yaml:"json_names"`
}

// RouteConfig is a websocket route's own block (`websocket:` in a routes:
// entry), with (protobridge.v1.route).websocket's fields; set keys
// override the proto's.
type RouteConfig struct {
	Path             string          `yaml:"path"`
	Subprotocols     []string        `yaml:"subprotocols"`
	CorrelationField string          `yaml:"correlation_field"`
	Buffer           uint32          `yaml:"buffer"`
	ReadLimit        bridge.ByteSize `yaml:"read_limit"`
	Keepalive        string          `yaml:"keepalive"`
	KeepaliveTimeout string          `yaml:"keepalive_timeout"`
	Reconnect        *struct {
		MaxAttempts    uint32 `yaml:"max_attempts"`
		InitialBackoff string `yaml:"initial_backoff"`
		MaxBackoff     string `yaml:"max_backoff"`
		ResumeCursor   string `yaml:"resume_cursor"`
		ResumeField    string `yaml:"resume_field"`
	} `yaml:"reconnect"`
	// End declares a stream's end by a frame (see EndConfig).
	End *EndConfig `yaml:"end"`
	// HalfClose is what the caller's half-close does: keep, close or send
	// (see HalfCloseKeep); HalfCloseFrame is the text frame send sends.
	HalfClose      string `yaml:"half_close"`
	HalfCloseFrame string `yaml:"half_close_frame"`
}

// proto converts the block to its proto form.
func (w *RouteConfig) proto() *pbv1.WebSocketRoute {
	out := &pbv1.WebSocketRoute{
		Path: w.Path, Subprotocols: w.Subprotocols, CorrelationField: w.CorrelationField, Buffer: w.Buffer,
		ReadLimit: uint64(w.ReadLimit), Keepalive: w.Keepalive, KeepaliveTimeout: w.KeepaliveTimeout,
	}
	if rc := w.Reconnect; rc != nil {
		out.Reconnect = &pbv1.WebSocketReconnect{MaxAttempts: rc.MaxAttempts, InitialBackoff: rc.InitialBackoff,
			MaxBackoff: rc.MaxBackoff, ResumeCursor: rc.ResumeCursor, ResumeField: rc.ResumeField}
	}
	out.HalfClose, out.HalfCloseFrame = w.HalfClose, w.HalfCloseFrame
	return out
}

// mergeInto merges the block over the proto's binding: set keys win, and
// an end: block replaces the proto's end as a whole.
func (w *RouteConfig) mergeInto(dst *pbv1.WebSocketRoute) {
	proto.Merge(dst, w.proto())
	if e := w.End; e != nil {
		dst.End = &pbv1.WebSocketEnd{Field: e.Field, Value: e.Value, Frame: e.Frame, Deliver: e.Deliver}
	}
}
