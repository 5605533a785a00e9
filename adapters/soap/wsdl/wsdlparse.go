package wsdl

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// isW reports whether n is the WSDL element local.
func isW(n *node, local string) bool { return n.name.Local == local && isWSDLNS(n.name.Space) }

// soapVersionOf returns the SOAP version of a SOAP binding extension element's
// namespace, NotSOAP for other namespaces.
func soapVersionOf(n *node) SOAPVersion {
	switch n.name.Space {
	case SOAP11BindingNS:
		return SOAP11
	case SOAP12BindingNS:
		return SOAP12
	}
	return NotSOAP
}

// docOf returns the wsdl:documentation text among n's children.
func docOf(n *node) string {
	for _, c := range n.children {
		if isW(c, "documentation") {
			return c.innerText()
		}
	}
	return ""
}

// wsdlRef resolves the QName attribute attr of n, naming a WSDL component, and looks it
// up in m. An unprefixed name that is not found is retried in the document's target
// namespace: generators often leave it unprefixed under xmlns="…/wsdl/" or with no
// default namespace at all.
func wsdlRef[T any](m map[xml.Name]*T, n *node, attr, tns string) (*T, xml.Name, error) {
	name, err := n.qattr(attr)
	if err != nil {
		return nil, name, err
	}
	if v := m[name]; v != nil {
		return v, name, nil
	}
	if !strings.Contains(n.attr(attr), ":") {
		return m[xml.Name{Space: tns, Local: name.Local}], name, nil
	}
	return nil, name, nil
}

// wsdlSections are the local names of the children of wsdl:definitions the loader
// reads.
var wsdlSections = map[string]bool{"import": true, "types": true, "message": true, "portType": true, "binding": true, "service": true}

// isDoc reports wsdl:documentation, whose content the loader reads as text only.
func isDoc(n *node) bool { return isW(n, "documentation") }

// checkWSDLPrefixes fails on an element of a WSDL section whose prefix is not
// declared where the loader would read it: it cannot tell whether such an element is
// a WSDL element, a SOAP binding extension or something to ignore, and skipping it
// would silently drop what it stands for (a binding without its soap:binding is not a
// SOAP binding). Bindings and services are checked whole (their extension elements
// are what makes them SOAP); messages and port types where the loader reads.
func checkWSDLPrefixes(c *node) error {
	if c.undeclared != "" {
		if wsdlSections[c.name.Local] {
			return c.errUndeclared()
		}
		return nil
	}
	switch {
	case isW(c, "binding"), isW(c, "service"):
		return checkPrefixes(c, isDoc)
	case isW(c, "types"):
		for _, s := range c.children {
			if s.undeclared != "" && s.name.Local == "schema" {
				return s.errUndeclared()
			}
		}
	case isW(c, "message"):
		for _, p := range c.children {
			if p.undeclared != "" && p.name.Local == "part" {
				return p.errUndeclared()
			}
		}
	case isW(c, "portType"):
		for _, op := range c.children {
			if op.undeclared != "" && op.name.Local == "operation" {
				return op.errUndeclared()
			}
			for _, io := range op.children {
				if io.undeclared != "" && (io.name.Local == "input" || io.name.Local == "output" || io.name.Local == "fault") {
					return io.errUndeclared()
				}
			}
		}
	}
	return nil
}

// parseDefinitions reads a wsdl:definitions element found at loc.
func (l *loader) parseDefinitions(root *node, loc string) error {
	tns := root.attr("targetNamespace")
	d := l.defs
	if loc == d.Location {
		d.Name, d.TargetNamespace, d.Doc = root.attr("name"), tns, docOf(root)
	}
	ntypes := 0
	for _, c := range root.children {
		if err := checkWSDLPrefixes(c); err != nil {
			return err
		}
		var err error
		switch {
		case isW(c, "import"):
			var ref string
			ref, err = resolveLocation(loc, c.attr("location"))
			if err == nil && c.attr("location") == "" {
				err = fmt.Errorf("%s: wsdl:import of namespace %q has no location", c.pos(), c.attr("namespace"))
			}
			if err == nil {
				err = l.loadDocument(ref, c.pos())
			}
		case isW(c, "types"):
			for _, s := range c.children {
				if s.is(XSDNS, "schema") {
					err = l.addSchema(s, loc, fmt.Sprintf("%s#types[%d]", loc, ntypes), "")
					ntypes++
					if err != nil {
						break
					}
				}
			}
		case isW(c, "message"):
			l.parseMessage(c, tns)
		case isW(c, "portType"):
			l.parsePortType(c, tns)
		case isW(c, "binding"):
			l.parseBinding(c, tns)
		case isW(c, "service"):
			l.parseService(c, tns)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) parseMessage(n *node, tns string) {
	m := &Message{Name: xml.Name{Space: tns, Local: n.attr("name")}, Doc: docOf(n)}
	if _, dup := l.defs.messages[m.Name]; dup {
		return
	}
	l.defs.messages[m.Name] = m
	l.defs.Messages = append(l.defs.Messages, m)
	for _, c := range n.children {
		if !isW(c, "part") {
			continue
		}
		p := &Part{Name: c.attr("name")}
		m.Parts = append(m.Parts, p)
		l.fixup(phaseWSDLParts, func() error {
			var err error
			if p.ElementName, err = c.qattr("element"); err != nil {
				return err
			}
			if p.TypeName, err = c.qattr("type"); err != nil {
				return err
			}
			what := fmt.Sprintf("part %s of message %s", p.Name, m.Name.Local)
			switch {
			case p.ElementName.Local != "":
				p.Element, err = l.set.lookupElement(p.ElementName, tns, c, what)
			case p.TypeName.Local != "":
				p.Type, err = l.set.lookupType(p.TypeName, tns, c, what)
			default:
				err = fmt.Errorf("%s: %s has neither element= nor type=", c.pos(), what)
			}
			return err
		})
	}
}

func (l *loader) parsePortType(n *node, tns string) {
	pt := &PortType{Name: xml.Name{Space: tns, Local: n.attr("name")}, Doc: docOf(n)}
	if _, dup := l.defs.portTypes[pt.Name]; dup {
		return
	}
	l.defs.portTypes[pt.Name] = pt
	l.defs.PortTypes = append(l.defs.PortTypes, pt)
	for _, c := range n.children {
		if !isW(c, "operation") {
			continue
		}
		op := &Operation{Name: c.attr("name"), Doc: docOf(c), ParameterOrder: strings.Fields(c.attr("parameterOrder"))}
		pt.Operations = append(pt.Operations, op)
		for _, io := range c.children {
			var slot **IOMessage
			switch {
			case isW(io, "input"):
				slot = &op.Input
			case isW(io, "output"):
				slot = &op.Output
			case isW(io, "fault"):
				op.Faults = append(op.Faults, nil)
				slot = &op.Faults[len(op.Faults)-1]
			default:
				continue
			}
			iom := &IOMessage{Name: io.attr("name")}
			*slot = iom
			l.fixup(phaseWSDLOps, func() error {
				var (
					name xml.Name
					err  error
				)
				if iom.Message, name, err = wsdlRef(l.defs.messages, io, "message", tns); err != nil {
					return err
				}
				if iom.Message == nil {
					return fmt.Errorf("%s: message %s referenced by operation %s of port type %s not found", io.pos(), fmtName(name), op.Name, pt.Name.Local)
				}
				return nil
			})
		}
	}
}

func (l *loader) parseBinding(n *node, tns string) {
	b := &Binding{Name: xml.Name{Space: tns, Local: n.attr("name")}, Doc: docOf(n)}
	if _, dup := l.defs.bindings[b.Name]; dup {
		return
	}
	l.defs.bindings[b.Name] = b
	l.defs.Bindings = append(l.defs.Bindings, b)
	for _, c := range n.children {
		if c.name.Local == "binding" {
			if v := soapVersionOf(c); v != NotSOAP {
				b.SOAPVersion, b.Transport = v, c.attr("transport")
				b.Style = parseStyle(c.attr("style"), Document)
			}
		}
	}
	var bops []*node
	for _, c := range n.children {
		if isW(c, "operation") {
			bops = append(bops, c)
		}
	}
	l.fixup(phaseWSDLBind, func() error {
		var (
			name xml.Name
			err  error
		)
		if b.PortType, name, err = wsdlRef(l.defs.portTypes, n, "type", tns); err != nil {
			return err
		}
		if b.PortType == nil {
			return fmt.Errorf("%s: port type %s referenced by binding %s not found", n.pos(), fmtName(name), b.Name.Local)
		}
		for _, c := range bops {
			bo, err := l.parseBindingOperation(c, b, tns)
			if err != nil {
				return err
			}
			b.Operations = append(b.Operations, bo)
		}
		return nil
	})
}

// parseStyle parses a style= value, def when empty.
func parseStyle(s string, def Style) Style {
	switch s {
	case "rpc":
		return RPC
	case "document":
		return Document
	}
	return def
}

// parseUse parses a use= value.
func parseUse(s string) Use {
	if s == "encoded" {
		return Encoded
	}
	return Literal
}

// findOperation finds the port type operation a binding operation binds: by name, and
// by input/output names when the name is overloaded.
func findOperation(pt *PortType, n *node) *Operation {
	name := n.attr("name")
	var cands []*Operation
	for _, op := range pt.Operations {
		if op.Name == name {
			cands = append(cands, op)
		}
	}
	if len(cands) <= 1 {
		if len(cands) == 0 {
			return nil
		}
		return cands[0]
	}
	for _, op := range cands {
		ok := true
		for _, c := range n.children {
			var io *IOMessage
			switch {
			case isW(c, "input"):
				io = op.Input
			case isW(c, "output"):
				io = op.Output
			default:
				continue
			}
			if io == nil || (c.attr("name") != "" && c.attr("name") != io.Name) {
				ok = false
			}
		}
		if ok {
			return op
		}
	}
	return cands[0]
}

func (l *loader) parseBindingOperation(n *node, b *Binding, tns string) (*BindingOperation, error) {
	bo := &BindingOperation{Name: n.attr("name"), Style: b.Style}
	if bo.Operation = findOperation(b.PortType, n); bo.Operation == nil {
		return nil, fmt.Errorf("%s: operation %s of binding %s not found in port type %s", n.pos(), bo.Name, b.Name.Local, fmtName(b.PortType.Name))
	}
	for _, c := range n.children {
		var err error
		switch {
		case c.name.Local == "operation" && soapVersionOf(c) != NotSOAP:
			bo.Action = c.attr("soapAction")
			bo.Style = parseStyle(c.attr("style"), b.Style)
		case isW(c, "input"):
			bo.Input, err = l.parseBindingMessage(c, bo.Operation.Input, tns)
		case isW(c, "output"):
			bo.Output, err = l.parseBindingMessage(c, bo.Operation.Output, tns)
		case isW(c, "fault"):
			f := &BindingFault{Name: c.attr("name")}
			for _, sf := range c.children {
				if sf.name.Local == "fault" && soapVersionOf(sf) != NotSOAP {
					f.Use, f.Namespace, f.EncodingStyle = parseUse(sf.attr("use")), sf.attr("namespace"), sf.attr("encodingStyle")
					if f.Name == "" {
						f.Name = sf.attr("name")
					}
				}
			}
			for _, of := range bo.Operation.Faults {
				if of.Name == f.Name {
					f.Fault = of
				}
			}
			if f.Fault == nil {
				err = fmt.Errorf("%s: fault %q of binding operation %s not declared by the port type operation", c.pos(), f.Name, bo.Name)
			}
			bo.Faults = append(bo.Faults, f)
		}
		if err != nil {
			return nil, err
		}
	}
	return bo, nil
}

// parseBindingMessage reads the SOAP extensions of a binding input or output. io is the
// abstract message it binds (nil when the port type omits it).
func (l *loader) parseBindingMessage(n *node, io *IOMessage, tns string) (*BindingMessage, error) {
	bm := &BindingMessage{}
	var walk func(*node) error
	walk = func(parent *node) error {
		for _, c := range parent.children {
			if soapVersionOf(c) == NotSOAP {
				// mime:multipartRelated/mime:part wrap the SOAP body in MIME bindings.
				if c.name.Local == "multipartRelated" || c.name.Local == "part" {
					if err := walk(c); err != nil {
						return err
					}
				}
				continue
			}
			switch c.name.Local {
			case "body":
				bm.Body = &Body{Use: parseUse(c.attr("use")), Namespace: c.attr("namespace"), EncodingStyle: c.attr("encodingStyle")}
				if parts, ok := c.lookupAttr(xml.Name{Local: "parts"}); ok {
					bm.Body.Parts = strings.Fields(parts)
				}
				if io != nil && io.Message != nil {
					for _, p := range bm.Body.Parts {
						if io.Message.Part(p) == nil {
							return fmt.Errorf("%s: soap:body part %q not in message %s", c.pos(), p, fmtName(io.Message.Name))
						}
					}
				}
			case "header":
				h, err := l.parseHeader(c, tns)
				if err != nil {
					return err
				}
				bm.Headers = append(bm.Headers, h)
			}
		}
		return nil
	}
	return bm, walk(n)
}

// parseHeader reads a soap:header or soap:headerfault.
func (l *loader) parseHeader(n *node, tns string) (*Header, error) {
	h := &Header{Use: parseUse(n.attr("use")), Namespace: n.attr("namespace"), EncodingStyle: n.attr("encodingStyle")}
	var (
		name xml.Name
		err  error
	)
	if h.Message, name, err = wsdlRef(l.defs.messages, n, "message", tns); err != nil {
		return nil, err
	}
	if h.Message == nil {
		return nil, fmt.Errorf("%s: message %s referenced by soap:%s not found", n.pos(), fmtName(name), n.name.Local)
	}
	if h.Part = h.Message.Part(n.attr("part")); h.Part == nil {
		return nil, fmt.Errorf("%s: part %q referenced by soap:%s not in message %s", n.pos(), n.attr("part"), n.name.Local, fmtName(name))
	}
	for _, c := range n.children {
		if c.name.Local == "headerfault" && soapVersionOf(c) != NotSOAP {
			hf, err := l.parseHeader(c, tns)
			if err != nil {
				return nil, err
			}
			h.Faults = append(h.Faults, hf)
		}
	}
	return h, nil
}

func (l *loader) parseService(n *node, tns string) {
	s := &Service{Name: xml.Name{Space: tns, Local: n.attr("name")}, Doc: docOf(n)}
	l.defs.Services = append(l.defs.Services, s)
	for _, c := range n.children {
		if !isW(c, "port") {
			continue
		}
		p := &Port{Name: c.attr("name"), Doc: docOf(c)}
		for _, a := range c.children {
			if a.name.Local == "address" {
				p.Address = a.attr("location")
			}
		}
		s.Ports = append(s.Ports, p)
		l.fixup(phaseWSDLPorts, func() error {
			var (
				name xml.Name
				err  error
			)
			if p.Binding, name, err = wsdlRef(l.defs.bindings, c, "binding", tns); err != nil {
				return err
			}
			if p.Binding == nil {
				return fmt.Errorf("%s: binding %s referenced by port %s of service %s not found", c.pos(), fmtName(name), p.Name, s.Name.Local)
			}
			return nil
		})
	}
}

// fmtName formats a qualified name as {namespace}local.
func fmtName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}
