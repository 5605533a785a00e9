// Package mapping compiles and runs the CEL expressions of a route table:
// mappings between a caller's messages and an upstream's own message
// shapes, guards on requests and replies, and the requests and replies of
// composite routes' steps. Every expression is type-checked against the
// loaded descriptors when the config loads and compiled once; a problem
// is a bridge.Problem at the expression's file:line.
package mapping

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/spelling"
)

// Limits of one evaluation: CEL has no loops, but comprehensions over
// large lists and string building can still be costly.
const (
	// costLimit bounds an evaluation's cost in CEL's units (about one per
	// operation).
	costLimit = 1_000_000
	// interruptEvery is how many comprehension iterations pass between
	// checks of the caller's context.
	interruptEvery = 100
	// maxExprBytes bounds one expression's source.
	maxExprBytes = 16 << 10
)

// Env is the CEL environment of one route table: the standard library,
// the extensions listed in the README, optional values and every message
// type of the loaded descriptors.
type Env struct {
	base  *cel.Env
	files *protoregistry.Files
}

// NewEnv builds the environment for a table's descriptors.
func NewEnv(files *protoregistry.Files) (*Env, error) {
	e, err := cel.NewEnv(cel.TypeDescs(files), cel.OptionalTypes(),
		ext.Strings(), ext.Math(), ext.Lists(ext.ListsMaxRangeSize(10_000)), ext.Encoders())
	if err != nil {
		return nil, err
	}
	return &Env{base: e, files: files}, nil
}

// Message finds a message type by full name, or explains what is wrong.
func (e *Env) Message(name string) (protoreflect.MessageDescriptor, error) {
	d, err := e.files.FindDescriptorByName(protoreflect.FullName(strings.TrimPrefix(name, ".")))
	if err != nil {
		return nil, fmt.Errorf("message %q is not in the loaded descriptors", name)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("%q is not a message", name)
	}
	return md, nil
}

// Var is a variable an expression may read.
type Var struct {
	Name string
	Type *cel.Type
}

// MessageVar is a variable holding a message of md's type.
func MessageVar(name string, md protoreflect.MessageDescriptor) Var {
	return Var{Name: name, Type: cel.ObjectType(string(md.FullName()))}
}

// OptionalMessageVar is a variable holding an optional message of md's type.
func OptionalMessageVar(name string, md protoreflect.MessageDescriptor) Var {
	return Var{Name: name, Type: cel.OptionalType(cel.ObjectType(string(md.FullName())))}
}

// MetadataVar is the caller's metadata, each key's first value.
var MetadataVar = Var{Name: "metadata", Type: cel.MapType(cel.StringType, cel.StringType)}

// Scope is the environment with the variables one group of expressions reads.
type Scope struct {
	env  *Env
	cenv *cel.Env
	vars []Var
}

// Scope declares vars.
func (e *Env) Scope(vars ...Var) (*Scope, error) {
	opts := make([]cel.EnvOption, len(vars))
	for i, v := range vars {
		opts[i] = cel.Variable(v.Name, v.Type)
	}
	ce, err := e.base.Extend(opts...)
	if err != nil {
		return nil, err
	}
	return &Scope{env: e, cenv: ce, vars: vars}, nil
}

// Program is one compiled expression.
type Program struct {
	prg cel.Program
	// Refs are the variables the expression reads.
	Refs map[string]bool
	// what names the expression in errors of evaluation.
	what string
}

// segment maps lines of a generated source back to the config.
type segment struct {
	first, lines int // lines of the generated source (1-based)
	pos          bridge.Pos
	// keyPos is where the field's key is written: an error on the line
	// before first is about the field itself (its type).
	keyPos bridge.Pos
	what   string
}

// compile compiles src, whose lines segs map to the config; problems at
// the lines no segment covers are reported at pos.
func (s *Scope) compile(src string, segs []segment, pos bridge.Pos, what string, ps *bridge.Problems) *cel.Ast {
	if len(src) > maxExprBytes {
		ps.Add(pos, "split it, or move the work upstream", "%s is %d bytes, over the %d byte limit", what, len(src), maxExprBytes)
		return nil
	}
	ast, iss := s.cenv.Compile(src)
	if iss != nil && iss.Err() != nil {
		for _, e := range iss.Errors() {
			at, w := pos, what
			line := e.Location.Line()
			for _, sg := range segs {
				if line >= sg.first && line < sg.first+sg.lines {
					at = bridge.Pos{File: sg.pos.File, Line: sg.pos.Line + line - sg.first}
					w = sg.what
					break
				}
				if line == sg.first-1 && sg.keyPos.Line > 0 {
					at, w = sg.keyPos, sg.what
				}
			}
			ps.Add(at, s.hint(), "%s: %s", w, e.Message)
		}
		return nil
	}
	return ast
}

// hint lists the variables in scope.
func (s *Scope) hint() string {
	names := make([]string, len(s.vars))
	for i, v := range s.vars {
		names[i] = v.Name + " (" + v.Type.String() + ")"
	}
	return "variables here: " + strings.Join(names, ", ")
}

func (s *Scope) program(ast *cel.Ast, what string, pos bridge.Pos, ps *bridge.Problems) *Program {
	prg, err := s.cenv.Program(ast, cel.CostLimit(costLimit), cel.InterruptCheckFrequency(interruptEvery), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		ps.Add(pos, "", "%s: %v", what, err)
		return nil
	}
	refs := map[string]bool{}
	for _, r := range ast.NativeRep().ReferenceMap() {
		if len(r.OverloadIDs) == 0 && r.Name != "" {
			refs[r.Name] = true
		}
	}
	return &Program{prg: prg, Refs: refs, what: what}
}

// Typed compiles an expression of type want (cel.BoolType, cel.StringType).
func (s *Scope) Typed(e config.Expr, want *cel.Type, what string, ps *bridge.Problems) *Program {
	ast := s.compile(e.Text, []segment{{first: 1, lines: strings.Count(e.Text, "\n") + 1, pos: e.Pos, what: what}}, e.Pos, what, ps)
	if ast == nil {
		return nil
	}
	if got := ast.OutputType(); !got.IsExactType(want) && !got.IsExactType(cel.DynType) {
		ps.Add(e.Pos, "", "%s gives %s, want %s", what, got, want)
		return nil
	}
	return s.program(ast, what, e.Pos, ps)
}

// Message compiles a message expression giving a message of md's type:
// one expression, or a block of fields each set from its own.
func (s *Scope) Message(m *config.MessageExpr, md protoreflect.MessageDescriptor, what string, ps *bridge.Problems) *Program {
	if m.Whole != nil {
		e := *m.Whole
		ast := s.compile(e.Text, []segment{{first: 1, lines: strings.Count(e.Text, "\n") + 1, pos: e.Pos, what: what}}, e.Pos, what, ps)
		if ast == nil {
			return nil
		}
		if got := ast.OutputType(); got.String() != string(md.FullName()) && !got.IsExactType(cel.DynType) {
			ps.Add(e.Pos, fmt.Sprintf("build it as %s{field: ...}, or write a block of field: expression", md.FullName()), "%s gives %s, want %s", what, got, md.FullName())
			return nil
		}
		return s.program(ast, what, e.Pos, ps)
	}
	root := &node{md: md}
	n := len(*ps)
	for i := range m.Fields {
		root.add(&m.Fields[i], what, ps)
	}
	if len(*ps) > n {
		return nil
	}
	var b strings.Builder
	var segs []segment
	line := 1
	root.emit(&b, &segs, &line, what)
	ast := s.compile(b.String(), segs, m.Pos, what, ps)
	if ast == nil {
		return nil
	}
	return s.program(ast, what, m.Pos, ps)
}

// node is one message of a block of fields; nested paths make children.
type node struct {
	md       protoreflect.MessageDescriptor
	names    []string
	children map[string]*node
	leaves   map[string]*config.FieldExpr
	optional map[string]bool
}

func (n *node) add(f *config.FieldExpr, what string, ps *bridge.Problems) {
	path := strings.TrimPrefix(f.Path, "?")
	parts := strings.Split(path, ".")
	cur := n
	for i, p := range parts {
		fd := cur.md.Fields().ByName(protoreflect.Name(p))
		if fd == nil {
			hint := "fields of " + string(cur.md.FullName()) + ": " + fieldNames(cur.md)
			if s := closest(p, fieldList(cur.md)); s != "" {
				hint = "did you mean " + s + "?"
			}
			ps.Add(f.KeyPos, hint, "%s: %s has no field %q", what, cur.md.FullName(), p)
			return
		}
		if i == len(parts)-1 {
			if cur.leaves == nil {
				cur.leaves, cur.optional = map[string]*config.FieldExpr{}, map[string]bool{}
			}
			if cur.children[p] != nil || cur.leaves[p] != nil {
				ps.Add(f.KeyPos, "set the message whole or field by field, not both", "%s: field %s is set twice", what, path)
				return
			}
			cur.names = append(cur.names, p)
			cur.leaves[p] = f
			cur.optional[p] = strings.HasPrefix(f.Path, "?")
			return
		}
		if fd.Message() == nil || fd.IsList() || fd.IsMap() {
			ps.Add(f.KeyPos, "only singular message fields nest", "%s: %s.%s is not a message to set fields in", what, cur.md.FullName(), p)
			return
		}
		if cur.leaves[p] != nil {
			ps.Add(f.KeyPos, "set the message whole or field by field, not both", "%s: field %s is set twice", what, path)
			return
		}
		if cur.children == nil {
			cur.children = map[string]*node{}
		}
		next := cur.children[p]
		if next == nil {
			next = &node{md: fd.Message()}
			cur.children[p] = next
			cur.names = append(cur.names, p)
		}
		cur = next
	}
}

// emit writes the node as a CEL message literal, each field's expression
// on lines of its own so that errors map back to the config.
func (n *node) emit(b *strings.Builder, segs *[]segment, line *int, what string) {
	b.WriteString(string(n.md.FullName()))
	b.WriteString("{")
	for _, name := range n.names {
		if c := n.children[name]; c != nil {
			b.WriteString(name + ": ")
			c.emit(b, segs, line, what)
			b.WriteString(",")
			continue
		}
		f := n.leaves[name]
		if n.optional[name] {
			b.WriteString("?")
		}
		b.WriteString(name + ": (\n")
		*line++
		lines := strings.Count(f.Expr.Text, "\n") + 1
		*segs = append(*segs, segment{first: *line, lines: lines, pos: f.Expr.Pos, keyPos: f.KeyPos, what: what + " field " + f.Path})
		b.WriteString(f.Expr.Text)
		b.WriteString("\n),")
		*line += lines
	}
	b.WriteString("}")
}

func fieldList(md protoreflect.MessageDescriptor) []string {
	fs := md.Fields()
	out := make([]string, fs.Len())
	for i := range out {
		out[i] = string(fs.Get(i).Name())
	}
	sort.Strings(out)
	return out
}

// closest is the field name nearest to s when it is a likely misspelling.
func closest(s string, names []string) string {
	best, bestD := "", len(s)/3+1
	for _, c := range names {
		if d := spelling.Distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func fieldNames(md protoreflect.MessageDescriptor) string { return strings.Join(fieldList(md), ", ") }

// Vars are the values of one evaluation, by variable name.
type Vars map[string]any

// Eval runs the program; an error says which expression failed.
func (p *Program) Eval(ctx context.Context, vars Vars) (ref.Val, error) {
	v, _, err := p.prg.ContextEval(ctx, map[string]any(vars))
	if err != nil {
		// Neither the caller's deadline nor the cost limit is a fault of
		// the data the expression read.
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		var cancelled interpreter.EvalCancelledError
		if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
			return nil, bridge.Errorf(codes.ResourceExhausted, reason.MappingFailed, nil, "%s: the evaluation went over the cost limit of %d", p.what, costLimit)
		}
		return nil, fmt.Errorf("%s: %w", p.what, err)
	}
	return v, nil
}

// Bool runs a bool program.
func (p *Program) Bool(ctx context.Context, vars Vars) (bool, error) {
	v, err := p.Eval(ctx, vars)
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		return false, fmt.Errorf("%s gave %s, not a bool", p.what, v.Type().TypeName())
	}
	return bool(b), nil
}

// String runs a string program.
func (p *Program) String(ctx context.Context, vars Vars) (string, error) {
	v, err := p.Eval(ctx, vars)
	if err != nil {
		return "", err
	}
	s, ok := v.(types.String)
	if !ok {
		return "", fmt.Errorf("%s gave %s, not a string", p.what, v.Type().TypeName())
	}
	return string(s), nil
}

// Message runs a message program.
func (p *Program) Message(ctx context.Context, vars Vars) (proto.Message, error) {
	v, err := p.Eval(ctx, vars)
	if err != nil {
		return nil, err
	}
	m, ok := v.Value().(proto.Message)
	if !ok {
		return nil, fmt.Errorf("%s gave %s, not a message", p.what, v.Type().TypeName())
	}
	return m, nil
}
