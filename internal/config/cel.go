package config

import (
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/protobridge/protobridge/bridge"
)

// Expr is one CEL expression written in the config, with where it is
// written so that a type error points at its line.
type Expr struct {
	// Text is the expression's source.
	Text string
	// Pos is the line the expression's text starts on.
	Pos bridge.Pos
}

// UnmarshalYAML reads a scalar; a block scalar (| or >) starts on the
// line after its indicator.
func (e *Expr) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return bridge.Problems{{Pos: bridge.Pos{Line: n.Line}, Msg: "a CEL expression must be text", Hint: `quote it: 'request.id'`}}.TypeError()
	}
	e.Text, e.Pos = n.Value, bridge.Pos{Line: n.Line}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		e.Pos.Line++
	}
	return nil
}

// FieldExpr sets one field of a message: Path is a field name, or dotted
// names into nested messages ("pet.category.name"); a leading "?" sets the
// field only when the expression's optional value is present.
type FieldExpr struct {
	Path string
	Expr Expr
	// KeyPos is where the field's key is written.
	KeyPos bridge.Pos
}

// MessageExpr builds a message: either one CEL expression giving the whole
// message, or a block of fields, each set from its own expression.
type MessageExpr struct {
	Whole  *Expr
	Fields []FieldExpr
	// Pos is where the block is written.
	Pos bridge.Pos
}

// UnmarshalYAML reads an expression or a block of field: expression.
func (m *MessageExpr) UnmarshalYAML(n *yaml.Node) error {
	m.Pos = bridge.Pos{Line: n.Line}
	if n.Kind == yaml.ScalarNode {
		m.Whole = &Expr{}
		return m.Whole.UnmarshalYAML(n)
	}
	if n.Kind != yaml.MappingNode {
		return bridge.Problems{{Pos: m.Pos, Msg: "a message is a CEL expression or a block of field: expression", Hint: "request: {name: request.pet_name}"}}.TypeError()
	}
	var ps bridge.Problems
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f := FieldExpr{Path: k.Value, KeyPos: bridge.Pos{Line: k.Line}}
		if !fieldPathRE.MatchString(f.Path) {
			ps.Add(f.KeyPos, "write a field name, or dotted names into nested messages (pet.category.name); a leading ? sets an optional value", "%q is not a field path", f.Path)
			continue
		}
		if seen[strings.TrimPrefix(f.Path, "?")] {
			ps.Add(f.KeyPos, "keep one", "field %s is set twice", f.Path)
		}
		seen[strings.TrimPrefix(f.Path, "?")] = true
		if err := f.Expr.UnmarshalYAML(v); err != nil {
			ps.Add(bridge.Pos{Line: v.Line}, `quote it: 'request.id'`, "field %s: a CEL expression must be text", f.Path)
			continue
		}
		m.Fields = append(m.Fields, f)
	}
	return ps.TypeError()
}

var fieldPathRE = regexp.MustCompile(`^\??[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$`)

// setFile fills in the file of every position (yaml decoding knows lines only).
func (m *MessageExpr) setFile(file string) {
	if m == nil {
		return
	}
	m.Pos.File = file
	if m.Whole != nil {
		m.Whole.Pos.File = file
	}
	for i := range m.Fields {
		m.Fields[i].KeyPos.File = file
		m.Fields[i].Expr.Pos.File = file
	}
}

// MapConfig maps a route's request onto the upstream's own message shape
// and the upstream's reply back onto the route's reply type, in CEL.
type MapConfig struct {
	// RequestType is the full name of the message the upstream takes (a
	// message written for the upstream, or made by gen wsdl or gen
	// openapi). Empty: the route's own input type.
	RequestType string `yaml:"request_type"`
	// ReplyType is the full name of the message the upstream answers
	// with. Empty: the route's own output type.
	ReplyType string `yaml:"reply_type"`
	// Request builds the upstream's request from `request` (the caller's).
	Request *MessageExpr `yaml:"request"`
	// Reply builds the caller's reply from `reply` (the upstream's) and
	// `request` (the caller's).
	Reply *MessageExpr `yaml:"reply"`
	// Headers are request headers sent to the upstream, each a CEL string
	// expression; an empty value sends none.
	Headers map[string]Expr `yaml:"headers"`
	// Query are query parameters added to the upstream's URL, each a CEL
	// string expression; an empty value adds none.
	Query map[string]Expr `yaml:"query"`
	// Pos is where map: is written.
	Pos bridge.Pos `yaml:"-"`
}

// GuardConfig is one condition on a route's request or reply: when Fail
// holds, the call fails with Code and Message.
type GuardConfig struct {
	// Fail is a CEL bool expression; true fails the call.
	Fail Expr `yaml:"fail"`
	// Code is the gRPC code name of the failure (INVALID_ARGUMENT for a
	// request guard, UNKNOWN for a reply guard when empty).
	Code string `yaml:"code"`
	// Message is a CEL string expression for the status message (a fixed
	// wording naming the guard when empty).
	Message *Expr `yaml:"message"`
	// Name names the guard in the error's metadata (its index when empty).
	Name string `yaml:"name"`
}

// GuardsConfig are a route's request and reply guards.
type GuardsConfig struct {
	// Request guards see `request`; they run before the upstream is called.
	Request []*GuardConfig `yaml:"request"`
	// Reply guards see `request` and `reply` (the upstream's reply, before
	// any map.reply).
	Reply []*GuardConfig `yaml:"reply"`
}

// StepConfig is one step of a composite route: a call of another route.
type StepConfig struct {
	// Name names the step; later expressions read its reply by this name.
	Name string `yaml:"name"`
	// Call is the route the step calls, "package.Service/Method".
	Call string `yaml:"call"`
	// Request builds the step's request from `request` and the replies of
	// the steps it names.
	Request *MessageExpr `yaml:"request"`
	// When skips the step unless it holds (a CEL bool expression). A step
	// with a condition is read as an optional value.
	When *Expr `yaml:"when"`
	// Optional lets the step fail: its result is then absent (an optional
	// value in later expressions) and the call goes on.
	Optional bool `yaml:"optional"`
	// Timeout bounds the step (the route's own timeout still applies).
	Timeout time.Duration `yaml:"timeout"`
	// Pos is where the step is written.
	Pos bridge.Pos `yaml:"-"`
}

// UnmarshalYAML records the step's line.
func (s *StepConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain StepConfig
	if err := n.Decode((*plain)(s)); err != nil {
		return err
	}
	s.Pos = bridge.Pos{Line: n.Line}
	return nil
}

// UnmarshalYAML records where map: is written.
func (m *MapConfig) UnmarshalYAML(n *yaml.Node) error {
	type plain MapConfig
	if err := n.Decode((*plain)(m)); err != nil {
		return err
	}
	m.Pos = bridge.Pos{Line: n.Line}
	return nil
}

var stepNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// checkCEL fills in the file of every expression position of the route
// and checks what needs no descriptors.
func (r *RouteConfig) checkCEL(file string, ps *bridge.Problems) {
	set := func(e *Expr) {
		if e != nil {
			e.Pos.File = file
		}
	}
	if m := r.Map; m != nil {
		m.Pos.File = file
		m.Request.setFile(file)
		m.Reply.setFile(file)
		for k, e := range m.Headers {
			e.Pos.File = file
			m.Headers[k] = e
		}
		for k, e := range m.Query {
			e.Pos.File = file
			m.Query[k] = e
		}
	}
	if g := r.Guards; g != nil {
		for _, list := range [][]*GuardConfig{g.Request, g.Reply} {
			for i, gc := range list {
				if gc == nil {
					ps.Add(r.Pos, "give it at least fail:", "guard %d is empty", i)
					continue
				}
				set(&gc.Fail)
				set(gc.Message)
				if gc.Code != "" {
					if _, ok := bridge.CodeByName(gc.Code); !ok {
						ps.Add(gc.Fail.Pos, "use a gRPC code name such as FAILED_PRECONDITION", "guard code %q is not known", gc.Code)
					}
				}
			}
		}
	}
	r.Reply.setFile(file)
	if len(r.Steps) == 0 {
		if r.Reply != nil {
			ps.Add(r.Reply.Pos, "reply: assembles a composite route's reply from its steps: add steps:, or use map: {reply: ...}", "reply: without steps:")
		}
		return
	}
	if r.Upstream != "" || r.Map != nil || r.HTTP != nil || len(r.Adapter) > 0 {
		ps.Add(r.Pos, "a composite route calls other routes: drop upstream, map, http and adapter blocks", "route %q has steps: and an upstream binding", r.Method)
	}
	if r.Reply == nil {
		ps.Add(r.Pos, "add reply: building the route's reply from the steps' results", "composite route %q has no reply:", r.Method)
	}
	names := map[string]bool{}
	for i, s := range r.Steps {
		if s == nil {
			ps.Add(r.Pos, "give it name, call and request", "steps[%d] is empty", i)
			continue
		}
		s.Pos.File = file
		set(s.When)
		s.Request.setFile(file)
		switch {
		case !stepNameRE.MatchString(s.Name):
			ps.Add(s.Pos, "use lower-case letters, digits and _ (it is a CEL variable)", "step name %q is not a CEL identifier", s.Name)
		case reservedStepNames[s.Name]:
			ps.Add(s.Pos, "choose another name", "step name %q is taken by CEL or protobridge", s.Name)
		case names[s.Name]:
			ps.Add(s.Pos, "give every step its own name", "step %q is declared twice", s.Name)
		}
		names[s.Name] = true
		if !methodNameRE.MatchString(s.Call) {
			ps.Add(s.Pos, `write it as "package.Service/Method"`, "step %q call %q is not a full method name", s.Name, s.Call)
		}
		if s.Timeout < 0 {
			ps.Add(s.Pos, "use a positive duration", "step %q timeout is negative", s.Name)
		}
	}
}

// reservedStepNames cannot name a step: CEL's reserved words and the
// variables every expression has.
var reservedStepNames = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`request reply metadata true false null in as break const continue else for function if import let loop package namespace return var void while int uint double bool string bytes list map type null_type dyn optional_type has`) {
		reservedStepNames[w] = true
	}
}
