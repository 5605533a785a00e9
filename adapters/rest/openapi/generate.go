package openapi

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/protobridge/protobridge/adapters/internal/genproto"

	"github.com/pb33f/libopenapi/datamodel/high/base"
	"github.com/pb33f/libopenapi/orderedmap"
)

// Options tune Generate.
type Options struct {
	// Package is the proto package (such as "petstore.v1").
	Package string
	// Upstream names the upstream in (protobridge.v1.service).upstream.
	Upstream string
	// Source names the spec in the file's header comment.
	Source string
	// Lock is the previous generation's lock file; nil for a first run.
	Lock *Lock
	// OneService puts every operation in one service named after the spec
	// instead of one service per (first) tag.
	OneService bool
}

// File is a generated .proto with its lock file.
type File struct {
	// Name is the file name (NAME.proto).
	Name    string
	Content []byte
	Lock    *Lock
	// Warnings are what the generator left out or approximated.
	Warnings []string
	// Upstream is the upstream name the services carry.
	Upstream string
	// Routes lists the rpcs whose header parameters need a routes: entry
	// (rest.headers) in the config; see ConfigStub.
	Routes []RouteStub
}

// RouteStub is a routes: entry the config needs for an rpc: the request
// fields sent as headers.
type RouteStub struct {
	Method  string            // "pkg.Service/Rpc"
	Headers map[string]string // request field → header name
}

// typeRef is the proto type of a schema.
type typeRef struct {
	name     string // scalar keyword or message name (as referenced)
	repeated bool
	mapValue string // non-empty: map<string, mapValue>
	scalar   bool
	// format and enum describe scalars for comments.
	format string
	enum   []string
	msg    *message
	// en is the proto enum of a string enum (name is its path).
	en *enumDef
}

// enumDef is a proto enum generated from a string schema's enum: a
// *_UNSPECIFIED zero value, then one value per literal, each carrying the
// literal as (protobridge.v1.json_value).
type enumDef struct {
	name     string
	path     string // "Outer.Name"
	comment  string
	literals []string
	values   []string // value names, in the literals' order
	zero     string
	// nums and reserved are the values' numbers and the retired ones,
	// from the lock (set by render).
	nums, reserved []int
}

// message is a message being generated.
type message struct {
	name    string
	path    string // "Outer.Inner"
	parent  *message
	comment string
	fields  []*field
	nested  []*message
	enums   []*enumDef
	scope   *genproto.Scope
	// types holds the nested messages' names (fields and nested types may
	// share a name up to case: circle and Circle).
	types   *genproto.Scope
	xmlRoot string
	xmlNS   string
	oneof   string // name of the single oneof all fields belong to, if any
}

// field is one field of a message.
type field struct {
	name, json string
	t          typeRef
	optional   bool
	comment    string
	deprecated bool
	xml        []string // (protobridge.v1.xml) entries: `name: "x"`
	num        int
}

type gen struct {
	spec  *Spec
	opts  Options
	top   *genproto.Scope
	msgs  []*message
	enums []*enumDef
	named map[string]*typeRef
	// building guards alias schemas referring to themselves.
	building map[string]bool
	// byNode finds named schemas by their YAML node; inline holds the
	// inline schemas being generated (recursion through resolved refs).
	byNode  map[*yamlNode]*NamedSchema
	inline  map[*yamlNode]bool
	lock    *Lock
	newLock *Lock
	imports map[string]bool
	warn    []string
	errs    []error
	xml     bool
}

// Generate turns a loaded spec into one .proto file.
func Generate(s *Spec, o Options) (*File, error) {
	if o.Package == "" {
		o.Package = DefaultPackage(s.Title)
	}
	if o.Upstream == "" {
		o.Upstream = DefaultUpstream(s.Title)
	}
	g := &gen{spec: s, opts: o, top: genproto.NewScope(), named: map[string]*typeRef{}, building: map[string]bool{},
		lock: o.Lock, newLock: &Lock{Version: LockVersion, Names: map[string]string{}, Messages: map[string]*LockEntry{}, Enums: map[string]*LockEntry{}},
		imports: map[string]bool{}, byNode: map[*yamlNode]*NamedSchema{}, inline: map[*yamlNode]bool{}}
	for _, ns := range s.Schemas {
		if n := ns.Proxy.GetValueNode(); n != nil {
			g.byNode[n] = ns
		}
	}
	if g.lock == nil {
		g.lock = &Lock{}
	}
	for _, op := range s.Operations {
		for _, c := range []*Content{op.Body, op.Reply} {
			if c != nil && c.Kind == MediaXML {
				g.xml = true
			}
		}
	}
	services, err := g.operations()
	if err != nil {
		return nil, err
	}
	if len(g.errs) > 0 {
		return nil, joinErrors(g.errs)
	}
	f := &File{Name: BaseName(s) + ".proto", Lock: g.newLock, Warnings: g.warn, Upstream: o.Upstream}
	for _, svc := range services {
		for _, r := range svc.rpcs {
			if len(r.headers) > 0 {
				f.Routes = append(f.Routes, RouteStub{Method: o.Package + "." + svc.name + "/" + r.name, Headers: r.headers})
			}
		}
	}
	f.Content = g.render(services)
	return f, nil
}

type joinedErrors []error

func (j joinedErrors) Error() string {
	var b strings.Builder
	for i, e := range j {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return joinedErrors(errs)
}

// BaseName is the generated file's name without extension: the spec's
// title in lower_snake_case ("Swagger Petstore" → swagger_petstore).
func BaseName(s *Spec) string {
	n := genproto.LowerSnake(genproto.ASCIIWords(s.Title))
	if n == "" || n[0] >= '0' && n[0] <= '9' {
		n = "api" + strings.TrimPrefix("_"+n, "_")
		if n == "api_" {
			n = "api"
		}
	}
	return n
}

// DefaultPackage is the package for a name: lower-case words joined, ".v1".
func DefaultPackage(name string) string {
	n := strings.ReplaceAll(genproto.LowerSnake(genproto.ASCIIWords(name)), "_", "")
	if n == "" || n[0] >= '0' && n[0] <= '9' {
		n = "api" + n
	}
	return n + ".v1"
}

// DefaultUpstream is the upstream name for a spec title.
func DefaultUpstream(title string) string {
	n := genproto.LowerSnake(genproto.ASCIIWords(title))
	if n == "" {
		return "api"
	}
	return n
}

// service is a generated service.
type service struct {
	name, comment string
	rpcs          []*rpc
}

type rpc struct {
	name, comment      string
	req, resp          *message
	method, path, body string
	responseBody       string
	stream             bool
	deprecated         bool
	xml                bool
	headers            map[string]string
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true}

func (g *gen) operations() ([]*service, error) {
	rpcScope := genproto.NewScope()
	byName := map[string]*service{}
	var services []*service
	tagDesc := map[string]string{}
	for _, t := range g.spec.Tags {
		tagDesc[t.Name] = t.Description
	}
	defaultSvc := genproto.TypeName(g.spec.Title)
	if defaultSvc == "X" {
		defaultSvc = "Api"
	}
	type planned struct {
		op  *Operation
		svc *service
		r   *rpc
	}
	var plan []planned
	// Names first: rpc, request and response names are fixed by buf's
	// RPC_REQUEST_STANDARD_NAME; schemas yield to them.
	for _, op := range g.spec.Operations {
		key := "service " + defaultSvc
		svcName, comment := defaultSvc, g.spec.Description
		if !g.opts.OneService && len(op.Tags) > 0 {
			key = "service " + op.Tags[0]
			svcName, comment = genproto.TypeName(op.Tags[0]), tagDesc[op.Tags[0]]
		}
		svc := byName[key]
		if svc == nil {
			name := g.lockedName(key, func() string { return g.top.Unique(strings.TrimSuffix(svcName, "Service")+"Service", "", "") })
			g.top.Reserve(name)
			svc = &service{name: name, comment: comment}
			byName[key] = svc
			services = append(services, svc)
		}
		base := op.ID
		if base == "" {
			base = op.Method + " " + op.Path
		}
		opKey := "op " + strings.ToUpper(op.Method) + " " + op.Path
		name := g.lockedName(opKey, func() string {
			n := genproto.TypeName(base)
			for rpcScope.Has(n) || g.top.Has(n+"Request") || g.top.Has(n+"Response") {
				n = rpcScope.Unique(n, "", "")
			}
			return n
		})
		rpcScope.Reserve(name)
		g.top.Reserve(name + "Request")
		g.top.Reserve(name + "Response")
		plan = append(plan, planned{op, svc, &rpc{name: name}})
	}
	for _, p := range plan {
		if err := g.operation(p.op, p.r); err != nil {
			g.errs = append(g.errs, err)
			continue
		}
		p.svc.rpcs = append(p.svc.rpcs, p.r)
	}
	return services, nil
}

// lockedName returns the name the lock gave key, else make()'s, and
// records it.
func (g *gen) lockedName(key string, make func() string) string {
	n, ok := g.lock.Names[key]
	if !ok {
		n = make()
	}
	g.newLock.Names[key] = n
	return n
}

var pathVar = regexp.MustCompile(`\{([^{}]+)\}`)

func (g *gen) operation(op *Operation, r *rpc) error {
	r.method, r.deprecated = op.Method, op.Deprecated
	var c []string
	if op.Summary != "" {
		c = append(c, op.Summary)
	}
	if op.Description != "" && op.Description != op.Summary {
		c = append(c, op.Description)
	}
	c = append(c, strings.ToUpper(op.Method)+" "+op.Path)
	if len(op.Errors) > 0 {
		c = append(c, "Errors:\n"+strings.Join(op.Errors, "\n"))
	}
	r.comment = strings.Join(c, "\n\n")
	req := &message{name: r.name + "Request", path: r.name + "Request", scope: genproto.NewScope(),
		comment: "Request of " + r.name + "."}
	resp := &message{name: r.name + "Response", path: r.name + "Response", scope: genproto.NewScope(),
		comment: "Response of " + r.name + "."}
	g.msgs = append(g.msgs, req, resp)
	r.req, r.resp = req, resp
	// Path: every {var} becomes a field; its template names the field.
	byName := map[string]*Param{}
	for _, p := range op.Params {
		byName[p.In+" "+p.Name] = p
	}
	pathFields := map[string]string{}
	for _, m := range pathVar.FindAllStringSubmatch(op.Path, -1) {
		p := byName["path "+m[1]]
		if p == nil {
			p = &Param{Name: m[1], In: "path", Required: true, Schema: base.CreateSchemaProxy(&base.Schema{Type: []string{"string"}})}
		}
		f := g.paramField(req, p, op)
		if f.t.repeated || !f.t.scalar {
			f.t = typeRef{name: "string", scalar: true}
		}
		f.optional = false
		pathFields[m[1]] = f.name
	}
	tmpl := pathVar.ReplaceAllStringFunc(g.urlPath(op), func(v string) string {
		return "{" + pathFields[v[1:len(v)-1]] + "}"
	})
	r.path = tmpl
	for _, p := range op.Params {
		switch p.In {
		case "query":
			f := g.paramField(req, p, op)
			if f.t.mapValue != "" || (f.t.repeated && !f.t.scalar) {
				// No query-string form: a JSON text the caller writes.
				g.warnf("%s: query parameter %q is an object list or map; sent as a JSON string", op.Pointer, p.Name)
				f.t = typeRef{name: "string", scalar: true}
			}
		case "header":
			if skipHeader(p.Name) {
				continue
			}
			f := g.paramField(req, p, op)
			if !f.t.scalar || f.t.repeated {
				f.t = typeRef{name: "string", scalar: true}
			}
			if r.headers == nil {
				r.headers = map[string]string{}
			}
			r.headers[f.name] = p.Name
		case "cookie":
			g.warnf("%s: cookie parameter %q is left out (REST routes send no cookies)", op.Pointer, p.Name)
		}
	}
	if b := op.Body; b != nil && !httpMethods[op.Method] && op.Method != "get" {
		_ = b
	}
	if b := op.Body; b != nil {
		if op.Method == "get" || op.Method == "head" {
			g.warnf("%s: the request body of a %s is left out", op.Pointer, strings.ToUpper(op.Method))
		} else {
			name := req.scope.Unique("body", "", "_")
			f := &field{name: name}
			switch b.Kind {
			case MediaJSON, MediaXML:
				t, err := g.typeOf(b.Schema, r.name+"Body", req, op.Pointer+"/requestBody")
				if err != nil {
					return err
				}
				f.t = t
				r.xml = b.Kind == MediaXML
			default:
				f.t = typeRef{name: "google.api.HttpBody"}
				f.comment = "The body as " + b.MediaType + ", sent as it is."
				g.imports["google/api/httpbody.proto"] = true
			}
			if op.BodyDescription != "" {
				f.comment = strings.TrimSpace(op.BodyDescription + "\n" + f.comment)
			}
			if f.t.scalar && !f.t.repeated {
				f.optional = true
			}
			req.fields = append(req.fields, f)
			r.body = name
		}
	}
	if rp := op.Reply; rp != nil {
		f := &field{}
		switch rp.Kind {
		case MediaJSON, MediaXML, MediaSSE, MediaNDJSON:
			t, err := g.typeOf(rp.Schema, r.name+"Reply", resp, op.Pointer+"/responses/"+op.ReplyCode)
			if err != nil {
				return err
			}
			f.t = t
			r.stream = rp.Kind == MediaSSE || rp.Kind == MediaNDJSON
			if rp.Kind == MediaXML {
				r.xml = true
			}
			if r.stream && (t.repeated || t.mapValue != "") {
				f.t = typeRef{name: "google.protobuf.Value"}
				g.imports["google/protobuf/struct.proto"] = true
			}
			if r.stream && rp.Schema == nil {
				f.t = typeRef{name: "string", scalar: true}
			}
		default:
			f.t = typeRef{name: "google.api.HttpBody"}
			f.comment = "The reply as " + rp.MediaType + ", as it is."
			g.imports["google/api/httpbody.proto"] = true
		}
		switch {
		case f.t.mapValue != "":
			f.name = "values"
		case f.t.msg != nil && !f.t.repeated:
			f.name = genproto.LowerSnake(f.t.msg.name)
		case f.t.repeated:
			f.name = "items"
		case f.t.name == "google.api.HttpBody":
			f.name = "body"
		default:
			f.name = "value"
		}
		f.name = genproto.FieldName(f.name)
		f.name = resp.scope.Unique(f.name, "", "_")
		if f.t.scalar && !f.t.repeated {
			f.optional = true
		}
		resp.fields = append(resp.fields, f)
		r.responseBody = f.name
		if r.xml && f.t.msg != nil && f.t.msg.xmlRoot == "" {
			f.t.msg.xmlRoot = "" // the element name comes from the schema's xml object when it has one
		}
	}
	return nil
}

// urlPath is an operation's path as google.api.http takes it: a "#..."
// or "?..." suffix some specs use to tell operations on one path apart
// (AWS's "/#X-Amz-Target=..." and "/{Bucket}?acl") is left out, with a
// warning: the bridge cannot send it.
func (g *gen) urlPath(op *Operation) string {
	p := op.Path
	if i := strings.IndexAny(p, "#?"); i >= 0 {
		g.warnf("%s: %q is left out of the path; the upstream may need it (a fixed query or header)", op.Pointer, p[i:])
		p = p[:i]
		if p == "" {
			p = "/"
		}
	}
	return p
}

// skipHeader lists headers the bridge or the credentials own.
func skipHeader(name string) bool {
	switch strings.ToLower(name) {
	case "authorization", "content-type", "accept", "content-length", "host", "user-agent", "cookie":
		return true
	}
	return false
}

func (g *gen) warnf(format string, args ...any) {
	g.warn = append(g.warn, fmt.Sprintf(format, args...))
}

// paramField adds a parameter's field to the request message.
func (g *gen) paramField(req *message, p *Param, op *Operation) *field {
	t, err := g.typeOf(p.Schema, p.Name, req, op.Pointer+"/parameters/"+escapePointer(p.Name))
	if err != nil {
		g.errs = append(g.errs, err)
		t = typeRef{name: "string", scalar: true}
	}
	name := req.scope.Unique(genproto.FieldName(p.Name), "", "_")
	f := &field{name: name, json: p.Name, t: t, deprecated: p.Deprecated}
	what := map[string]string{"path": "Path parameter", "query": "Query parameter", "header": "Header"}[p.In]
	c := []string{}
	if p.Description != "" {
		c = append(c, p.Description)
	}
	note := fmt.Sprintf("%s %q", what, p.Name)
	if p.Required {
		note += ", required"
	}
	c = append(c, note+"."+typeNote(t))
	f.comment = strings.Join(c, "\n")
	f.optional = t.scalar && !t.repeated
	req.fields = append(req.fields, f)
	return f
}

func typeNote(t typeRef) string {
	var s string
	if t.format != "" {
		s += " Format: " + t.format + "."
	}
	if len(t.enum) > 0 {
		s += " One of: " + strings.Join(t.enum, ", ") + "."
	}
	return s
}

var (
	valueType     = typeRef{name: "google.protobuf.Value"}
	structType    = typeRef{name: "google.protobuf.Struct"}
	listValueType = typeRef{name: "google.protobuf.ListValue"}
)

func (g *gen) wkt(t typeRef) typeRef {
	g.imports["google/protobuf/struct.proto"] = true
	return t
}

// schemaError words an unresolved schema with its position.
func (g *gen) schemaError(sp *base.SchemaProxy, pointer string) error {
	e := &Error{File: g.spec.Path, Pointer: pointer}
	if sp != nil {
		if n := sp.GetValueNode(); n != nil && sp.GetReference() == "" {
			e.Line = n.Line
		}
		if ref := sp.GetReference(); ref != "" {
			e.Msg = fmt.Sprintf("$ref %q does not resolve", ref)
			if n := sp.GetReferenceNode(); n != nil {
				e.Line = n.Line
			}
		}
		if err := sp.GetBuildError(); err != nil {
			if e.Msg != "" {
				e.Msg += ": "
			}
			e.Msg += err.Error()
		}
	}
	if e.Msg == "" {
		e.Msg = "the schema cannot be read"
	}
	return e
}

// typeOf maps a schema to a proto type; inline objects become messages
// nested in owner (or top-level when owner is nil) named after hint.
func (g *gen) typeOf(sp *base.SchemaProxy, hint string, owner *message, pointer string) (typeRef, error) {
	if sp == nil {
		return g.wkt(valueType), nil
	}
	if sp.IsReference() {
		ref := sp.GetReference()
		if ns := g.spec.Lookup(ref); ns != nil {
			return g.namedType(ns)
		}
		// A schema in another file: generated once, named after its
		// last path element.
		if t, ok := g.named[ref]; ok {
			return *t, nil
		}
		s := sp.Schema()
		if s == nil {
			return typeRef{}, g.schemaError(sp, pointer)
		}
		last := ref[strings.LastIndexAny(ref, "/#")+1:]
		ns := &NamedSchema{Name: strings.TrimSuffix(path.Base(last), path.Ext(last)), Ref: ref, Proxy: base.CreateSchemaProxy(s)}
		g.spec.refs[ref] = ns
		return g.namedType(ns)
	}
	// A named schema reached through a resolved (inlined) reference.
	if n := sp.GetValueNode(); n != nil {
		if ns, ok := g.byNode[n]; ok {
			return g.namedType(ns)
		}
		if g.inline[n] {
			g.warnf("%s: a schema that contains itself is mapped to google.protobuf.Value there", pointer)
			return g.wkt(valueType), nil
		}
		g.inline[n] = true
		defer delete(g.inline, n)
	}
	s := sp.Schema()
	if s == nil {
		return typeRef{}, g.schemaError(sp, pointer)
	}
	return g.schemaType(s, hint, owner, pointer)
}

// namedType is the type of a named schema: a top-level message for objects,
// else the type it stands for.
func (g *gen) namedType(ns *NamedSchema) (typeRef, error) {
	if t, ok := g.named[ns.Ref]; ok {
		return *t, nil
	}
	s := ns.Proxy.Schema()
	if s == nil {
		return typeRef{}, g.schemaError(ns.Proxy, ns.Ref)
	}
	if g.building[ns.Ref] {
		// An alias that refers to itself (A: array of A).
		return g.wkt(valueType), nil
	}
	if isObject(s) || needsMessage(g, s) {
		name := g.lockedName(ns.Ref, func() string { return g.top.Unique(genproto.TypeName(ns.Name), "", "") })
		g.top.Reserve(name)
		m := &message{name: name, path: name, scope: genproto.NewScope()}
		t := typeRef{name: name, msg: m}
		g.named[ns.Ref] = &t
		g.msgs = append(g.msgs, m)
		if s.XML != nil && s.XML.Name != "" && s.XML.Name != "##default" {
			m.xmlRoot, m.xmlNS = s.XML.Name, s.XML.Namespace
		} else if g.xml {
			m.xmlRoot = ns.Name
		}
		if err := g.fillMessage(m, s, ns.Ref); err != nil {
			return typeRef{}, err
		}
		return t, nil
	}
	g.building[ns.Ref] = true
	t, err := g.schemaType(s, ns.Name, nil, ns.Ref)
	delete(g.building, ns.Ref)
	if err != nil {
		return typeRef{}, err
	}
	g.named[ns.Ref] = &t
	return t, nil
}

// types is the schema's types without "null", and whether null is allowed.
func types(s *base.Schema) ([]string, bool) {
	var out []string
	null := s.Nullable != nil && *s.Nullable
	for _, t := range s.Type {
		if t == "null" {
			null = true
			continue
		}
		out = append(out, t)
	}
	return out, null
}

// isObject reports a schema that is an object with properties (or an allOf
// of such).
func isObject(s *base.Schema) bool {
	ts, _ := types(s)
	if s.Properties != nil && s.Properties.Len() > 0 && (len(ts) == 0 || ts[0] == "object") {
		return true
	}
	if len(s.AllOf) > 1 || (len(s.AllOf) == 1 && s.Properties != nil && s.Properties.Len() > 0) {
		return true
	}
	return false
}

// needsMessage reports a oneOf/anyOf that maps to a message with a oneof.
func needsMessage(g *gen, s *base.Schema) bool {
	_, ok := g.unionBranches(s)
	return ok
}

// unionBranches returns the branches of a oneOf/anyOf when each is an
// object with exactly one property, the names distinct: a proto oneof
// writes exactly that JSON.
func (g *gen) unionBranches(s *base.Schema) ([]*base.Schema, bool) {
	branches := s.OneOf
	if len(branches) == 0 {
		branches = s.AnyOf
	}
	if len(branches) < 2 || (s.Properties != nil && s.Properties.Len() > 0) {
		return nil, false
	}
	seen := map[string]bool{}
	var out []*base.Schema
	for _, b := range branches {
		bs := b.Schema()
		if bs == nil || bs.Properties == nil || bs.Properties.Len() != 1 || len(bs.AllOf) > 0 {
			return nil, false
		}
		k := bs.Properties.First().Key()
		if seen[k] {
			return nil, false
		}
		seen[k] = true
		if ps := bs.Properties.First().Value().Schema(); ps != nil {
			if pts, _ := types(ps); len(pts) == 1 && pts[0] == "array" {
				return nil, false
			}
			if ps.AdditionalProperties != nil && (ps.Properties == nil || ps.Properties.Len() == 0) {
				return nil, false
			}
		}
		out = append(out, bs)
	}
	return out, true
}

func (g *gen) schemaType(s *base.Schema, hint string, owner *message, pointer string) (typeRef, error) {
	ts, _ := types(s)
	if isObject(s) || needsMessage(g, s) {
		return g.inlineMessage(s, hint, owner, pointer)
	}
	if len(s.AllOf) == 1 {
		return g.typeOf(s.AllOf[0], hint, owner, pointer+"/allOf/0")
	}
	if branches := append(slices.Clone(s.OneOf), s.AnyOf...); len(branches) > 0 {
		var live []*base.SchemaProxy
		for _, b := range branches {
			if bs := b.Schema(); bs != nil {
				if bts, _ := types(bs); len(bts) == 0 && len(bs.Type) > 0 {
					continue // {type: null}
				}
			}
			live = append(live, b)
		}
		if len(live) == 1 {
			return g.typeOf(live[0], hint, owner, pointer+"/oneOf/0")
		}
		return g.wkt(valueType), nil
	}
	if len(ts) > 1 {
		return g.wkt(valueType), nil
	}
	typ := ""
	if len(ts) == 1 {
		typ = ts[0]
	}
	if typ == "" && s.Items != nil {
		typ = "array"
	}
	if typ == "" && s.AdditionalProperties != nil {
		typ = "object"
	}
	switch typ {
	case "array":
		if s.Items == nil || !s.Items.IsA() || s.Items.A == nil {
			return typeRef{name: listValueType.name, repeated: false, msg: nil}.asWKT(g), nil
		}
		item, err := g.typeOf(s.Items.A, hint+"Item", owner, pointer+"/items")
		if err != nil {
			return typeRef{}, err
		}
		switch {
		case item.repeated:
			item = g.wkt(listValueType)
		case item.mapValue != "":
			item = g.wkt(structType)
		}
		item.repeated = true
		return item, nil
	case "object":
		ap := s.AdditionalProperties
		if ap != nil && ap.IsA() && ap.A != nil {
			v, err := g.typeOf(ap.A, hint+"Value", owner, pointer+"/additionalProperties")
			if err != nil {
				return typeRef{}, err
			}
			switch {
			case v.repeated:
				v = g.wkt(listValueType)
			case v.mapValue != "":
				v = g.wkt(structType)
			}
			return typeRef{mapValue: v.name, msg: v.msg, en: v.en}, nil
		}
		return g.wkt(structType), nil
	case "string":
		t := typeRef{name: "string", scalar: true, format: s.Format}
		switch s.Format {
		case "byte", "binary":
			t.name = "bytes"
		}
		t.enum = enumLiterals(s)
		if len(t.enum) > 0 && t.name == "string" {
			t.en = g.enumType(t.enum, hint, owner, pointer, s.Description)
			t.name = t.en.path
		}
		return t, nil
	case "integer":
		t := typeRef{name: "int64", scalar: true, format: s.Format}
		switch s.Format {
		case "int32":
			t.name = "int32"
		case "uint32":
			t.name = "uint32"
		case "uint64":
			t.name = "uint64"
		}
		return t, nil
	case "number":
		t := typeRef{name: "double", scalar: true, format: s.Format}
		if s.Format == "float" {
			t.name = "float"
		}
		return t, nil
	case "boolean":
		return typeRef{name: "bool", scalar: true}, nil
	}
	return g.wkt(valueType), nil
}

// enumLiterals lists a schema's enum values that are strings (null and
// duplicates left out).
func enumLiterals(s *base.Schema) []string {
	var out []string
	for _, e := range s.Enum {
		if e != nil && e.Kind == yamlScalar && e.Tag != "!!null" && e.Value != "" && !slices.Contains(out, e.Value) {
			out = append(out, e.Value)
		}
	}
	return out
}

// enumType generates the proto enum of a string enum: top level for a
// named schema (its name locked by the schema's pointer), else nested in
// the message using it. Value names are PREFIX_LITERAL in buf's case,
// unique in the enclosing scope; the literal itself travels as
// (protobridge.v1.json_value).
func (g *gen) enumType(lits []string, hint string, owner *message, pointer, desc string) *enumDef {
	en := &enumDef{literals: lits, comment: desc}
	var scope *genproto.Scope
	if owner == nil {
		en.name = g.lockedName(pointer, func() string { return g.top.Unique(genproto.TypeName(hint), "", "") })
		g.top.Reserve(en.name)
		en.path, scope = en.name, g.top
		g.enums = append(g.enums, en)
	} else {
		if owner.types == nil {
			owner.types = genproto.NewScope()
		}
		en.name = owner.types.Unique(genproto.TypeName(hint), "", "")
		en.path, scope = owner.path+"."+en.name, owner.types
		owner.enums = append(owner.enums, en)
	}
	prefix := genproto.UpperSnake(en.name) + "_"
	// Within one enum protoc also refuses names equal ignoring case once
	// the prefix is stripped; the scope folds case and underscores.
	own := genproto.NewScope()
	unique := func(base string) string {
		n := base
		for i := 2; scope.Has(n) || own.Has(n); i++ {
			n = base + "_" + strconv.Itoa(i)
		}
		scope.Reserve(n)
		own.Reserve(n)
		return n
	}
	en.zero = unique(prefix + "UNSPECIFIED")
	for i, lit := range lits {
		w := genproto.UpperSnake(genproto.ASCIIWords(lit))
		if w == "" {
			w = "VALUE_" + strconv.Itoa(i+1)
		}
		en.values = append(en.values, unique(prefix+w))
	}
	return en
}

func (t typeRef) asWKT(g *gen) typeRef {
	g.imports["google/protobuf/struct.proto"] = true
	return t
}

// inlineMessage generates the message of an inline object schema.
func (g *gen) inlineMessage(s *base.Schema, hint string, owner *message, pointer string) (typeRef, error) {
	var m *message
	if owner == nil {
		name := g.top.Unique(genproto.TypeName(hint), "", "")
		m = &message{name: name, path: name, scope: genproto.NewScope()}
		g.msgs = append(g.msgs, m)
	} else {
		if owner.types == nil {
			owner.types = genproto.NewScope()
		}
		name := owner.types.Unique(genproto.TypeName(hint), "", "")
		m = &message{name: name, path: owner.path + "." + name, parent: owner, scope: genproto.NewScope()}
		owner.nested = append(owner.nested, m)
	}
	if s.XML != nil && s.XML.Name != "" && s.XML.Name != "##default" {
		m.xmlRoot, m.xmlNS = s.XML.Name, s.XML.Namespace
	}
	if err := g.fillMessage(m, s, pointer); err != nil {
		return typeRef{}, err
	}
	return typeRef{name: m.path, msg: m}, nil
}

// prop is one property of an object, allOf merged.
type prop struct {
	name     string
	sp       *base.SchemaProxy
	required bool
}

// properties collects an object's properties, allOf branches merged in
// order (later definitions of a name win), and its description.
func (g *gen) properties(s *base.Schema, depth int) ([]*prop, string) {
	var out []*prop
	desc := s.Description
	index := map[string]int{}
	add := func(p *prop) {
		if i, ok := index[p.name]; ok {
			p.required = p.required || out[i].required
			out[i] = p
			return
		}
		index[p.name] = len(out)
		out = append(out, p)
	}
	if depth < 16 {
		for _, sub := range s.AllOf {
			bs := sub.Schema()
			if bs == nil {
				continue
			}
			ps, d := g.properties(bs, depth+1)
			if desc == "" {
				desc = d
			}
			for _, p := range ps {
				add(p)
			}
		}
	}
	if s.Properties != nil {
		for name, sp := range s.Properties.FromOldest() {
			add(&prop{name: name, sp: sp, required: slices.Contains(s.Required, name)})
		}
	}
	for _, r := range s.Required {
		if i, ok := index[r]; ok {
			out[i].required = true
		}
	}
	return out, desc
}

// fillMessage adds an object schema's fields to m.
func (g *gen) fillMessage(m *message, s *base.Schema, pointer string) error {
	if branches, ok := g.unionBranches(s); ok {
		m.comment = s.Description
		m.oneof = genproto.LowerSnake(genproto.TypeName(m.name)) + "_choice"
		m.scope.Reserve(m.oneof)
		for i, b := range branches {
			name := b.Properties.First().Key()
			sp := b.Properties.First().Value()
			f, err := g.propField(m, &prop{name: name, sp: sp}, fmt.Sprintf("%s/oneOf/%d/properties/%s", pointer, i, escapePointer(name)))
			if err != nil {
				return err
			}
			f.optional = false
			if b.Description != "" && f.comment == "" {
				f.comment = b.Description
			}
		}
		return nil
	}
	props, desc := g.properties(s, 0)
	m.comment = desc
	if ap := s.AdditionalProperties; ap != nil && len(props) > 0 && (ap.IsA() || ap.B) {
		m.comment = strings.TrimSpace(m.comment + "\nThe object may carry further properties, which are not kept.")
	}
	for _, p := range props {
		if _, err := g.propField(m, p, pointer+"/properties/"+escapePointer(p.name)); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) propField(m *message, p *prop, pointer string) (*field, error) {
	t, err := g.typeOf(p.sp, p.name, m, pointer)
	if err != nil {
		return nil, err
	}
	name := m.scope.Unique(genproto.FieldName(p.name), "", "_")
	f := &field{name: name, json: p.name, t: t}
	var ps *base.Schema
	if p.sp != nil {
		ps = p.sp.Schema()
	}
	var c []string
	if ps != nil {
		if ps.Description != "" {
			c = append(c, ps.Description)
		} else if ps.Title != "" {
			c = append(c, ps.Title)
		}
		if ps.Deprecated != nil && *ps.Deprecated {
			f.deprecated = true
		}
	}
	var notes []string
	if p.required {
		notes = append(notes, "Required.")
	}
	if ps != nil && ps.ReadOnly != nil && *ps.ReadOnly {
		notes = append(notes, "Read-only.")
	}
	if n := strings.TrimSpace(typeNote(t)); n != "" {
		notes = append(notes, n)
	}
	if len(notes) > 0 {
		c = append(c, strings.Join(notes, " "))
	}
	f.comment = strings.Join(c, "\n")
	f.optional = t.scalar && !t.repeated
	if g.xml || (ps != nil && ps.XML != nil) {
		f.xml = xmlOptions(p.name, name, ps, t)
	}
	m.fields = append(m.fields, f)
	return f, nil
}

// xmlOptions maps a property's xml object (and its items') to
// (protobridge.v1.xml) entries.
func xmlOptions(prop, field string, ps *base.Schema, t typeRef) []string {
	elem := prop
	var out []string
	var x *base.XML
	if ps != nil {
		x = ps.XML
	}
	if x != nil && x.Name != "" && x.Name != "##default" {
		elem = x.Name
	}
	if t.repeated {
		item := ""
		if ps != nil && ps.Items != nil && ps.Items.IsA() && ps.Items.A != nil {
			if is := ps.Items.A.Schema(); is != nil && is.XML != nil && is.XML.Name != "" && is.XML.Name != "##default" {
				item = is.XML.Name
			}
		}
		if x != nil && x.Wrapped {
			if item == "" {
				item = elem
			}
			out = append(out, fmt.Sprintf("name: %s", strconv.Quote(elem)), "wrapped: true", fmt.Sprintf("item: %s", strconv.Quote(item)))
		} else {
			if item != "" {
				elem = item
			}
			if elem != field {
				out = append(out, fmt.Sprintf("name: %s", strconv.Quote(elem)))
			}
		}
	} else if elem != field {
		out = append(out, fmt.Sprintf("name: %s", strconv.Quote(elem)))
	}
	if x != nil {
		if x.Attribute {
			out = append(out, "attribute: true")
		}
		if x.Namespace != "" {
			out = append(out, fmt.Sprintf("namespace: %s", strconv.Quote(x.Namespace)))
		}
	}
	return out
}

// orderedKeys is a helper for deterministic iteration.
func orderedKeys[V any](m *orderedmap.Map[string, V]) []string {
	if m == nil {
		return nil
	}
	return slices.Collect(m.KeysFromOldest())
}
