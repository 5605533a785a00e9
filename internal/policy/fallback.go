package policy

import (
	"context"
	"fmt"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/config"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// defaultFallbackOn are the failures that trigger a fallback.
var defaultFallbackOn = []string{"UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "UNKNOWN", "RESOURCE_EXHAUSTED"}

// staticResponse parses a fallback.static value as the output message.
func staticResponse(v any, out protoreflect.MessageDescriptor) (proto.Message, error) {
	b, err := config.StaticJSON(v)
	if err != nil {
		return nil, err
	}
	m := dynamicpb.NewMessage(out)
	if err := protojson.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("does not fit %s: %v", out.FullName(), err)
	}
	return m, nil
}

// fallbackMiddleware returns the route's fallback, nil when off. A static
// response that does not fit the output type is an error.
func (p *Set) fallbackMiddleware(rp *routePolicy) (bridge.Middleware, error) {
	c := rp.cfg.Fallback
	if c == nil || c.Off {
		return nil, nil
	}
	var static proto.Message
	if c.Static != nil {
		var err error
		if static, err = staticResponse(c.Static, rp.r.Method.Output()); err != nil {
			return nil, fmt.Errorf("policies fallback.static %v", err)
		}
	}
	on := c.On
	if len(on) == 0 {
		on = defaultFallbackOn
	}
	m := newMatcher(on)
	ttl := c.StaleTTL
	if ttl == 0 {
		ttl = config.DefaultStaleTTL
	}
	name, out := rp.r.Name(), rp.r.Method.Output()
	return func(next bridge.Handler) bridge.Handler {
		return func(ctx context.Context, call *bridge.Call) (proto.Message, error) {
			key := ""
			if c.Stale {
				key, _ = rp.requestKey("stale", call)
			}
			resp, err := next(ctx, call)
			if err == nil {
				if key != "" {
					if b, merr := proto.Marshal(resp); merr == nil {
						if serr := p.store.Set(ctx, key, b, ttl); serr != nil {
							p.pm.stateErrors.WithLabelValues("stale").Inc()
						}
					}
				}
				return resp, nil
			}
			if ctx.Err() != nil || !m.match(err) {
				return nil, err
			}
			if key != "" {
				b, ok, gerr := p.store.Get(ctx, key)
				if gerr != nil {
					p.pm.stateErrors.WithLabelValues("stale").Inc()
				}
				if ok {
					stale := dynamicpb.NewMessage(out)
					if proto.Unmarshal(b, stale) == nil {
						call.SetHeader(headerFallback, "stale")
						p.pm.fallbacks.WithLabelValues(name, "stale").Inc()
						return stale, nil
					}
				}
			}
			if static != nil {
				call.SetHeader(headerFallback, "static")
				p.pm.fallbacks.WithLabelValues(name, "static").Inc()
				return proto.Clone(static), nil
			}
			return nil, err
		}
	}, nil
}
