package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	pyaml "github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/datamodel"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v2 "github.com/pb33f/libopenapi/datamodel/high/v2"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"
	"gopkg.in/yaml.v3"
)

// yamlNode is libopenapi's YAML node (enum values, examples).
type yamlNode = pyaml.Node

// yamlScalar is the kind of a scalar node.
const yamlScalar = pyaml.ScalarNode

// LoadOptions tune Load.
type LoadOptions struct {
	// AllowRemote permits an http(s) spec location and remote $refs.
	AllowRemote bool
}

// Spec is an OpenAPI document, Swagger 2.0 or OpenAPI 3.x, reduced to what
// the generator needs. Schemas stay libopenapi's (shared by both versions).
type Spec struct {
	// Path is where the spec was read from; Version its openapi/swagger
	// version.
	Path, Version string
	Title         string
	Description   string
	// Servers are the base URLs the spec names, first the preferred one.
	Servers []string
	// Schemas are the named schemas (components/schemas, definitions) in
	// document order; refs maps their "$ref" strings to them.
	Schemas []*NamedSchema
	refs    map[string]*NamedSchema
	// Operations in document order (paths, then methods in a fixed order).
	Operations []*Operation
	// Security lists the security schemes.
	Security []SecurityScheme
	// Tags in document order, with descriptions.
	Tags []Tag
}

// Tag is a tag the document describes.
type Tag struct{ Name, Description string }

// NamedSchema is a reusable schema.
type NamedSchema struct {
	Name, Ref string
	Proxy     *base.SchemaProxy
}

// SecurityScheme is one security scheme, as far as credentials go.
type SecurityScheme struct {
	Name string
	// Type: apiKey, http, oauth2, openIdConnect (basic for Swagger's basic).
	Type, Scheme, In, ParamName string
	// TokenURL of an OAuth2 client-credentials flow, and its scopes.
	TokenURL string
	Scopes   []string
}

// Operation is one path + method.
type Operation struct {
	ID, Method, Path string
	Tags             []string
	Summary          string
	Description      string
	Deprecated       bool
	Params           []*Param
	Body             *Content
	BodyRequired     bool
	BodyDescription  string
	// Reply is the success reply's content; nil for none.
	Reply *Content
	// ReplyCode is the success status ("200", "2XX", "default").
	ReplyCode string
	// Errors lists the documented error replies: "404: Pet not found".
	Errors []string
	// Pointer is the JSON pointer of the operation.
	Pointer string
}

// Param is a path, query, header or cookie parameter.
type Param struct {
	Name, In, Description string
	Required, Deprecated  bool
	Schema                *base.SchemaProxy
}

// Content is a body: its media type and schema.
type Content struct {
	MediaType string
	Schema    *base.SchemaProxy
	// Kind classifies the media type.
	Kind MediaKind
}

// MediaKind classifies media types.
type MediaKind int

const (
	MediaNone MediaKind = iota
	MediaJSON
	MediaXML
	MediaSSE
	MediaNDJSON
	MediaForm
	MediaRaw
)

func mediaKind(mt string) MediaKind {
	mt = strings.ToLower(strings.TrimSpace(strings.SplitN(mt, ";", 2)[0]))
	switch {
	case mt == "text/event-stream":
		return MediaSSE
	case mt == "application/x-ndjson" || mt == "application/ndjson" || mt == "application/jsonl" || mt == "application/x-jsonlines" || mt == "application/stream+json":
		return MediaNDJSON
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json" || mt == "*/*" || mt == "application/*":
		return MediaJSON
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		return MediaXML
	case mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data":
		return MediaForm
	}
	return MediaRaw
}

// Error is a problem with the spec, with its position: "file:line: msg" or
// "file: #/json/pointer: msg".
type Error struct {
	File    string
	Line    int
	Pointer string
	Msg     string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.Pointer != "":
		return fmt.Sprintf("%s: %s: %s", e.File, e.Pointer, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Load reads and resolves an OpenAPI 3.0/3.1 or Swagger 2.0 document, JSON
// or YAML, with its local and relative $refs (remote ones only with
// AllowRemote).
func Load(path string, o LoadOptions) (*Spec, error) {
	data, base, err := read(path, o)
	if err != nil {
		return nil, err
	}
	if err := syntaxCheck(path, data); err != nil {
		return nil, err
	}
	cfg := datamodel.NewDocumentConfiguration()
	cfg.AllowFileReferences = true
	cfg.AllowRemoteReferences = o.AllowRemote
	cfg.BasePath = base
	cfg.SpecFilePath = filepath.Base(path)
	cfg.FileFilter = nil
	if remote(path) {
		u, _ := url.Parse(path)
		cfg.BaseURL = u
		cfg.BasePath = ""
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	// Recursive schemas are fine for protobuf (the generator maps them
	// itself); the check costs a third of the load on large specs.
	cfg.SkipCircularReferenceCheck = true
	doc, err := libopenapi.NewDocumentWithConfiguration(data, cfg)
	if err != nil {
		return nil, &Error{File: path, Msg: "not an OpenAPI or Swagger document: " + err.Error()}
	}
	s := &Spec{Path: path, refs: map[string]*NamedSchema{}}
	info := doc.GetSpecInfo()
	switch {
	case info != nil && info.SpecType == "swagger" || strings.HasPrefix(doc.GetVersion(), "2"):
		m, err := doc.BuildV2Model()
		if m == nil || buildProblem(err) != nil {
			return nil, buildError(path, data, buildProblem(err))
		}
		if err := s.fromV2(&m.Model); err != nil {
			return nil, err
		}
	default:
		m, err := doc.BuildV3Model()
		if m == nil || buildProblem(err) != nil {
			return nil, buildError(path, data, buildProblem(err))
		}
		if err := s.fromV3(&m.Model); err != nil {
			return nil, err
		}
	}
	s.Version = doc.GetVersion()
	return s, nil
}

func remote(p string) bool {
	return strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://")
}

func read(path string, o LoadOptions) (data []byte, dir string, err error) {
	if remote(path) {
		if !o.AllowRemote {
			return nil, "", fmt.Errorf("%s is remote: pass --allow-remote to fetch it", path)
		}
		c := &http.Client{Timeout: 30 * time.Second}
		resp, err := c.Get(path)
		if err != nil {
			return nil, "", err
		}
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			return nil, "", fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
		}
		data, err = io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		return data, "", err
	}
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", err
	}
	return data, filepath.Dir(abs), nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// syntaxCheck reports JSON and YAML syntax errors with their line.
func syntaxCheck(path string, data []byte) error {
	trimmed := strings.TrimLeft(string(data[:min(len(data), 64)]), " \t\r\n\ufeff")
	if strings.HasPrefix(trimmed, "{") {
		var v any
		err := json.Unmarshal(data, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + strings.Count(string(data[:se.Offset]), "\n")
			return &Error{File: path, Line: line, Msg: "invalid JSON: " + se.Error()}
		}
		if err != nil {
			return &Error{File: path, Msg: "invalid JSON: " + err.Error()}
		}
		if _, ok := v.(map[string]any); !ok {
			return &Error{File: path, Line: 1, Msg: "the document is not a JSON object"}
		}
		return checkVersion(path, v.(map[string]any), nil)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		line := 0
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return &Error{File: path, Line: line, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var v map[string]any
	if err := n.Decode(&v); err != nil {
		return &Error{File: path, Line: 1, Msg: "the document is not a YAML mapping"}
	}
	return checkVersion(path, v, &n)
}

func checkVersion(path string, v map[string]any, n *yaml.Node) error {
	_, sw := v["swagger"]
	oa, ok := v["openapi"]
	if !sw && !ok {
		return &Error{File: path, Line: 1, Msg: `neither "openapi" nor "swagger" is set: not an OpenAPI document`}
	}
	if ok {
		if s, _ := oa.(string); !strings.HasPrefix(s, "3.") {
			line := 1
			if n != nil && len(n.Content) > 0 {
				for i := 0; i+1 < len(n.Content[0].Content); i += 2 {
					if n.Content[0].Content[i].Value == "openapi" {
						line = n.Content[0].Content[i].Line
					}
				}
			}
			return &Error{File: path, Line: line, Pointer: "#/openapi", Msg: fmt.Sprintf("openapi version %v is not supported (3.0, 3.1 or swagger 2.0)", oa)}
		}
	}
	if _, ok := v["paths"]; !ok {
		if _, wh := v["webhooks"]; !wh {
			if _, c := v["components"]; !c {
				return &Error{File: path, Pointer: "#/paths", Msg: "the document has no paths"}
			}
		}
	}
	return nil
}

// buildProblem drops what libopenapi reports that the generator handles
// itself (circular references) from a model build's errors.
func buildProblem(err error) error {
	if err == nil {
		return nil
	}
	var keep []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if strings.Contains(strings.ToLower(e.Error()), "circular reference") {
			return
		}
		keep = append(keep, e)
	}
	walk(err)
	return errors.Join(keep...)
}

var quotedRef = regexp.MustCompile("`([^`]+)`")

var atLine = regexp.MustCompile(` at line (\d+), col(?:umn)? (\d+)`)

// buildError words a model that could not be built: the first problem,
// as file:line when libopenapi names the line.
func buildError(path string, data []byte, err error) error {
	if err == nil {
		return &Error{File: path, Msg: "the document could not be read"}
	}
	lines := strings.Split(err.Error(), "\n")
	for _, msg := range lines {
		if m := atLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &Error{File: path, Line: line, Msg: strings.Replace(msg, m[0], "", 1)}
		}
	}
	// "component `#/x/y` does not exist": the line of the first $ref to it.
	if m := quotedRef.FindStringSubmatch(lines[0]); m != nil {
		if i := strings.Index(string(data), m[1]); i >= 0 {
			return &Error{File: path, Line: 1 + strings.Count(string(data[:i]), "\n"), Msg: "$ref " + m[1] + " does not resolve: " + lines[0]}
		}
	}
	return &Error{File: path, Msg: lines[0]}
}

var methodOrder = []string{"get", "put", "post", "delete", "options", "head", "patch"}

func (s *Spec) addSchemas(prefix string, m *orderedmap.Map[string, *base.SchemaProxy]) {
	if m == nil {
		return
	}
	for name, sp := range m.FromOldest() {
		ns := &NamedSchema{Name: name, Ref: prefix + escapePointer(name), Proxy: sp}
		s.Schemas = append(s.Schemas, ns)
		s.refs[ns.Ref] = ns
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// Lookup finds a named schema by a $ref (local, or "file#/..." as
// libopenapi reports it).
func (s *Spec) Lookup(ref string) *NamedSchema {
	if ns, ok := s.refs[ref]; ok {
		return ns
	}
	if i := strings.Index(ref, "#"); i > 0 {
		if ns, ok := s.refs[ref[i:]]; ok {
			return ns
		}
	}
	return nil
}

func (s *Spec) fromV3(m *v3.Document) error {
	if m.Info != nil {
		s.Title, s.Description = m.Info.Title, m.Info.Description
	}
	for _, sv := range m.Servers {
		s.Servers = append(s.Servers, serverURL(sv))
	}
	for _, t := range m.Tags {
		s.Tags = append(s.Tags, Tag{t.Name, t.Description})
	}
	if c := m.Components; c != nil {
		s.addSchemas("#/components/schemas/", c.Schemas)
		if c.SecuritySchemes != nil {
			for name, ss := range c.SecuritySchemes.FromOldest() {
				sc := SecurityScheme{Name: name, Type: ss.Type, Scheme: strings.ToLower(ss.Scheme), In: ss.In, ParamName: ss.Name}
				if ss.Flows != nil && ss.Flows.ClientCredentials != nil {
					sc.TokenURL = ss.Flows.ClientCredentials.TokenUrl
					if ss.Flows.ClientCredentials.Scopes != nil {
						sc.Scopes = slices.Collect(ss.Flows.ClientCredentials.Scopes.KeysFromOldest())
					}
				}
				s.Security = append(s.Security, sc)
			}
		}
	}
	if m.Paths == nil || m.Paths.PathItems == nil {
		return nil
	}
	for path, item := range m.Paths.PathItems.FromOldest() {
		ops := map[string]*v3.Operation{"get": item.Get, "put": item.Put, "post": item.Post, "delete": item.Delete,
			"options": item.Options, "head": item.Head, "patch": item.Patch}
		for _, method := range methodOrder {
			op := ops[method]
			if op == nil {
				continue
			}
			o := &Operation{ID: op.OperationId, Method: method, Path: path, Tags: op.Tags, Summary: op.Summary,
				Description: op.Description, Deprecated: op.Deprecated != nil && *op.Deprecated,
				Pointer: "#/paths/" + escapePointer(path) + "/" + method}
			seen := map[string]bool{}
			for _, list := range [][]*v3.Parameter{op.Parameters, item.Parameters} {
				for _, p := range list {
					if p == nil || seen[p.In+" "+p.Name] {
						continue
					}
					seen[p.In+" "+p.Name] = true
					sp := p.Schema
					if sp == nil && p.Content != nil {
						for _, mt := range p.Content.FromOldest() {
							sp = mt.Schema
							break
						}
					}
					o.Params = append(o.Params, &Param{Name: p.Name, In: p.In, Description: p.Description,
						Required: p.Required != nil && *p.Required || p.In == "path", Deprecated: p.Deprecated, Schema: sp})
				}
			}
			if rb := op.RequestBody; rb != nil {
				o.Body = pickContent(rb.Content, false)
				o.BodyRequired = rb.Required != nil && *rb.Required
				o.BodyDescription = rb.Description
			}
			if op.Responses != nil {
				codes := map[string]*v3.Response{}
				var order []string
				if op.Responses.Codes != nil {
					for code, r := range op.Responses.Codes.FromOldest() {
						codes[code] = r
						order = append(order, code)
					}
				}
				if op.Responses.Default != nil {
					codes["default"] = op.Responses.Default
					order = append(order, "default")
				}
				code := successCode(order)
				if code != "" {
					o.ReplyCode = code
					o.Reply = pickContent(codes[code].Content, true)
				}
				for _, c := range order {
					if c != code && (c == "default" || c[0] >= '3') {
						o.Errors = append(o.Errors, c+": "+oneLine(codes[c].Description))
					}
				}
			}
			s.Operations = append(s.Operations, o)
		}
	}
	return nil
}

// successCode picks the reply that is the rpc's output: the lowest 2xx,
// else default.
func successCode(codes []string) string {
	best := ""
	for _, c := range codes {
		if len(c) == 3 && c[0] == '2' && (best == "" || c < best) {
			best = c
		}
	}
	if best == "" && slices.Contains(codes, "default") {
		return "default"
	}
	return best
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

// pickContent chooses one media type of a body: JSON first, then streams
// (replies), XML, forms and anything else.
func pickContent(m *orderedmap.Map[string, *v3.MediaType], reply bool) *Content {
	if m == nil {
		return nil
	}
	var best *Content
	rank := func(k MediaKind) int {
		switch k {
		case MediaSSE, MediaNDJSON:
			if reply {
				return 0
			}
			return 5
		case MediaJSON:
			return 1
		case MediaXML:
			return 2
		case MediaForm:
			return 3
		}
		return 4
	}
	for mt, v := range m.FromOldest() {
		c := &Content{MediaType: mt, Schema: v.Schema, Kind: mediaKind(mt)}
		if c.Kind == MediaSSE || c.Kind == MediaNDJSON {
			if v.ItemSchema != nil {
				c.Schema = v.ItemSchema
			}
		}
		if best == nil || rank(c.Kind) < rank(best.Kind) {
			best = c
		}
	}
	return best
}

func serverURL(sv *v3.Server) string {
	u := sv.URL
	if sv.Variables != nil {
		for name, v := range sv.Variables.FromOldest() {
			u = strings.ReplaceAll(u, "{"+name+"}", v.Default)
		}
	}
	return u
}

func (s *Spec) fromV2(m *v2.Swagger) error {
	if m.Info != nil {
		s.Title, s.Description = m.Info.Title, m.Info.Description
	}
	if m.Host != "" {
		scheme := "https"
		if len(m.Schemes) > 0 && !slices.Contains(m.Schemes, "https") {
			scheme = m.Schemes[0]
		}
		s.Servers = append(s.Servers, scheme+"://"+m.Host+m.BasePath)
	} else if m.BasePath != "" {
		s.Servers = append(s.Servers, m.BasePath)
	}
	for _, t := range m.Tags {
		s.Tags = append(s.Tags, Tag{t.Name, t.Description})
	}
	if m.Definitions != nil {
		s.addSchemas("#/definitions/", m.Definitions.Definitions)
	}
	if m.SecurityDefinitions != nil && m.SecurityDefinitions.Definitions != nil {
		for name, ss := range m.SecurityDefinitions.Definitions.FromOldest() {
			sc := SecurityScheme{Name: name, Type: ss.Type, In: ss.In, ParamName: ss.Name}
			if ss.Type == "basic" {
				sc.Type, sc.Scheme = "http", "basic"
			}
			if ss.Type == "oauth2" && ss.Flow == "application" {
				sc.TokenURL = ss.TokenUrl
				if ss.Scopes != nil && ss.Scopes.Values != nil {
					sc.Scopes = slices.Collect(ss.Scopes.Values.KeysFromOldest())
				}
			}
			s.Security = append(s.Security, sc)
		}
	}
	if m.Paths == nil || m.Paths.PathItems == nil {
		return nil
	}
	for path, item := range m.Paths.PathItems.FromOldest() {
		ops := map[string]*v2.Operation{"get": item.Get, "put": item.Put, "post": item.Post, "delete": item.Delete,
			"options": item.Options, "head": item.Head, "patch": item.Patch}
		for _, method := range methodOrder {
			op := ops[method]
			if op == nil {
				continue
			}
			o := &Operation{ID: op.OperationId, Method: method, Path: path, Tags: op.Tags, Summary: op.Summary,
				Description: op.Description, Deprecated: op.Deprecated,
				Pointer: "#/paths/" + escapePointer(path) + "/" + method}
			consumes, produces := op.Consumes, op.Produces
			if consumes == nil {
				consumes = m.Consumes
			}
			if produces == nil {
				produces = m.Produces
			}
			seen := map[string]bool{}
			var form []*v2.Parameter
			for _, list := range [][]*v2.Parameter{op.Parameters, item.Parameters} {
				for _, p := range list {
					if p == nil || seen[p.In+" "+p.Name] {
						continue
					}
					seen[p.In+" "+p.Name] = true
					switch p.In {
					case "body":
						o.Body = &Content{MediaType: v2Media(consumes), Schema: p.Schema}
						o.Body.Kind = mediaKind(o.Body.MediaType)
						o.BodyRequired = p.Required != nil && *p.Required
						o.BodyDescription = p.Description
					case "formData":
						form = append(form, p)
					default:
						o.Params = append(o.Params, &Param{Name: p.Name, In: p.In, Description: p.Description,
							Required: p.Required != nil && *p.Required || p.In == "path", Schema: v2ParamSchema(p.Type, p.Format, p.Items, p.Enum)})
					}
				}
			}
			if len(form) > 0 && o.Body == nil {
				props := orderedmap.New[string, *base.SchemaProxy]()
				var req []string
				for _, p := range form {
					props.Set(p.Name, v2ParamSchema(p.Type, p.Format, p.Items, p.Enum))
					if p.Required != nil && *p.Required {
						req = append(req, p.Name)
					}
				}
				mt := "application/x-www-form-urlencoded"
				if slices.Contains(consumes, "multipart/form-data") {
					mt = "multipart/form-data"
				}
				o.Body = &Content{MediaType: mt, Kind: MediaForm, Schema: base.CreateSchemaProxy(&base.Schema{Type: []string{"object"}, Properties: props, Required: req})}
			}
			if op.Responses != nil {
				codes := map[string]*v2.Response{}
				var order []string
				if op.Responses.Codes != nil {
					for code, r := range op.Responses.Codes.FromOldest() {
						codes[code] = r
						order = append(order, code)
					}
				}
				if op.Responses.Default != nil {
					codes["default"] = op.Responses.Default
					order = append(order, "default")
				}
				code := successCode(order)
				if code != "" {
					o.ReplyCode = code
					if r := codes[code]; r.Schema != nil {
						o.Reply = &Content{MediaType: v2Media(produces), Schema: r.Schema}
						o.Reply.Kind = mediaKind(o.Reply.MediaType)
					}
				}
				for _, c := range order {
					if c != code && (c == "default" || c[0] >= '3') {
						o.Errors = append(o.Errors, c+": "+oneLine(codes[c].Description))
					}
				}
			}
			s.Operations = append(s.Operations, o)
		}
	}
	return nil
}

// v2Media picks JSON among a Swagger consumes/produces list, else the first.
func v2Media(list []string) string {
	for _, mt := range list {
		if mediaKind(mt) == MediaJSON {
			return mt
		}
	}
	if len(list) > 0 {
		return list[0]
	}
	return "application/json"
}

func v2ParamSchema(typ, format string, items *v2.Items, enum []*yamlNode) *base.SchemaProxy {
	s := &base.Schema{Format: format, Enum: enum}
	if typ == "file" {
		typ, s.Format = "string", "binary"
	}
	if typ != "" {
		s.Type = []string{typ}
	}
	if typ == "array" && items != nil {
		s.Items = &base.DynamicValue[*base.SchemaProxy, bool]{A: v2ParamSchema(items.Type, items.Format, items.Items, items.Enum)}
	}
	return base.CreateSchemaProxy(s)
}
