package wsdl

import (
	"encoding/xml"
	"slices"
)

// Endpoint is one SOAP port of a service with its binding's operations flattened: what
// an adapter needs to call it and a generator needs to describe it.
type Endpoint struct {
	Service     *Service
	Port        *Port
	Binding     *Binding
	Address     string
	SOAPVersion SOAPVersion
	Operations  []*EndpointOperation
}

// Operation returns the endpoint's operation named name, or nil.
func (e *Endpoint) Operation(name string) *EndpointOperation {
	for _, op := range e.Operations {
		if op.Name == name {
			return op
		}
	}
	return nil
}

// EndpointOperation is a bound operation with resolved messages.
type EndpointOperation struct {
	Name string
	Doc  string
	// Action is the SOAPAction (SOAP 1.1 header, SOAP 1.2 action parameter); may be "".
	Action      string
	Style       Style
	SOAPVersion SOAPVersion
	// OneWay reports an operation without output.
	OneWay bool
	// Wrapped reports document/literal wrapped: document style, literal input whose
	// only body part is an element named like the operation, of a complex type with no
	// attributes. The wrapper element's children are then the operation's parameters.
	Wrapped bool
	// Input is the request; Output the response, nil when OneWay.
	Input, Output *MessageBinding
	Faults        []*FaultBinding
	// Binding is the underlying binding operation.
	Binding *BindingOperation
}

// MessageBinding is a message as carried in a SOAP envelope.
type MessageBinding struct {
	Message *Message
	Use     Use
	// Namespace is soap:body's namespace=; for rpc style without one, the binding's
	// targetNamespace.
	Namespace     string
	EncodingStyle string
	// BodyParts are the parts carried in the body, in message order: those named by
	// soap:body parts=, or without it every part not bound to a soap:header.
	BodyParts []*Part
	// Headers are the parts carried as SOAP header blocks.
	Headers []*Header
	// Wrapper is the qualified name of the single body child that wraps the parts: for
	// rpc style {Namespace}OperationName (input) or {Namespace}OperationNameResponse
	// (output); for document style with one element part, that element's name; zero for
	// document style with several parts, each of which is a body child.
	Wrapper xml.Name
}

// FaultBinding is a fault an operation may return.
type FaultBinding struct {
	Name    string
	Message *Message
	// Part is the fault message's (first) part: its element is the fault detail entry.
	Part      *Part
	Use       Use
	Namespace string
}

// Endpoints returns one Endpoint per SOAP port of every service, in document order.
// Ports whose binding is not SOAP 1.1 or 1.2 (e.g. HTTP GET/POST) are left out.
func (d *Definitions) Endpoints() []*Endpoint {
	var out []*Endpoint
	for _, s := range d.Services {
		for _, p := range s.Ports {
			b := p.Binding
			if b == nil || b.SOAPVersion == NotSOAP {
				continue
			}
			ep := &Endpoint{Service: s, Port: p, Binding: b, Address: p.Address, SOAPVersion: b.SOAPVersion}
			for _, bo := range b.Operations {
				ep.Operations = append(ep.Operations, flattenOperation(b, bo))
			}
			out = append(out, ep)
		}
	}
	return out
}

func flattenOperation(b *Binding, bo *BindingOperation) *EndpointOperation {
	op := bo.Operation
	eo := &EndpointOperation{
		Name: bo.Name, Doc: op.Doc, Action: bo.Action, Style: bo.Style, SOAPVersion: b.SOAPVersion,
		OneWay: op.Output == nil, Binding: bo,
	}
	eo.Input = flattenMessage(op.Input, bo.Input, bo.Style, bo.Name, b.Name.Space)
	eo.Output = flattenMessage(op.Output, bo.Output, bo.Style, bo.Name+"Response", b.Name.Space)
	eo.Wrapped = isWrapped(eo)
	for _, f := range bo.Faults {
		fb := &FaultBinding{Name: f.Name, Message: f.Fault.Message, Use: f.Use, Namespace: f.Namespace}
		if len(fb.Message.Parts) > 0 {
			fb.Part = fb.Message.Parts[0]
		}
		eo.Faults = append(eo.Faults, fb)
	}
	return eo
}

// flattenMessage combines an abstract message with its SOAP binding; wrapperName is the
// rpc wrapper's local name, tns the binding's targetNamespace: the rpc wrapper's
// namespace when soap:body has no namespace= (which WS-I BP R2717 requires; JAX-WS,
// .NET and node-soap fall back to the targetNamespace too).
func flattenMessage(io *IOMessage, bm *BindingMessage, style Style, wrapperName, tns string) *MessageBinding {
	if io == nil {
		return nil
	}
	mb := &MessageBinding{Message: io.Message}
	var parts []string
	if bm != nil {
		mb.Headers = bm.Headers
		if bm.Body != nil {
			mb.Use, mb.Namespace, mb.EncodingStyle, parts = bm.Body.Use, bm.Body.Namespace, bm.Body.EncodingStyle, bm.Body.Parts
		}
	}
	inHeader := map[*Part]bool{}
	for _, h := range mb.Headers {
		if h.Message == io.Message {
			inHeader[h.Part] = true
		}
	}
	for _, p := range io.Message.Parts {
		if parts != nil && !slices.Contains(parts, p.Name) || parts == nil && inHeader[p] {
			continue
		}
		mb.BodyParts = append(mb.BodyParts, p)
	}
	switch {
	case style == RPC:
		if mb.Namespace == "" {
			mb.Namespace = tns
		}
		mb.Wrapper = xml.Name{Space: mb.Namespace, Local: wrapperName}
	case len(mb.BodyParts) == 1 && mb.BodyParts[0].Element != nil:
		mb.Wrapper = mb.BodyParts[0].Element.Name
	}
	return mb
}

// isWrapped applies the usual document/literal wrapped detection to eo's input.
func isWrapped(eo *EndpointOperation) bool {
	in := eo.Input
	if eo.Style != Document || in == nil || in.Use != Literal || len(in.BodyParts) != 1 {
		return false
	}
	e := in.BodyParts[0].Element
	if e == nil || e.Name.Local != eo.Name {
		return false
	}
	ct, ok := e.Type.(*ComplexType)
	return ok && len(ct.Attributes) == 0 && ct.ContentKind != SimpleContent && ct.ContentKind != MixedContent
}
