package wsdl

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// schemaParser reads the components of one xs:schema into s, queuing the references
// they make as loader fixups.
type schemaParser struct {
	l *loader
	s *Schema
}

// isX reports whether n is the XSD element local.
func isX(n *node, local string) bool { return n.is(XSDNS, local) }

// annotationDoc returns the text of n's xs:annotation/xs:documentation children.
func annotationDoc(n *node) string {
	var parts []string
	for _, a := range n.children {
		if !isX(a, "annotation") {
			continue
		}
		for _, d := range a.children {
			if isX(d, "documentation") {
				if t := d.innerText(); t != "" {
					parts = append(parts, t)
				}
			}
		}
	}
	return strings.Join(parts, "\n")
}

// parseForm reads a form / elementFormDefault / attributeFormDefault value.
func parseForm(v string, def Form) Form {
	switch v {
	case "qualified":
		return Qualified
	case "unqualified":
		return Unqualified
	}
	return def
}

// checkNCName fails unless name, the name= of the XSD declaration n (surrounding white
// space already trimmed, see collapsedAttrs), is an XML name without a colon: a name
// instances cannot carry would only fail later, in the codec.
func checkNCName(n *node, what, name string) error {
	if !isNCName(name) {
		return fmt.Errorf("%s: %s name %q is not an XML name (NCName)", n.pos(), what, name)
	}
	return nil
}

// isNCName reports whether s is a non-colonised XML name: a letter or '_', then
// letters, digits, '_', '-', '.' and the other name characters (non-ASCII letters are
// accepted as a whole, as XML 1.0 fifth edition does).
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= 0xC0 && r != 0xD7 && r != 0xF7 && r <= 0x10FFFF && !unicode.IsSpace(r):
		case i > 0 && (r == '-' || r == '.' || r >= '0' && r <= '9' || r == 0xB7):
		default:
			return false
		}
	}
	return true
}

// optString returns a pointer to the value of attribute local, nil when absent.
func optString(n *node, local string) *string {
	if v, ok := n.lookupAttr(xml.Name{Local: local}); ok {
		return &v
	}
	return nil
}

// parseOccurs reads minOccurs and maxOccurs (default 1).
func parseOccurs(n *node) (min, max int, err error) {
	min, max = 1, 1
	if v, ok := n.lookupAttr(xml.Name{Local: "minOccurs"}); ok {
		if min, err = strconv.Atoi(strings.TrimSpace(v)); err != nil || min < 0 {
			return 0, 0, fmt.Errorf("%s: invalid minOccurs %q", n.pos(), v)
		}
	}
	if v, ok := n.lookupAttr(xml.Name{Local: "maxOccurs"}); ok {
		v = strings.TrimSpace(v)
		if v == "unbounded" {
			return min, Unbounded, nil
		}
		if max, err = strconv.Atoi(v); err != nil || max < 0 {
			return 0, 0, fmt.Errorf("%s: invalid maxOccurs %q", n.pos(), v)
		}
	}
	return min, max, nil
}

// addSchema reads the xs:schema element n. loc is the location of the document holding
// it (the base for its imports and includes), name the Schema.Location to record, and
// includerTNS the including schema's namespace when n is reached by xs:include.
func (l *loader) addSchema(n *node, loc, name, includerTNS string) error {
	canonicalizeXSD(n)
	// An element with an undeclared prefix (xs:complexType where xs is not bound) would
	// be skipped as foreign, silently dropping a declaration.
	if err := checkPrefixes(n, func(c *node) bool { return isX(c, "annotation") }); err != nil {
		return err
	}
	s := &Schema{
		TargetNamespace:      n.attr("targetNamespace"),
		Location:             name,
		ElementFormDefault:   parseForm(n.attr("elementFormDefault"), Unqualified),
		AttributeFormDefault: parseForm(n.attr("attributeFormDefault"), Unqualified),
	}
	if s.TargetNamespace == "" && includerTNS != "" {
		s.TargetNamespace = includerTNS
	}
	l.set.Schemas = append(l.set.Schemas, s)
	p := &schemaParser{l: l, s: s}
	for _, c := range n.children {
		if c.name.Space != XSDNS {
			continue
		}
		var err error
		switch c.name.Local {
		case "include", "redefine":
			err = l.includeSchema(c, loc, s.TargetNamespace)
		case "import":
			// The namespaces the model has built in are never read: their schemas
			// (often remote, like the SOAP encoding's) would add nothing.
			if sl := c.attr("schemaLocation"); sl != "" && !builtinNamespaces[c.attr("namespace")] {
				err = l.importSchema(c, loc, sl)
			}
		case "element":
			var e *Element
			if e, err = p.element(c, true); err == nil {
				s.Elements = append(s.Elements, e)
				p.l.set.addElement(e)
			}
		case "complexType":
			var t *ComplexType
			if t, err = p.complexType(c, true); err == nil {
				s.Types = append(s.Types, t)
				p.l.set.addType(t)
			}
		case "simpleType":
			var t *SimpleType
			if t, err = p.simpleType(c, true); err == nil {
				s.Types = append(s.Types, t)
				p.l.set.addType(t)
			}
		case "attribute":
			var a *Attribute
			if a, err = p.attribute(c, true); err == nil {
				s.Attributes = append(s.Attributes, a)
				p.l.set.addAttribute(a)
			}
		case "group":
			var g *Group
			if g, err = p.group(c); err == nil {
				s.Groups = append(s.Groups, g)
				p.l.set.addGroup(g)
			}
		case "attributeGroup":
			var g *AttributeGroup
			if g, err = p.attributeGroup(c); err == nil {
				s.AttributeGroups = append(s.AttributeGroups, g)
				p.l.set.addAttributeGroup(g)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// builtinNamespaces are the namespaces whose components the model has built in (see
// builtinTypes and builtinAttributes), so that importing them reads nothing.
var builtinNamespaces = map[string]bool{XSDNS: true, SOAPEncNS: true, xmlNS: true}

// importSchema reads the document named by an xs:import once. Failing to read it is an
// error naming the import, unless Options.IgnoreUnreadableImports; failing to parse
// what was read always is.
func (l *loader) importSchema(n *node, base, sl string) error {
	loc, err := resolveLocation(base, sl)
	if err != nil {
		return fmt.Errorf("%s: xs:import %q: %w", n.pos(), sl, err)
	}
	if l.seen[loc] {
		return nil
	}
	l.seen[loc] = true
	data, err := l.fetch(loc, "")
	if err != nil {
		err = fmt.Errorf("%s: xs:import of namespace %q from %q cannot be read: %w", n.pos(), n.attr("namespace"), sl, err)
		if !l.opts.IgnoreUnreadableImports {
			return err
		}
		l.importErrs = append(l.importErrs, err)
		return nil
	}
	return l.parseDocument(data, loc)
}

// includeSchema reads the schema named by an xs:include (or xs:redefine) into the
// includer's namespace, once per location and namespace.
func (l *loader) includeSchema(n *node, base, tns string) error {
	sl := n.attr("schemaLocation")
	if sl == "" {
		return fmt.Errorf("%s: xs:%s without schemaLocation", n.pos(), n.name.Local)
	}
	loc, err := resolveLocation(base, sl)
	if err != nil {
		return fmt.Errorf("%s: xs:%s %q: %w", n.pos(), n.name.Local, sl, err)
	}
	key := loc + "\x00" + tns
	if l.schemas[key] || l.seen[loc] {
		return nil
	}
	l.schemas[key] = true
	data, err := l.fetch(loc, n.pos())
	if err != nil {
		return err
	}
	root, err := parseTree(data, displayName(loc))
	if err != nil {
		return err
	}
	if !isX(root, "schema") {
		return fmt.Errorf("%s: document included at %s is not an xs:schema", root.pos(), n.pos())
	}
	// An included schema must have the includer's namespace or none (chameleon); one
	// with another namespace is read in its own, as if imported.
	return l.addSchema(root, loc, loc, tns)
}

// element reads an element declaration; global for a top-level one.
func (p *schemaParser) element(n *node, global bool) (*Element, error) {
	e := &Element{Global: global, MinOccurs: 1, MaxOccurs: 1, Doc: annotationDoc(n), schema: p.s}
	var err error
	if !global {
		if e.MinOccurs, e.MaxOccurs, err = parseOccurs(n); err != nil {
			return nil, err
		}
	}
	if e.refName, err = n.qattr("ref"); err != nil {
		return nil, err
	}
	set, tns := p.l.set, p.s.TargetNamespace
	if e.refName.Local != "" && !global {
		p.l.fixup(phaseLookup, func() error {
			e.Ref, err = set.lookupElement(e.refName, tns, n, "an element ref")
			return err
		})
		p.l.fixup(phaseCopyRefs, func() error {
			g := e.Ref
			e.Name, e.TypeName, e.Type = g.Name, g.TypeName, g.Type
			e.Nillable, e.Abstract, e.SubstitutionGroup = g.Nillable, g.Abstract, g.SubstitutionGroup
			if e.Default == nil && e.Fixed == nil {
				e.Default, e.Fixed = g.Default, g.Fixed
			}
			if e.Doc == "" {
				e.Doc = g.Doc
			}
			return nil
		})
		return e, nil
	}
	local := n.attr("name")
	if local == "" {
		return nil, fmt.Errorf("%s: element without name= or ref=", n.pos())
	}
	if err := checkNCName(n, "element", local); err != nil {
		return nil, err
	}
	e.Name.Local = local
	if global || parseForm(n.attr("form"), p.s.ElementFormDefault) == Qualified {
		e.Name.Space = tns
	}
	e.Nillable = n.attr("nillable") == "true" || n.attr("nillable") == "1"
	e.Abstract = n.attr("abstract") == "true" || n.attr("abstract") == "1"
	e.Default, e.Fixed = optString(n, "default"), optString(n, "fixed")
	if e.TypeName, err = n.qattr("type"); err != nil {
		return nil, err
	}
	if e.SubstitutionGroup, err = n.qattr("substitutionGroup"); err != nil {
		return nil, err
	}
	for _, c := range n.children {
		switch {
		case isX(c, "complexType"):
			e.Type, err = p.complexType(c, false)
		case isX(c, "simpleType"):
			e.Type, err = p.simpleType(c, false)
		}
		if err != nil {
			return nil, err
		}
	}
	what := "element " + local
	if e.TypeName.Local != "" {
		p.l.fixup(phaseLookup, func() error {
			e.Type, err = set.lookupType(e.TypeName, tns, n, what)
			return err
		})
	}
	if e.SubstitutionGroup.Local != "" {
		p.l.fixup(phaseLookup, func() error {
			_, err := set.lookupElement(e.SubstitutionGroup, tns, n, "the substitutionGroup of "+what)
			return err
		})
	}
	if e.Type == nil && e.TypeName.Local == "" {
		p.l.fixup(phaseSubstTypes, func() error {
			e.Type = set.defaultElementType(e)
			return nil
		})
	}
	return e, nil
}

// complexType reads a complex type definition; named when global.
func (p *schemaParser) complexType(n *node, global bool) (*ComplexType, error) {
	t := &ComplexType{
		Abstract: n.attr("abstract") == "true" || n.attr("abstract") == "1",
		Mixed:    n.attr("mixed") == "true" || n.attr("mixed") == "1",
		Doc:      annotationDoc(n), schema: p.s, n: n,
	}
	if global {
		if n.attr("name") == "" {
			return nil, fmt.Errorf("%s: global complexType without name=", n.pos())
		}
		if err := checkNCName(n, "complexType", n.attr("name")); err != nil {
			return nil, err
		}
		t.Name = xml.Name{Space: p.s.TargetNamespace, Local: n.attr("name")}
	}
	p.l.set.complexTypes = append(p.l.set.complexTypes, t)
	if err := p.complexBody(n, t); err != nil {
		return nil, err
	}
	return t, nil
}

// complexBody reads the content of a complexType, or of its complexContent or
// simpleContent derivation, into t.
func (p *schemaParser) complexBody(n *node, t *ComplexType) error {
	for _, c := range n.children {
		if c.name.Space != XSDNS {
			continue
		}
		var err error
		switch c.name.Local {
		case "sequence", "choice", "all":
			t.DeclaredContent, err = p.modelGroup(c)
		case "group":
			t.DeclaredContent, err = p.groupRef(c)
		case "attribute", "attributeGroup", "anyAttribute":
			err = p.attrUse(c, &t.attrItems, &t.anyAttr)
		case "complexContent", "simpleContent":
			if c.name.Local == "simpleContent" {
				t.ContentKind = SimpleContent
			} else if m := c.attr("mixed"); m != "" {
				t.Mixed = m == "true" || m == "1"
			}
			for _, d := range c.children {
				switch {
				case isX(d, "extension"):
					t.Derivation = Extension
				case isX(d, "restriction"):
					t.Derivation = Restriction
				default:
					continue
				}
				if err = p.derivation(d, t); err != nil {
					return err
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// derivation reads an extension or restriction of complexContent/simpleContent.
func (p *schemaParser) derivation(d *node, t *ComplexType) error {
	var err error
	if t.BaseName, err = d.qattr("base"); err != nil {
		return err
	}
	if t.BaseName.Local == "" {
		return fmt.Errorf("%s: xs:%s without base=", d.pos(), d.name.Local)
	}
	set, tns := p.l.set, p.s.TargetNamespace
	p.l.fixup(phaseLookup, func() error {
		t.Base, err = set.lookupType(t.BaseName, tns, d, "the "+d.name.Local+" of "+typeDesc(t))
		return err
	})
	if t.ContentKind == SimpleContent && t.Derivation == Restriction {
		// Facets (and an optional inline base) restrict the base's value type.
		v := &SimpleType{n: d}
		if err := p.facets(d, v); err != nil {
			return err
		}
		t.Value = v
	}
	return p.complexBody(d, t)
}

// typeDesc names a type for error messages.
func typeDesc(t Type) string {
	if n := t.TypeName(); n.Local != "" {
		return "type " + n.Local
	}
	return "an anonymous type"
}

// attrUse reads an attribute, attributeGroup reference or anyAttribute into items/any.
func (p *schemaParser) attrUse(c *node, items *[]attrItem, anyAttr **Any) error {
	switch c.name.Local {
	case "attribute":
		a, err := p.attribute(c, false)
		if err != nil {
			return err
		}
		*items = append(*items, attrItem{attr: a, n: c})
	case "attributeGroup":
		ref, err := c.qattr("ref")
		if err != nil {
			return err
		}
		if ref.Local == "" {
			return fmt.Errorf("%s: attributeGroup reference without ref=", c.pos())
		}
		*items = append(*items, attrItem{groupRef: ref, n: c})
	case "anyAttribute":
		*anyAttr = p.wildcard(c)
	}
	return nil
}

// wildcard reads xs:any or xs:anyAttribute (occurrence bounds are set by the caller).
func (p *schemaParser) wildcard(n *node) *Any {
	a := &Any{Namespace: n.attr("namespace"), TargetNamespace: p.s.TargetNamespace, MinOccurs: 1, MaxOccurs: 1}
	if a.Namespace == "" {
		a.Namespace = "##any"
	}
	switch n.attr("processContents") {
	case "lax":
		a.ProcessContents = Lax
	case "skip":
		a.ProcessContents = Skip
	}
	return a
}

// attribute reads an attribute declaration or use.
func (p *schemaParser) attribute(n *node, global bool) (*Attribute, error) {
	a := &Attribute{Doc: annotationDoc(n), n: n, Default: optString(n, "default"), Fixed: optString(n, "fixed")}
	switch n.attr("use") {
	case "required":
		a.Use = Required
	case "prohibited":
		a.Use = Prohibited
	}
	a.ArrayType, _ = n.lookupAttr(xml.Name{Space: WSDLNS, Local: "arrayType"})
	var err error
	if a.refName, err = n.qattr("ref"); err != nil {
		return nil, err
	}
	set, tns := p.l.set, p.s.TargetNamespace
	if a.refName.Local != "" && !global {
		p.l.fixup(phaseLookup, func() error {
			a.Ref, err = set.lookupAttribute(a.refName, tns, n)
			return err
		})
		p.l.fixup(phaseCopyRefs, func() error {
			g := a.Ref
			a.Name, a.TypeName, a.Type = g.Name, g.TypeName, g.Type
			if a.Default == nil && a.Fixed == nil {
				a.Default, a.Fixed = g.Default, g.Fixed
			}
			if a.Doc == "" {
				a.Doc = g.Doc
			}
			return nil
		})
		return a, nil
	}
	local := n.attr("name")
	if local == "" {
		return nil, fmt.Errorf("%s: attribute without name= or ref=", n.pos())
	}
	if err := checkNCName(n, "attribute", local); err != nil {
		return nil, err
	}
	a.Name.Local = local
	if global || parseForm(n.attr("form"), p.s.AttributeFormDefault) == Qualified {
		a.Name.Space = tns
	}
	if a.TypeName, err = n.qattr("type"); err != nil {
		return nil, err
	}
	for _, c := range n.children {
		if isX(c, "simpleType") {
			if a.Type, err = p.simpleType(c, false); err != nil {
				return nil, err
			}
		}
	}
	if a.Type != nil {
		return a, nil
	}
	typeName := a.TypeName
	if typeName.Local == "" {
		typeName = anySimpleTypeName
	}
	p.l.fixup(phaseLookup, func() error {
		t, err := set.lookupType(typeName, tns, n, "attribute "+local)
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case *SimpleType:
			a.Type = t
		case *ComplexType:
			if t.Name != anyTypeName {
				return fmt.Errorf("%s: attribute %s has complex type %s", n.pos(), local, fmtName(t.Name))
			}
			a.Type = builtinTypes[anySimpleTypeName].(*SimpleType)
		}
		return nil
	})
	return a, nil
}

// modelGroup reads a sequence, choice or all.
func (p *schemaParser) modelGroup(n *node) (*ModelGroup, error) {
	g := &ModelGroup{}
	switch n.name.Local {
	case "choice":
		g.Kind = Choice
	case "all":
		g.Kind = All
	}
	var err error
	if g.MinOccurs, g.MaxOccurs, err = parseOccurs(n); err != nil {
		return nil, err
	}
	for _, c := range n.children {
		if c.name.Space != XSDNS {
			continue
		}
		var part Particle
		switch c.name.Local {
		case "element":
			part, err = p.element(c, false)
		case "sequence", "choice", "all":
			part, err = p.modelGroup(c)
		case "group":
			part, err = p.groupRef(c)
		case "any":
			w := p.wildcard(c)
			if w.MinOccurs, w.MaxOccurs, err = parseOccurs(c); err == nil {
				part = w
			}
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		g.Particles = append(g.Particles, part)
	}
	return g, nil
}

// groupRef reads an xs:group ref= particle; its content is filled in at lookup.
func (p *schemaParser) groupRef(n *node) (*ModelGroup, error) {
	g := &ModelGroup{}
	var err error
	if g.MinOccurs, g.MaxOccurs, err = parseOccurs(n); err != nil {
		return nil, err
	}
	if g.Ref, err = n.qattr("ref"); err != nil {
		return nil, err
	}
	if g.Ref.Local == "" {
		return nil, fmt.Errorf("%s: group reference without ref=", n.pos())
	}
	set, tns := p.l.set, p.s.TargetNamespace
	p.l.fixup(phaseLookup, func() error {
		def, err := set.lookupGroup(g.Ref, tns, n)
		if err != nil {
			return err
		}
		g.Ref = def.Name
		if def.Content != nil {
			g.Kind, g.Particles = def.Content.Kind, def.Content.Particles
		}
		return nil
	})
	return g, nil
}

// group reads a named model group definition.
func (p *schemaParser) group(n *node) (*Group, error) {
	g := &Group{Name: xml.Name{Space: p.s.TargetNamespace, Local: n.attr("name")}, Doc: annotationDoc(n)}
	if g.Name.Local == "" {
		return nil, fmt.Errorf("%s: global group without name=", n.pos())
	}
	if err := checkNCName(n, "group", g.Name.Local); err != nil {
		return nil, err
	}
	for _, c := range n.children {
		if isX(c, "sequence") || isX(c, "choice") || isX(c, "all") {
			var err error
			if g.Content, err = p.modelGroup(c); err != nil {
				return nil, err
			}
		}
	}
	return g, nil
}

// attributeGroup reads a named attribute group definition.
func (p *schemaParser) attributeGroup(n *node) (*AttributeGroup, error) {
	g := &AttributeGroup{Name: xml.Name{Space: p.s.TargetNamespace, Local: n.attr("name")}, schema: p.s, n: n}
	if g.Name.Local == "" {
		return nil, fmt.Errorf("%s: global attributeGroup without name=", n.pos())
	}
	if err := checkNCName(n, "attributeGroup", g.Name.Local); err != nil {
		return nil, err
	}
	for _, c := range n.children {
		if isX(c, "attribute") || isX(c, "attributeGroup") || isX(c, "anyAttribute") {
			if err := p.attrUse(c, &g.items, &g.AnyAttribute); err != nil {
				return nil, err
			}
		}
	}
	return g, nil
}

// simpleType reads a simple type definition; named when global.
func (p *schemaParser) simpleType(n *node, global bool) (*SimpleType, error) {
	st := &SimpleType{Doc: annotationDoc(n), n: n}
	if global {
		if n.attr("name") == "" {
			return nil, fmt.Errorf("%s: global simpleType without name=", n.pos())
		}
		if err := checkNCName(n, "simpleType", n.attr("name")); err != nil {
			return nil, err
		}
		st.Name = xml.Name{Space: p.s.TargetNamespace, Local: n.attr("name")}
	}
	p.l.set.simpleTypes = append(p.l.set.simpleTypes, st)
	set, tns := p.l.set, p.s.TargetNamespace
	for _, c := range n.children {
		var err error
		switch {
		case isX(c, "restriction"):
			err = p.restriction(c, st)
		case isX(c, "list"):
			st.Variety = List
			if st.itemName, err = c.qattr("itemType"); err != nil {
				return nil, err
			}
			for _, d := range c.children {
				if isX(d, "simpleType") {
					st.Item, err = p.simpleType(d, false)
				}
			}
			if st.itemName.Local != "" {
				p.l.fixup(phaseLookup, func() error {
					st.Item, err = set.lookupSimpleType(st.itemName, tns, c, "the list item of "+typeDesc(st))
					return err
				})
			} else if st.Item == nil {
				err = fmt.Errorf("%s: xs:list without itemType= or simpleType", c.pos())
			}
		case isX(c, "union"):
			st.Variety = Union
			for _, m := range strings.Fields(c.attr("memberTypes")) {
				q, err := c.qname(m)
				if err != nil {
					return nil, err
				}
				st.memberNames = append(st.memberNames, q)
			}
			p.l.fixup(phaseLookup, func() error {
				for _, q := range st.memberNames {
					m, err := set.lookupSimpleType(q, tns, c, "a union member of "+typeDesc(st))
					if err != nil {
						return err
					}
					st.Members = append(st.Members, m)
				}
				return nil
			})
			for _, d := range c.children {
				if isX(d, "simpleType") {
					var m *SimpleType
					if m, err = p.simpleType(d, false); err != nil {
						return nil, err
					}
					st.Members = append(st.Members, m)
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return st, nil
}

// restriction reads the xs:restriction of a simple type: its base, by name or inline,
// and its facets.
func (p *schemaParser) restriction(n *node, st *SimpleType) error {
	var err error
	if st.BaseName, err = n.qattr("base"); err != nil {
		return err
	}
	if err := p.facets(n, st); err != nil {
		return err
	}
	if st.BaseName.Local == "" {
		if st.Base == nil {
			return fmt.Errorf("%s: xs:restriction without base= or simpleType", n.pos())
		}
		return nil
	}
	set, tns := p.l.set, p.s.TargetNamespace
	p.l.fixup(phaseLookup, func() error {
		st.Base, err = set.lookupSimpleType(st.BaseName, tns, n, "the restriction of "+typeDesc(st))
		return err
	})
	return nil
}

// facets reads the facets of an xs:restriction, and its inline base simpleType, into st.
func (p *schemaParser) facets(n *node, st *SimpleType) error {
	f := &st.Facets
	for _, c := range n.children {
		if c.name.Space != XSDNS {
			continue
		}
		v := c.attr("value")
		var ip **int
		switch c.name.Local {
		case "simpleType":
			var err error
			if st.Base, err = p.simpleType(c, false); err != nil {
				return err
			}
		case "enumeration":
			f.Enumeration = append(f.Enumeration, Enumeration{Value: v, Doc: annotationDoc(c)})
		case "pattern":
			f.Patterns = append(f.Patterns, v)
		case "whiteSpace":
			f.WhiteSpace = v
		case "minInclusive":
			f.MinInclusive = &v
		case "maxInclusive":
			f.MaxInclusive = &v
		case "minExclusive":
			f.MinExclusive = &v
		case "maxExclusive":
			f.MaxExclusive = &v
		case "length":
			ip = &f.Length
		case "minLength":
			ip = &f.MinLength
		case "maxLength":
			ip = &f.MaxLength
		case "totalDigits":
			ip = &f.TotalDigits
		case "fractionDigits":
			ip = &f.FractionDigits
		}
		if ip != nil {
			i, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || i < 0 {
				return fmt.Errorf("%s: invalid %s value %q", c.pos(), c.name.Local, v)
			}
			*ip = &i
		}
	}
	return nil
}

// xsdElementNames are the XSD element local names, by lower case.
var xsdElementNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range strings.Fields(`all annotation any anyAttribute appinfo attribute
		attributeGroup choice complexContent complexType documentation element enumeration
		extension field fractionDigits group import include key keyref length list
		maxExclusive maxInclusive maxLength minExclusive minInclusive minLength notation
		pattern redefine restriction schema selector sequence simpleContent simpleType
		totalDigits union unique whiteSpace`) {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// canonicalizeXSD fixes the letter case of XSD element names under n (xs:simpletype
// for xs:simpleType), a slip some hand-written schemas make that other processors
// tolerate. xs:appinfo content is left alone.
func canonicalizeXSD(n *node) {
	if n.name.Space != XSDNS {
		return
	}
	if c, ok := xsdElementNames[strings.ToLower(n.name.Local)]; ok {
		n.name.Local = c
	}
	if n.name.Local == "appinfo" || n.name.Local == "documentation" {
		return
	}
	for _, c := range n.children {
		canonicalizeXSD(c)
	}
}
