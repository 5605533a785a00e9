// Package xmlcodec maps protobuf messages to XML and back, driven by the
// message descriptor and the (protobridge.v1.xml) field options and
// (protobridge.v1.xml_root) message options — never by guessing. It is the
// SOAP adapter's body codec and the contract `protobridge gen wsdl` emits
// .proto files for.
//
// Compile a message type once into a Plan (immutable, safe for concurrent
// use), then encode with a Writer and decode with a Decoder:
//
//	p, err := xmlcodec.Compile(md)
//	w := xmlcodec.NewWriter()
//	err = p.EncodeElement(w, xml.Name{Space: ns, Local: "GetQuote"}, msg)
//	d := xmlcodec.NewDecoder(body, xmlcodec.Limits{})
//	start, err := d.Root()
//	err = p.DecodeElement(d, start, out)
//
// # Mapping rules (what the generator must emit)
//
// Elements. Every field is an element named by xml.name (default: the proto
// field name) in namespace xml.namespace; an empty namespace means
// unqualified — nothing is inherited from the parent, so the generator sets
// namespace on every element that elementFormDefault/form/ref qualifies.
// Elements are written in field declaration order (the generator declares
// fields in schema order; field numbers may differ, for stability). Decoding
// accepts any order and compares namespace URIs, never prefixes.
//
// Presence. A field with presence (proto3 `optional`, a message, a oneof
// member) is written only when set: minOccurs="0" elements are `optional`. A
// scalar without presence is always written, zero value included: it is a
// required element. An enum without presence at a zero value that has no XSD
// literal (X_UNSPECIFIED) is omitted. A required numeric, date or time
// string (xsd:decimal, xsd:integer, xsd:dateTime, ...) left empty fails to
// encode.
//
// Repeated fields are runs of elements; with xml.wrapped they sit in one
// wrapper element named xml.name whose children are named xml.item (same
// namespace). An empty list writes nothing.
//
// Attributes (xml.attribute) are singular scalars; unqualified unless
// xml.namespace is set. Undeclared attributes are ignored on input.
//
// Text (xml.text) is the element's character data, for XSD simpleContent
// (a message holding attributes plus one text field; it has no element
// fields). Strings keep their text verbatim; other types and string fields
// whose xsd_type is not xsd:string/normalizedString have whitespace collapsed.
//
// Raw (xml.raw, one singular string or bytes field per message) is xs:any or
// mixed content: on input, every child element the message does not declare,
// or that repeats a singular field or a choice already filled (a Salesforce
// record's second sf:Id), and any non-blank text, is appended to it as
// self-contained XML (each top-level element declares the namespaces it
// uses; prefixes may change, xsi:type values are re-prefixed); on output its
// content is written verbatim at the field's position after a
// well-formedness check (it must declare the prefixes it uses). For an
// element of type xs:anyType the
// generator emits a message with a single raw field.
//
// Choice (xs:choice) is a oneof: the set member is written; decoding sets the
// member whose element appears.
//
// Repeated choice ((a|b|c)*) is a repeated message field with xml.xsd_type
// "{http://www.w3.org/2001/XMLSchema}choice" and no name: each item is a
// message whose fields are the members of one oneof, the alternatives. The
// field has no element of its own: each item is written as its set
// alternative's element in the parent, in list order, and each alternative's
// element read appends an item, so the order of the alternatives survives
// both ways. An item with no alternative set fails to encode.
//
// # Nil (xsi:nil)
//
// Absence, empty and nil stay distinct. A field with xml.nillable gets a
// companion nil marker field named <field>_nil that has no XML mapping of its
// own:
//
//   - singular field: `bool <field>_nil`; true writes <field xsi:nil="true"/>
//     (with the message's attributes, if any) whatever the field holds;
//   - repeated field: `repeated uint32 <field>_nil` lists the indexes of nil
//     items; the list keeps a zero placeholder at each such index.
//
// So for `optional string name = 5 [(protobridge.v1.xml) = {nillable: true}];
// bool name_nil = 6;`: name unset and name_nil false → no element; name "" →
// <name/>; name_nil true → <name xsi:nil="true"/>. Without a marker, a nil
// element decodes as absent (a zero item in a list).
//
// # Scalars and xsd_type
//
// xml.xsd_type ("{http://www.w3.org/2001/XMLSchema}decimal", or the "xsd:"
// shorthand) selects exact lexical handling:
//
//   - xsd:decimal, xsd:integer and its subtypes (long, unsignedLong, ...) are
//     kept in string fields exactly as written (whitespace trimmed, lexical
//     form checked when written) — never through float64; the generator maps
//     integers that fit to int32/int64/uint32/uint64 fields, which are
//     parsed exactly ("+7" accepted, hex refused);
//   - xsd:boolean: "true"/"1", "false"/"0"; written as "true"/"false";
//   - xsd:dateTime, date, time, gYearMonth, gYear, gMonthDay, gDay, gMonth
//     and duration: kept verbatim (zone included, whitespace collapsed) in a
//     string field, checked against the type's lexical form when written, so
//     that "2024-02-30" or "2024-05-01 10:00" fails naming the field; or, for
//     xsd:dateTime, a google.protobuf.Timestamp (written RFC 3339 in UTC; a
//     value without zone is read as UTC);
//   - xsd:base64Binary (default for bytes) and xsd:hexBinary: bytes fields;
//   - xsd:float/double: float/double fields with INF, -INF and NaN;
//   - google.protobuf wrapper types (Int64Value, StringValue, ...) map as their
//     scalar, with presence.
//
// # Tolerant reading
//
// What is written is always in the XSD lexical space. What is read may be
// spelled the way the server's platform prints numbers; beyond the XSD forms
// a reply may hold:
//
//   - float and double fields: nan, inf, +inf, -inf, infinity, +infinity and
//     -infinity in any letter case (never hex floats or digit separators);
//   - xsd:decimal strings: scientific notation ("1E+3", "-2.5e-1"),
//     rewritten exactly as a decimal by moving the point ("1000", "-0.25"),
//     the digits as sent; NaN and infinities have no decimal value and fail,
//     as do exponents beyond ±1000;
//   - integer strings and int32/int64/uint32/uint64 fields: a decimal or
//     scientific form with an integral value ("5.0", "1E+3" → 5, 1000);
//     "5.5" fails;
//   - booleans: any letter case ("True", "FALSE");
//   - date, time and duration strings: kept as sent, unchecked.
//
// # Enums
//
// An enum value's XSD literal is its `(protobridge.v1.xml_value)` option
// when present, otherwise its name without the enum's SCREAMING_SNAKE
// prefix: in `enum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1;
// COLOR_DARK_BLUE = 2 [(protobridge.v1.xml_value) = "dark-blue"]; }` the
// literals are "RED" and "dark-blue", and COLOR_UNSPECIFIED has none.
// Decoding matches literals exactly, surrounding whitespace trimmed; two
// values with one literal are an error.
//
// # Polymorphism (xsi:type)
//
// A field whose XSD type has derived types is a google.protobuf.Any
// (repeated when the element repeats), with xml.xsd_type naming the declared
// base type. The message it holds must declare xml_root.xsd_type; it is
// written with xsi:type set to that type, and on input xsi:type (or, without
// one, the field's xsd_type) selects the message among those declaring
// xml_root.xsd_type in the compiled message's file and its imports. A plain
// message field ignores xsi:type on input and never writes one. Any was chosen
// over a oneof of derived types because it also works for repeated fields
// and for type hierarchies that grow.
//
// # Decoding limits and errors
//
// Decoders are strict by default (an undeclared element fails with its
// path, "/Envelope/Body/GetQuote/foo"; Lax skips it). A second element for
// a singular field, or a second alternative of a choice, counts as
// undeclared: it goes to the raw field when the message has one, else fails
// (Lax: is skipped); it never overwrites the first. Decoders refuse DOCTYPE and
// entity declarations, expand only the predefined entities, and bound
// nesting depth, text size and total size (Limits). Every failure is an
// *Error whose Kind the caller maps to a status; malformed or truncated
// input never panics.
package xmlcodec
