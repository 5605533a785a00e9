package wsdl

import "encoding/xml"

// WSDL and SOAP binding namespaces.
const (
	// WSDLNS is the WSDL 1.1 namespace.
	WSDLNS = "http://schemas.xmlsoap.org/wsdl/"
	// SOAP11BindingNS is the WSDL SOAP 1.1 binding namespace (soap:binding, soap:body…).
	SOAP11BindingNS = "http://schemas.xmlsoap.org/wsdl/soap/"
	// SOAP12BindingNS is the WSDL SOAP 1.2 binding namespace.
	SOAP12BindingNS = "http://schemas.xmlsoap.org/wsdl/soap12/"
)

// Definitions is a loaded WSDL 1.1 document with everything it imports, every reference
// resolved. Components are in document order (imported documents first); lookups are
// by qualified name.
type Definitions struct {
	// Name and TargetNamespace are the root document's.
	Name            string
	TargetNamespace string
	// Location is the root document's path or URL.
	Location string
	Doc      string
	// Documents lists every document read, root first.
	Documents []string
	Messages  []*Message
	PortTypes []*PortType
	Bindings  []*Binding
	Services  []*Service
	// Schemas holds every XSD schema: inline, imported and included.
	Schemas *SchemaSet

	messages  map[xml.Name]*Message
	portTypes map[xml.Name]*PortType
	bindings  map[xml.Name]*Binding
}

// Message looks a wsdl:message up by qualified name; nil when absent.
func (d *Definitions) Message(name xml.Name) *Message { return d.messages[name] }

// PortType looks a wsdl:portType up by qualified name; nil when absent.
func (d *Definitions) PortType(name xml.Name) *PortType { return d.portTypes[name] }

// Binding looks a wsdl:binding up by qualified name; nil when absent.
func (d *Definitions) Binding(name xml.Name) *Binding { return d.bindings[name] }

// Message is a wsdl:message.
type Message struct {
	Name  xml.Name
	Parts []*Part
	Doc   string
}

// Part returns the part named name, or nil.
func (m *Message) Part(name string) *Part {
	for _, p := range m.Parts {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Part is a wsdl:part: either an element reference (document style) or a type
// reference (rpc style). Exactly one of Element and Type is set after Load.
type Part struct {
	Name string
	// ElementName and Element: element= and its resolved global declaration.
	ElementName xml.Name
	Element     *Element
	// TypeName and Type: type= and its resolved definition.
	TypeName xml.Name
	Type     Type
}

// PortType is a wsdl:portType: an abstract interface.
type PortType struct {
	Name       xml.Name
	Operations []*Operation
	Doc        string
}

// Operation is an abstract operation of a port type.
type Operation struct {
	Name string
	Doc  string
	// ParameterOrder is the parameterOrder attribute split on spaces (rpc hint).
	ParameterOrder []string
	// Input and Output are nil when absent; an operation with Input and no Output is
	// one-way.
	Input, Output *IOMessage
	Faults        []*IOMessage
}

// IOMessage is an operation's input, output or fault: a name and its message.
type IOMessage struct {
	// Name is the name= attribute; for faults it is required and is how binding faults
	// refer to them.
	Name    string
	Message *Message
}

// SOAPVersion is the SOAP version of a binding.
type SOAPVersion int

// SOAP versions. NotSOAP marks a binding without a SOAP binding element (e.g. HTTP).
const (
	NotSOAP SOAPVersion = iota
	SOAP11
	SOAP12
)

// String returns "SOAP 1.1", "SOAP 1.2" or "not SOAP".
func (v SOAPVersion) String() string {
	switch v {
	case SOAP11:
		return "SOAP 1.1"
	case SOAP12:
		return "SOAP 1.2"
	}
	return "not SOAP"
}

// Style is the SOAP binding style.
type Style int

// Binding styles; Document is the WSDL default.
const (
	Document Style = iota
	RPC
)

// String returns "document" or "rpc".
func (s Style) String() string {
	if s == RPC {
		return "rpc"
	}
	return "document"
}

// Use is the use= of a SOAP body, header or fault.
type Use int

// Uses; Literal is the default.
const (
	Literal Use = iota
	Encoded
)

// String returns "literal" or "encoded".
func (u Use) String() string {
	if u == Encoded {
		return "encoded"
	}
	return "literal"
}

// Binding is a wsdl:binding with its SOAP extension elements.
type Binding struct {
	Name     xml.Name
	PortType *PortType
	// SOAPVersion is NotSOAP for a binding without soap:binding/soap12:binding.
	SOAPVersion SOAPVersion
	// Style is the binding's default style (Document when unspecified).
	Style Style
	// Transport is the soap:binding transport URI.
	Transport  string
	Operations []*BindingOperation
	Doc        string
}

// BindingOperation is an operation of a binding, resolved against its port type.
type BindingOperation struct {
	Name      string
	Operation *Operation
	// Action is soapAction (SOAP 1.1) or soapAction/action (SOAP 1.2); may be "".
	Action string
	// Style is the effective style: the operation's style=, else the binding's.
	Style         Style
	Input, Output *BindingMessage
	Faults        []*BindingFault
}

// BindingMessage is the SOAP binding of an operation's input or output.
type BindingMessage struct {
	Body    *Body
	Headers []*Header
}

// Body is a soap:body.
type Body struct {
	Use Use
	// Parts are the parts= names; nil means every part of the message.
	Parts []string
	// Namespace is namespace= (the rpc wrapper's namespace, or of encoded parts).
	Namespace     string
	EncodingStyle string
}

// Header is a soap:header: a message part carried in the SOAP header.
type Header struct {
	Message       *Message
	Part          *Part
	Use           Use
	Namespace     string
	EncodingStyle string
	// Faults are the soap:headerfault entries.
	Faults []*Header
}

// BindingFault is the binding of a fault: its soap:fault and the abstract fault.
type BindingFault struct {
	Name          string
	Fault         *IOMessage
	Use           Use
	Namespace     string
	EncodingStyle string
}

// Service is a wsdl:service.
type Service struct {
	Name  xml.Name
	Ports []*Port
	Doc   string
}

// Port is a wsdl:port: a binding at an address.
type Port struct {
	Name    string
	Binding *Binding
	// Address is the soap:address (or soap12:address, http:address) location.
	Address string
	Doc     string
}
