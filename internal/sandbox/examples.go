package sandbox

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strings"

	yaml "github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// examples are the reply examples of an OpenAPI 3 spec (mock.openapi) by
// "METHOD /path/{}" — path parameters unnamed, as gen openapi may rename
// them — as decoded JSON: the operation's whole example, or one composed
// of its schema's property examples. The mock lays them over the values
// it makes up, so a spec's examples come first.
type examples map[string]any

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

func exampleKey(method, path string) string {
	return strings.ToUpper(method) + " " + pathParam.ReplaceAllString(path, "{}")
}

// loadExamples reads the success reply examples of every operation: the
// media type's example, its first named example, or its schema's example.
func loadExamples(path string) (examples, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc, err := libopenapi.NewDocument(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not an OpenAPI document: %v", path, err)
	}
	if strings.HasPrefix(doc.GetVersion(), "2") {
		return nil, fmt.Errorf("%s is Swagger 2.0; mock examples are read from OpenAPI 3 specs", path)
	}
	m, err := doc.BuildV3Model()
	if m == nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	out := examples{}
	if m.Model.Paths == nil || m.Model.Paths.PathItems == nil {
		return out, nil
	}
	for p, item := range m.Model.Paths.PathItems.FromOldest() {
		for method, op := range map[string]*v3.Operation{"GET": item.Get, "PUT": item.Put, "POST": item.Post, "DELETE": item.Delete, "PATCH": item.Patch} {
			if op == nil || op.Responses == nil || op.Responses.Codes == nil {
				continue
			}
			for code, r := range op.Responses.Codes.FromOldest() {
				if !strings.HasPrefix(code, "2") || r.Content == nil {
					continue
				}
				for mt, media := range r.Content.FromOldest() {
					if !strings.Contains(mt, "json") || media == nil {
						continue
					}
					if v := exampleOf(media); v != nil {
						out[exampleKey(method, p)] = v
					}
				}
				break
			}
		}
	}
	return out, nil
}

func exampleOf(media *v3.MediaType) any {
	nodes := []*yaml.Node{media.Example}
	if media.Examples != nil {
		for _, e := range media.Examples.FromOldest() {
			if e != nil {
				nodes = append(nodes, e.Value)
			}
		}
	}
	for _, n := range nodes {
		if v := decodeNode(n); v != nil {
			return v
		}
	}
	if media.Schema == nil {
		return nil
	}
	return composed(media.Schema.Schema(), 0)
}

// decodeNode is a YAML example as JSON values (nil when it is not one).
func decodeNode(n *yaml.Node) any {
	if n == nil {
		return nil
	}
	var v any
	if err := n.Decode(&v); err != nil || v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

// maxExampleDepth bounds the walk of recursive schemas.
const maxExampleDepth = 8

// composed is a schema's example, or one made of its properties' and
// items' examples; nil when there is none.
func composed(s *base.Schema, depth int) any {
	if s == nil || depth > maxExampleDepth {
		return nil
	}
	if v := decodeNode(s.Example); v != nil {
		return v
	}
	obj := map[string]any{}
	for _, sub := range s.AllOf {
		if m, ok := composed(sub.Schema(), depth+1).(map[string]any); ok {
			maps.Copy(obj, m)
		}
	}
	if s.Properties != nil {
		for name, p := range s.Properties.FromOldest() {
			if v := composed(p.Schema(), depth+1); v != nil {
				obj[name] = v
			}
		}
	}
	if len(obj) > 0 {
		return obj
	}
	if s.Items != nil && s.Items.IsA() && s.Items.A != nil {
		if v := composed(s.Items.A.Schema(), depth+1); v != nil {
			return []any{v}
		}
	}
	return nil
}

// overlay lays example ex over generated values gen: objects key by key,
// anything else replaced.
func overlay(gen, ex any) any {
	g, ok1 := gen.(map[string]any)
	e, ok2 := ex.(map[string]any)
	if !ok1 || !ok2 {
		return ex
	}
	for k, v := range e {
		g[k] = overlay(g[k], v)
	}
	return g
}
