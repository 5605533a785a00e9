package wsdl

import "encoding/xml"

// Namespaces the model knows.
const (
	// XSDNS is the XML Schema namespace.
	XSDNS = "http://www.w3.org/2001/XMLSchema"
	// XSINS is the XML Schema instance namespace (xsi:type, xsi:nil).
	XSINS = "http://www.w3.org/2001/XMLSchema-instance"
	// SOAPEncNS is the SOAP 1.1 encoding namespace (soapenc:Array, soapenc:arrayType).
	SOAPEncNS = "http://schemas.xmlsoap.org/soap/encoding/"
	// SOAP12EncNS is the SOAP 1.2 encoding namespace.
	SOAP12EncNS = "http://www.w3.org/2003/05/soap-encoding"
	xmlNS       = "http://www.w3.org/XML/1998/namespace"
)

// Unbounded is the MaxOccurs value of maxOccurs="unbounded".
const Unbounded = -1

// Type is a resolved XSD type definition: *SimpleType or *ComplexType. Named types are
// shared, so a recursive type refers to itself by pointer; walk by name or keep a
// visited set.
type Type interface {
	// TypeName is the qualified name of the type; the zero Name for an anonymous type.
	TypeName() xml.Name
	isType()
}

// Particle is one item of a content model: *Element, *ModelGroup or *Any.
type Particle interface {
	// Occurs returns minOccurs and maxOccurs (Unbounded for "unbounded").
	Occurs() (min, max int)
	isParticle()
}

// Form is the qualification of a local element or attribute.
type Form int

// Forms.
const (
	Unqualified Form = iota
	Qualified
)

// Element is an element declaration: global (top-level, always qualified) or local (in a
// content model). For a reference (ref="p:foo") the declaration's fields are copied from
// the global element and Ref points at it, while MinOccurs/MaxOccurs are the
// reference's own.
type Element struct {
	// Name is the element's qualified name as it appears in instances: Space is the
	// target namespace for global and qualified local elements, "" for unqualified ones.
	Name xml.Name
	// TypeName is the declared type= QName; zero for an anonymous (inline) type or when
	// no type is given.
	TypeName xml.Name
	// Type is the resolved type: named, anonymous, or xs:anyType when none is declared
	// (or the substitution group head's type). Never nil after Load.
	Type Type
	// Ref is the global declaration this particle refers to, nil unless ref= was used.
	Ref *Element
	// Global reports a top-level declaration.
	Global bool
	// MinOccurs and MaxOccurs are the occurrence bounds (1 and 1 by default); MaxOccurs
	// is Unbounded for "unbounded". Meaningless on a global declaration.
	MinOccurs, MaxOccurs int
	// Nillable, Abstract: the declaration's flags.
	Nillable, Abstract bool
	// Default and Fixed hold the value constraint; nil when absent.
	Default, Fixed *string
	// SubstitutionGroup is the head this global element may substitute for.
	SubstitutionGroup xml.Name
	// Doc is the text of the declaration's xs:annotation/xs:documentation.
	Doc string

	refName xml.Name
	schema  *Schema
}

// Occurs implements Particle.
func (e *Element) Occurs() (min, max int) { return e.MinOccurs, e.MaxOccurs }
func (*Element) isParticle()              {}

// Repeated reports whether the element may occur more than once.
func (e *Element) Repeated() bool { return e.MaxOccurs == Unbounded || e.MaxOccurs > 1 }

// GroupKind is the compositor of a model group.
type GroupKind int

// Compositors.
const (
	Sequence GroupKind = iota
	Choice
	All
)

// String returns "sequence", "choice" or "all".
func (k GroupKind) String() string {
	switch k {
	case Choice:
		return "choice"
	case All:
		return "all"
	}
	return "sequence"
}

// ModelGroup is a sequence, choice or all with its occurrence bounds. A reference to a
// named group (xs:group ref=) is a ModelGroup too: Ref names the group, Kind and
// Particles are the group's, MinOccurs/MaxOccurs the reference's.
type ModelGroup struct {
	Kind                 GroupKind
	MinOccurs, MaxOccurs int
	Particles            []Particle
	// Ref names the xs:group this came from; zero for an inline compositor.
	Ref xml.Name
	// Circular is set on a group reference that would make the group contain itself
	// (invalid XSD, but found in the wild); its Particles are then empty.
	Circular bool
}

// Occurs implements Particle.
func (g *ModelGroup) Occurs() (min, max int) { return g.MinOccurs, g.MaxOccurs }
func (*ModelGroup) isParticle()              {}

// ProcessContents is the validation mode of a wildcard.
type ProcessContents int

// Wildcard validation modes.
const (
	Strict ProcessContents = iota
	Lax
	Skip
)

// Any is an element wildcard (xs:any) or, in ComplexType.AnyAttribute, an attribute
// wildcard. Codecs keep matched content as raw XML.
type Any struct {
	// Namespace is the namespace constraint as written: "##any" (default), "##other",
	// or a list of URIs, "##targetNamespace" and "##local".
	Namespace string
	// TargetNamespace is the namespace of the schema declaring the wildcard, against
	// which "##other" and "##targetNamespace" are interpreted.
	TargetNamespace string
	ProcessContents ProcessContents
	// MinOccurs and MaxOccurs bound an element wildcard (1 and 1 by default).
	MinOccurs, MaxOccurs int
}

// Occurs implements Particle.
func (a *Any) Occurs() (min, max int) { return a.MinOccurs, a.MaxOccurs }
func (*Any) isParticle()              {}

// AttributeUse is the use= of an attribute.
type AttributeUse int

// Attribute uses.
const (
	Optional AttributeUse = iota
	Required
	Prohibited
)

// Attribute is an attribute declaration or use. For ref= the declaration's fields are
// copied from the global attribute and Ref points at it.
type Attribute struct {
	// Name is the attribute's qualified name in instances: Space is the target namespace
	// for global and qualified attributes, "" for unqualified (the usual case).
	Name     xml.Name
	TypeName xml.Name
	// Type is the resolved simple type; xs:anySimpleType when none is declared.
	Type *SimpleType
	Ref  *Attribute
	Use  AttributeUse
	// Default and Fixed hold the value constraint; nil when absent.
	Default, Fixed *string
	Doc            string
	// ArrayType is the wsdl:arrayType annotation of a soapenc:arrayType attribute, as
	// written (e.g. "tns:Item[]"); see ComplexType.ArrayType for the resolved form.
	ArrayType string

	refName xml.Name
	n       *node
}

// Derivation is how a complex type is derived from its base.
type Derivation int

// Derivations.
const (
	// NoDerivation: the type declares its content directly (base xs:anyType).
	NoDerivation Derivation = iota
	Extension
	Restriction
)

// ContentKind classifies a complex type's content.
type ContentKind int

// Content kinds.
const (
	// EmptyContent: attributes only.
	EmptyContent ContentKind = iota
	// SimpleContent: character data of type ComplexType.Value, plus attributes.
	SimpleContent
	// ElementContent: child elements described by ComplexType.Content.
	ElementContent
	// MixedContent: child elements interleaved with character data (mixed="true").
	MixedContent
)

// ComplexType is a complex type definition, global or anonymous. Content and Attributes
// are effective: an extension's content is its base's particles followed by its own,
// and its attributes are the base's followed by its own; a restriction restates its
// content and overrides base attributes by name.
type ComplexType struct {
	// Name is zero for an anonymous type.
	Name     xml.Name
	Abstract bool
	Mixed    bool
	Doc      string
	// Derivation and Base describe complexContent/simpleContent derivation; Base is nil
	// for NoDerivation.
	Derivation Derivation
	BaseName   xml.Name
	Base       Type
	// ContentKind says which of Content and Value applies.
	ContentKind ContentKind
	// Content is the effective content model, a sequence/choice/all; nil when empty.
	Content *ModelGroup
	// DeclaredContent is the content model written in this type alone.
	DeclaredContent *ModelGroup
	// Value is the type of the character data of a SimpleContent type.
	Value *SimpleType
	// Attributes are the effective attribute uses in order, attribute groups expanded,
	// prohibited ones removed.
	Attributes []*Attribute
	// AnyAttribute is the effective attribute wildcard, nil when none.
	AnyAttribute *Any
	// ArrayType is the item type of a SOAP-encoded array (a restriction of
	// soapenc:Array with wsdl:arrayType="tns:Item[]"); zero otherwise. ArrayDims keeps
	// the brackets as written ("[]", "[][]", "[,]").
	ArrayType xml.Name
	ArrayDims string

	schema    *Schema
	n         *node
	attrItems []attrItem
	anyAttr   *Any
	state     resolveState
}

// TypeName implements Type.
func (t *ComplexType) TypeName() xml.Name { return t.Name }
func (*ComplexType) isType()              {}

// Variety is the variety of a simple type.
type Variety int

// Varieties.
const (
	Atomic Variety = iota
	List
	Union
)

// SimpleType is a simple type definition: a built-in, or a restriction, list or union.
type SimpleType struct {
	// Name is zero for an anonymous type.
	Name xml.Name
	Doc  string
	// Builtin reports one of the XSD (or SOAP-encoding) built-in types.
	Builtin bool
	Variety Variety
	// Kind is the built-in type the value space derives from: for an atomic type the
	// nearest built-in ancestor, for a list its item's Kind, for a union the members'
	// common Kind or KindAnySimpleType when they differ.
	Kind Kind
	// BaseName and Base name the restricted type (nil for built-ins, lists and unions).
	BaseName xml.Name
	Base     *SimpleType
	// Item is the item type of a list.
	Item *SimpleType
	// Members are the member types of a union, in order.
	Members []*SimpleType
	// Facets are the effective facets: the type's own, inheriting the base's where it
	// sets none.
	Facets Facets

	n           *node
	itemName    xml.Name
	memberNames []xml.Name
	state       resolveState
}

// TypeName implements Type.
func (t *SimpleType) TypeName() xml.Name { return t.Name }
func (*SimpleType) isType()              {}

// Facets are the constraining facets of a simple type. Numeric limits are kept as the
// literal text because their type is the base type's.
type Facets struct {
	Enumeration                                            []Enumeration
	Patterns                                               []string
	Length, MinLength, MaxLength                           *int
	TotalDigits, FractionDigits                            *int
	MinInclusive, MaxInclusive, MinExclusive, MaxExclusive *string
	WhiteSpace                                             string
}

// Enumeration is one enumerated value with its documentation.
type Enumeration struct {
	Value string
	Doc   string
}

// Group is a named model group definition (xs:group name=).
type Group struct {
	Name    xml.Name
	Content *ModelGroup
	Doc     string

	state resolveState
}

// AttributeGroup is a named attribute group definition (xs:attributeGroup name=).
type AttributeGroup struct {
	Name xml.Name
	// Attributes are the group's attribute uses, nested groups expanded.
	Attributes   []*Attribute
	AnyAttribute *Any

	schema *Schema
	n      *node
	items  []attrItem
	state  resolveState
}

// attrItem is an attribute use or an attributeGroup reference, in document order.
type attrItem struct {
	attr     *Attribute
	groupRef xml.Name
	n        *node
}

// Schema is one xs:schema: a file or an inline block in wsdl:types. Its components are
// in document order; look components up across all schemas with SchemaSet.
type Schema struct {
	// TargetNamespace is the effective target namespace (the includer's for a chameleon
	// include).
	TargetNamespace string
	// Location names where the schema came from: a file path or URL, with "#types[i]"
	// appended for the i-th inline schema of a WSDL.
	Location             string
	ElementFormDefault   Form
	AttributeFormDefault Form
	Elements             []*Element
	Types                []Type
	Attributes           []*Attribute
	Groups               []*Group
	AttributeGroups      []*AttributeGroup
}

type resolveState uint8

const (
	unresolved resolveState = iota
	resolving
	resolved
)
