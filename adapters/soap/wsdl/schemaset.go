package wsdl

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// SchemaSet is every schema of a Definitions with their global components indexed by
// qualified name. Built-in XSD types (and soapenc:Array, the SOAP-encoding aliases of
// the built-ins) are always found by Type. When two schemas declare the same global
// name, the first read wins.
type SchemaSet struct {
	// Schemas are in the order read: inline schemas in order, each followed by what it
	// imports or includes when first reached.
	Schemas []*Schema

	elements        map[xml.Name]*Element
	types           map[xml.Name]Type
	attributes      map[xml.Name]*Attribute
	groups          map[xml.Name]*Group
	attributeGroups map[xml.Name]*AttributeGroup
	substitutes     map[xml.Name][]*Element
	derived         map[xml.Name][]*ComplexType

	// all complex and simple types, anonymous ones included, for resolution.
	complexTypes []*ComplexType
	simpleTypes  []*SimpleType
}

func newSchemaSet() *SchemaSet {
	return &SchemaSet{
		elements:        map[xml.Name]*Element{},
		types:           map[xml.Name]Type{},
		attributes:      map[xml.Name]*Attribute{},
		groups:          map[xml.Name]*Group{},
		attributeGroups: map[xml.Name]*AttributeGroup{},
		substitutes:     map[xml.Name][]*Element{},
		derived:         map[xml.Name][]*ComplexType{},
	}
}

// Element returns the global element declaration name, or nil.
func (s *SchemaSet) Element(name xml.Name) *Element { return s.elements[name] }

// Type returns the global type definition name (a built-in included), or nil.
func (s *SchemaSet) Type(name xml.Name) Type {
	if t, ok := s.types[name]; ok {
		return t
	}
	if t, ok := builtinTypes[name]; ok {
		return t
	}
	return nil
}

// Attribute returns the global attribute declaration name, or nil.
func (s *SchemaSet) Attribute(name xml.Name) *Attribute {
	if a, ok := s.attributes[name]; ok {
		return a
	}
	return builtinAttributes[name]
}

// Group returns the named model group definition, or nil.
func (s *SchemaSet) Group(name xml.Name) *Group { return s.groups[name] }

// AttributeGroup returns the named attribute group definition, or nil.
func (s *SchemaSet) AttributeGroup(name xml.Name) *AttributeGroup { return s.attributeGroups[name] }

// Substitutes returns the global elements that may appear in place of head through
// substitutionGroup, transitively, in the order read; abstract ones included (check
// Element.Abstract).
func (s *SchemaSet) Substitutes(head xml.Name) []*Element {
	var out []*Element
	seen := map[xml.Name]bool{head: true}
	var walk func(xml.Name)
	walk = func(h xml.Name) {
		for _, e := range s.substitutes[h] {
			if !seen[e.Name] {
				seen[e.Name] = true
				out = append(out, e)
				walk(e.Name)
			}
		}
	}
	walk(head)
	return out
}

// DerivedTypes returns the named complex types derived from base, directly or
// transitively, in the order read: the candidates for xsi:type in place of base.
func (s *SchemaSet) DerivedTypes(base xml.Name) []*ComplexType {
	var out []*ComplexType
	seen := map[xml.Name]bool{base: true}
	var walk func(xml.Name)
	walk = func(b xml.Name) {
		for _, t := range s.derived[b] {
			if !seen[t.Name] {
				seen[t.Name] = true
				out = append(out, t)
				walk(t.Name)
			}
		}
	}
	walk(base)
	return out
}

func (s *SchemaSet) addElement(e *Element) {
	if _, dup := s.elements[e.Name]; !dup {
		s.elements[e.Name] = e
	}
}

func (s *SchemaSet) addType(t Type) {
	if _, dup := s.types[t.TypeName()]; !dup {
		s.types[t.TypeName()] = t
	}
}

func (s *SchemaSet) addAttribute(a *Attribute) {
	if _, dup := s.attributes[a.Name]; !dup {
		s.attributes[a.Name] = a
	}
}

func (s *SchemaSet) addGroup(g *Group) {
	if _, dup := s.groups[g.Name]; !dup {
		s.groups[g.Name] = g
	}
}

func (s *SchemaSet) addAttributeGroup(g *AttributeGroup) {
	if _, dup := s.attributeGroups[g.Name]; !dup {
		s.attributeGroups[g.Name] = g
	}
}

// lookup finds name in m. An unqualified name that is not found is retried in tns (the
// chameleon-include rule, and the lenient reading of unprefixed references in schemas
// without a default namespace), then as the only component of that local name in any
// namespace.
func lookup[T any](m map[xml.Name]T, name xml.Name, tns string) (T, bool) {
	if v, ok := m[name]; ok || name.Space != "" {
		return v, ok
	}
	if v, ok := m[xml.Name{Space: tns, Local: name.Local}]; ok {
		return v, true
	}
	var (
		found T
		n     int
	)
	for k, v := range m {
		if k.Local == name.Local {
			found, n = v, n+1
		}
	}
	return found, n == 1
}

func (s *SchemaSet) lookupType(name xml.Name, tns string, n *node, what string) (Type, error) {
	if t := s.Type(name); t != nil {
		return t, nil
	}
	if t, ok := lookup(s.types, name, tns); ok {
		return t, nil
	}
	// type= naming an element declaration, a slip other processors tolerate: use the
	// element's type.
	if e, ok := lookup(s.elements, name, tns); ok {
		if e.Type != nil {
			return e.Type, nil
		}
		if t := s.Type(e.TypeName); t != nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("%s: type %s referenced by %s not found", n.pos(), fmtName(name), what)
}

func (s *SchemaSet) lookupSimpleType(name xml.Name, tns string, n *node, what string) (*SimpleType, error) {
	t, err := s.lookupType(name, tns, n, what)
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case *SimpleType:
		return t, nil
	case *ComplexType:
		if t.Name == anyTypeName {
			return builtinTypes[anySimpleTypeName].(*SimpleType), nil
		}
	}
	return nil, fmt.Errorf("%s: %s refers to complex type %s where a simple type is required", n.pos(), what, fmtName(name))
}

func (s *SchemaSet) lookupElement(name xml.Name, tns string, n *node, what string) (*Element, error) {
	e, ok := lookup(s.elements, name, tns)
	if !ok {
		return nil, fmt.Errorf("%s: element %s referenced by %s not found", n.pos(), fmtName(name), what)
	}
	return e, nil
}

func (s *SchemaSet) lookupAttribute(name xml.Name, tns string, n *node) (*Attribute, error) {
	if a := s.Attribute(name); a != nil {
		return a, nil
	}
	a, ok := lookup(s.attributes, name, tns)
	if !ok {
		return nil, fmt.Errorf("%s: attribute %s referenced by an attribute ref not found", n.pos(), fmtName(name))
	}
	return a, nil
}

func (s *SchemaSet) lookupGroup(name xml.Name, tns string, n *node) (*Group, error) {
	g, ok := lookup(s.groups, name, tns)
	if !ok {
		return nil, fmt.Errorf("%s: group %s referenced by a group ref not found", n.pos(), fmtName(name))
	}
	return g, nil
}

func (s *SchemaSet) lookupAttributeGroup(name xml.Name, tns string, n *node) (*AttributeGroup, error) {
	g, ok := lookup(s.attributeGroups, name, tns)
	if !ok {
		return nil, fmt.Errorf("%s: attributeGroup %s referenced by an attributeGroup ref not found", n.pos(), fmtName(name))
	}
	return g, nil
}

// maxSubstitutionChain bounds the walk up substitution group heads for untyped elements.
const maxSubstitutionChain = 64

// defaultElementType is the type of an element declared without one: its substitution
// group head's type, else xs:anyType.
func (s *SchemaSet) defaultElementType(e *Element) Type {
	for i := 0; i < maxSubstitutionChain && e.SubstitutionGroup.Local != ""; i++ {
		head, ok := lookup(s.elements, e.SubstitutionGroup, e.schema.TargetNamespace)
		if !ok {
			break
		}
		if head.Type != nil {
			return head.Type
		}
		if head.TypeName.Local != "" || head == e {
			break
		}
		e = head
	}
	return builtinTypes[anyTypeName]
}

// resolve computes the derived properties of every type once references are looked up:
// simple type kinds and facets, effective complex content and attributes, broken group
// cycles, and the substitution and derivation indexes.
func (s *SchemaSet) resolve() []error {
	var errs []error
	for _, g := range s.groups {
		s.breakGroupCycles(g)
	}
	for _, st := range s.simpleTypes {
		if err := s.resolveSimple(st); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ct := range s.complexTypes {
		if err := s.resolveComplex(ct); err != nil {
			errs = append(errs, err)
		}
	}
	for _, sc := range s.Schemas {
		for _, e := range sc.Elements {
			if h := e.SubstitutionGroup; h.Local != "" {
				if head, ok := lookup(s.elements, h, sc.TargetNamespace); ok && s.elements[e.Name] == e {
					s.substitutes[head.Name] = append(s.substitutes[head.Name], e)
				}
			}
		}
		for _, t := range sc.Types {
			if ct, ok := t.(*ComplexType); ok && ct.Base != nil && s.types[ct.Name] == ct {
				b := ct.Base.TypeName()
				s.derived[b] = append(s.derived[b], ct)
			}
		}
	}
	return errs
}

// breakGroupCycles walks the group references of g depth first and marks a reference
// that leads back into a group being walked as Circular, so content models stay finite.
func (s *SchemaSet) breakGroupCycles(g *Group) {
	if g.state != unresolved || g.Content == nil {
		g.state = resolved
		return
	}
	g.state = resolving
	var walk func(*ModelGroup)
	walk = func(m *ModelGroup) {
		for _, p := range m.Particles {
			sub, ok := p.(*ModelGroup)
			if !ok {
				continue
			}
			if sub.Ref.Local == "" {
				walk(sub)
				continue
			}
			def := s.groups[sub.Ref]
			switch {
			case def == nil:
			case def.state == resolving:
				sub.Circular, sub.Particles = true, nil
			case def.state == unresolved:
				s.breakGroupCycles(def)
			}
		}
	}
	walk(g.Content)
	g.state = resolved
}

// resolveSimple computes st's variety, kind and effective facets.
func (s *SchemaSet) resolveSimple(st *SimpleType) error {
	if st.Builtin || st.state == resolved {
		return nil
	}
	if st.state == resolving {
		return fmt.Errorf("%s: simple type %s derives from itself", st.n.pos(), fmtName(st.Name))
	}
	st.state = resolving
	defer func() { st.state = resolved }()
	switch st.Variety {
	case List:
		if err := s.resolveSimple(st.Item); err != nil {
			return err
		}
		st.Kind = st.Item.Kind
	case Union:
		for i, m := range st.Members {
			if err := s.resolveSimple(m); err != nil {
				return err
			}
			if i == 0 {
				st.Kind = m.Kind
			} else if m.Kind != st.Kind {
				st.Kind = KindAnySimpleType
			}
		}
	default:
		if st.Base == nil {
			return fmt.Errorf("%s: simple type %s has no base", st.n.pos(), fmtName(st.Name))
		}
		if err := s.resolveSimple(st.Base); err != nil {
			return err
		}
		b := st.Base
		st.Variety, st.Kind, st.Item, st.Members = b.Variety, b.Kind, b.Item, b.Members
		st.Facets = mergeFacets(st.Facets, b.Facets)
	}
	return nil
}

// mergeFacets returns own with every facet it leaves unset taken from base.
func mergeFacets(own, base Facets) Facets {
	if own.Enumeration == nil {
		own.Enumeration = base.Enumeration
	}
	if own.Patterns == nil {
		own.Patterns = base.Patterns
	}
	if own.WhiteSpace == "" {
		own.WhiteSpace = base.WhiteSpace
	}
	for _, p := range []struct{ o, b **int }{
		{&own.Length, &base.Length}, {&own.MinLength, &base.MinLength}, {&own.MaxLength, &base.MaxLength},
		{&own.TotalDigits, &base.TotalDigits}, {&own.FractionDigits, &base.FractionDigits},
	} {
		if *p.o == nil {
			*p.o = *p.b
		}
	}
	for _, p := range []struct{ o, b **string }{
		{&own.MinInclusive, &base.MinInclusive}, {&own.MaxInclusive, &base.MaxInclusive},
		{&own.MinExclusive, &base.MinExclusive}, {&own.MaxExclusive, &base.MaxExclusive},
	} {
		if *p.o == nil {
			*p.o = *p.b
		}
	}
	return own
}

// resolveComplex computes t's effective content, value type and attributes.
func (s *SchemaSet) resolveComplex(t *ComplexType) error {
	if t.state == resolved {
		return nil
	}
	if t.state == resolving {
		return fmt.Errorf("%s: %s derives from itself", t.n.pos(), typeDesc(t))
	}
	t.state = resolving
	defer func() { t.state = resolved }()
	own, ownAny, err := s.expandAttrs(t.attrItems, t.anyAttr, t.schema.TargetNamespace)
	if err != nil {
		return err
	}
	t.Content, t.Attributes, t.AnyAttribute = t.DeclaredContent, own, ownAny
	var baseCT *ComplexType
	switch b := t.Base.(type) {
	case *ComplexType:
		if err := s.resolveComplex(b); err != nil {
			return err
		}
		baseCT = b
	case *SimpleType:
		if err := s.resolveSimple(b); err != nil {
			return err
		}
		if t.Value == nil {
			t.Value = b
		} else if t.Value.Base == nil {
			t.Value.Base = b
		}
	}
	if t.ContentKind == SimpleContent {
		return s.resolveSimpleContent(t, baseCT)
	}
	if baseCT != nil {
		switch t.Derivation {
		case Extension:
			t.Content = extendContent(baseCT.Content, t.DeclaredContent)
			t.Attributes = append(append([]*Attribute(nil), baseCT.Attributes...), own...)
			if t.AnyAttribute == nil {
				t.AnyAttribute = baseCT.AnyAttribute
			}
			t.Mixed = t.Mixed || baseCT.Mixed
		case Restriction:
			t.Attributes = restrictAttrs(baseCT.Attributes, own)
			if baseCT.Name.Space == SOAPEncNS && baseCT.Name.Local == "Array" {
				if err := t.setArrayType(); err != nil {
					return err
				}
			}
		}
	}
	switch {
	case t.Mixed:
		t.ContentKind = MixedContent
	case t.Content != nil && (len(t.Content.Particles) > 0 || t.Content.Ref.Local != ""):
		t.ContentKind = ElementContent
	default:
		t.ContentKind = EmptyContent
	}
	return nil
}

// resolveSimpleContent finishes a simpleContent type: its value type and attributes.
func (s *SchemaSet) resolveSimpleContent(t *ComplexType, base *ComplexType) error {
	if base != nil {
		switch t.Derivation {
		case Extension:
			t.Value = base.Value
			t.Attributes = append(append([]*Attribute(nil), base.Attributes...), t.Attributes...)
			if t.AnyAttribute == nil {
				t.AnyAttribute = base.AnyAttribute
			}
		case Restriction:
			if t.Value != nil && t.Value.Base == nil {
				t.Value.Base = base.Value
			}
			t.Attributes = restrictAttrs(base.Attributes, t.Attributes)
		}
	}
	// Simple content over a base without a value (e.g. xs:anyType) is any text.
	str := builtinTypes[xml.Name{Space: XSDNS, Local: "string"}].(*SimpleType)
	if t.Value == nil {
		t.Value = str
	} else if t.Value.Base == nil && t.Value.Variety == Atomic && !t.Value.Builtin {
		t.Value.Base = str
	}
	return s.resolveSimple(t.Value)
}

// setArrayType reads the wsdl:arrayType of a soapenc:Array restriction.
func (t *ComplexType) setArrayType() error {
	for _, it := range t.attrItems {
		a := it.attr
		if a == nil || a.ArrayType == "" {
			continue
		}
		v := strings.TrimSpace(a.ArrayType)
		i := strings.IndexByte(v, '[')
		if i < 0 {
			i = len(v)
		}
		name, err := a.n.qname(v[:i])
		if err != nil {
			return err
		}
		t.ArrayType, t.ArrayDims = name, v[i:]
	}
	return nil
}

// extendContent is the content of an extension: base's particles then own's, in one
// sequence; plain (1..1, unnamed) sequences are spliced rather than nested.
func extendContent(base, own *ModelGroup) *ModelGroup {
	if isEmptyGroup(base) {
		return own
	}
	if isEmptyGroup(own) {
		return base
	}
	seq := &ModelGroup{Kind: Sequence, MinOccurs: 1, MaxOccurs: 1}
	for _, g := range []*ModelGroup{base, own} {
		if g.Kind == Sequence && g.MinOccurs == 1 && g.MaxOccurs == 1 && g.Ref.Local == "" {
			seq.Particles = append(seq.Particles, g.Particles...)
		} else {
			seq.Particles = append(seq.Particles, g)
		}
	}
	return seq
}

// isEmptyGroup reports a missing or empty, unnamed compositor.
func isEmptyGroup(g *ModelGroup) bool {
	return g == nil || (len(g.Particles) == 0 && g.Ref.Local == "")
}

// restrictAttrs applies a restriction's attribute uses to the base's: same-named uses
// replace the base's in place, prohibited ones are removed, new ones are appended.
func restrictAttrs(base, own []*Attribute) []*Attribute {
	out := make([]*Attribute, 0, len(base)+len(own))
	byName := make(map[xml.Name]*Attribute, len(own))
	for _, a := range own {
		byName[a.Name] = a
	}
	used := make(map[xml.Name]bool, len(own))
	for _, b := range base {
		if a, ok := byName[b.Name]; ok {
			used[b.Name] = true
			if a.Use != Prohibited {
				out = append(out, a)
			}
			continue
		}
		out = append(out, b)
	}
	for _, a := range own {
		if !used[a.Name] && a.Use != Prohibited {
			out = append(out, a)
		}
	}
	return out
}

// expandAttrs flattens attribute uses and attributeGroup references, in order.
func (s *SchemaSet) expandAttrs(items []attrItem, anyAttr *Any, tns string) ([]*Attribute, *Any, error) {
	var out []*Attribute
	for _, it := range items {
		if it.attr != nil {
			out = append(out, it.attr)
			continue
		}
		g, err := s.lookupAttributeGroup(it.groupRef, tns, it.n)
		if err != nil {
			return nil, nil, err
		}
		if err := s.resolveAttributeGroup(g); err != nil {
			return nil, nil, err
		}
		out = append(out, g.Attributes...)
		if anyAttr == nil {
			anyAttr = g.AnyAttribute
		}
	}
	return out, anyAttr, nil
}

// resolveAttributeGroup expands g's nested attribute group references.
func (s *SchemaSet) resolveAttributeGroup(g *AttributeGroup) error {
	switch g.state {
	case resolved:
		return nil
	case resolving:
		return fmt.Errorf("%s: attributeGroup %s refers to itself", g.n.pos(), fmtName(g.Name))
	}
	g.state = resolving
	defer func() { g.state = resolved }()
	attrs, anyAttr, err := s.expandAttrs(g.items, g.AnyAttribute, g.schema.TargetNamespace)
	if err != nil {
		return err
	}
	g.Attributes, g.AnyAttribute = attrs, anyAttr
	return nil
}
