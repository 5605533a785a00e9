package wsdl

import "encoding/xml"

// Kind identifies an XSD built-in simple type; derived types carry the Kind of their
// nearest built-in ancestor so codecs can choose a representation (see DESIGN §5: keep
// decimal and integer exact, e.g. as strings).
type Kind int

// Built-in kinds, one per XSD built-in type, plus KindAnyType for xs:anyType.
const (
	KindAnySimpleType Kind = iota
	KindAnyType
	KindString
	KindNormalizedString
	KindToken
	KindLanguage
	KindName
	KindNCName
	KindID
	KindIDREF
	KindIDREFS
	KindENTITY
	KindENTITIES
	KindNMTOKEN
	KindNMTOKENS
	KindBoolean
	KindDecimal
	KindInteger
	KindNonPositiveInteger
	KindNegativeInteger
	KindLong
	KindInt
	KindShort
	KindByte
	KindNonNegativeInteger
	KindUnsignedLong
	KindUnsignedInt
	KindUnsignedShort
	KindUnsignedByte
	KindPositiveInteger
	KindFloat
	KindDouble
	KindDuration
	KindDateTime
	KindTime
	KindDate
	KindGYearMonth
	KindGYear
	KindGMonthDay
	KindGDay
	KindGMonth
	KindHexBinary
	KindBase64Binary
	KindAnyURI
	KindQName
	KindNOTATION
)

// kindNames maps each Kind to its XSD local name, and back through builtinKinds.
var kindNames = [...]string{
	KindAnySimpleType: "anySimpleType", KindAnyType: "anyType", KindString: "string",
	KindNormalizedString: "normalizedString", KindToken: "token", KindLanguage: "language",
	KindName: "Name", KindNCName: "NCName", KindID: "ID", KindIDREF: "IDREF",
	KindIDREFS: "IDREFS", KindENTITY: "ENTITY", KindENTITIES: "ENTITIES",
	KindNMTOKEN: "NMTOKEN", KindNMTOKENS: "NMTOKENS", KindBoolean: "boolean",
	KindDecimal: "decimal", KindInteger: "integer",
	KindNonPositiveInteger: "nonPositiveInteger", KindNegativeInteger: "negativeInteger",
	KindLong: "long", KindInt: "int", KindShort: "short", KindByte: "byte",
	KindNonNegativeInteger: "nonNegativeInteger", KindUnsignedLong: "unsignedLong",
	KindUnsignedInt: "unsignedInt", KindUnsignedShort: "unsignedShort",
	KindUnsignedByte: "unsignedByte", KindPositiveInteger: "positiveInteger",
	KindFloat: "float", KindDouble: "double", KindDuration: "duration",
	KindDateTime: "dateTime", KindTime: "time", KindDate: "date",
	KindGYearMonth: "gYearMonth", KindGYear: "gYear", KindGMonthDay: "gMonthDay",
	KindGDay: "gDay", KindGMonth: "gMonth", KindHexBinary: "hexBinary",
	KindBase64Binary: "base64Binary", KindAnyURI: "anyURI", KindQName: "QName",
	KindNOTATION: "NOTATION",
}

// String returns the XSD local name of the built-in type, e.g. "dateTime".
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(?)"
}

// builtinLists are the built-in list types and their item kinds.
var builtinLists = map[Kind]Kind{KindIDREFS: KindIDREF, KindENTITIES: KindENTITY, KindNMTOKENS: KindNMTOKEN}

// builtinTypes holds the shared built-in type values, keyed by qualified name. Built-ins
// exist in the XSD namespace and, for SOAP-encoded WSDLs, under the same local names in
// the SOAP 1.1 encoding namespace. "ur-type" is the SOAP-encoding alias of anyType.
var builtinTypes = func() map[xml.Name]Type {
	m := make(map[xml.Name]Type)
	for k, local := range kindNames {
		kind := Kind(k)
		for _, ns := range []string{XSDNS, SOAPEncNS} {
			name := xml.Name{Space: ns, Local: local}
			if kind == KindAnyType {
				m[name] = anyTypeDef(name)
				continue
			}
			st := &SimpleType{Name: name, Builtin: true, Kind: kind}
			if _, ok := builtinLists[kind]; ok {
				st.Variety = List
			}
			m[name] = st
		}
	}
	for name, t := range m {
		if st, ok := t.(*SimpleType); ok && st.Variety == List {
			st.Item = m[xml.Name{Space: name.Space, Local: builtinLists[st.Kind].String()}].(*SimpleType)
		}
	}
	m[xml.Name{Space: XSDNS, Local: "ur-type"}] = anyTypeDef(xml.Name{Space: XSDNS, Local: "ur-type"})
	// soapenc:Array and soapenc:Struct: any content, any attributes.
	for _, local := range []string{"Array", "Struct"} {
		m[xml.Name{Space: SOAPEncNS, Local: local}] = anyTypeDef(xml.Name{Space: SOAPEncNS, Local: local})
	}
	return m
}()

// anyTypeDef returns the definition of xs:anyType under name: mixed content of any
// elements with any attributes.
func anyTypeDef(name xml.Name) *ComplexType {
	content := &ModelGroup{Kind: Sequence, MinOccurs: 1, MaxOccurs: 1, Particles: []Particle{
		&Any{Namespace: "##any", ProcessContents: Lax, MinOccurs: 0, MaxOccurs: Unbounded},
	}}
	return &ComplexType{
		Name: name, Mixed: true, ContentKind: MixedContent,
		Content: content, DeclaredContent: content,
		AnyAttribute: &Any{Namespace: "##any", ProcessContents: Lax, MinOccurs: 1, MaxOccurs: 1},
		state:        resolved,
	}
}

// builtinAttributes are attributes usable by ref= without importing their schema: the
// xml: attributes and soapenc:arrayType/offset.
var builtinAttributes = func() map[xml.Name]*Attribute {
	str := builtinTypes[xml.Name{Space: XSDNS, Local: "string"}].(*SimpleType)
	m := make(map[xml.Name]*Attribute)
	for _, n := range []xml.Name{
		{Space: xmlNS, Local: "lang"}, {Space: xmlNS, Local: "space"},
		{Space: xmlNS, Local: "base"}, {Space: xmlNS, Local: "id"},
		{Space: SOAPEncNS, Local: "arrayType"}, {Space: SOAPEncNS, Local: "offset"},
		{Space: SOAP12EncNS, Local: "arraySize"}, {Space: SOAP12EncNS, Local: "itemType"},
	} {
		m[n] = &Attribute{Name: n, Type: str, TypeName: str.Name}
	}
	return m
}()

// anyTypeName and anySimpleTypeName are the defaults for untyped declarations.
var (
	anyTypeName       = xml.Name{Space: XSDNS, Local: "anyType"}
	anySimpleTypeName = xml.Name{Space: XSDNS, Local: "anySimpleType"}
)
