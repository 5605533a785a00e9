// Package protogen turns a loaded WSDL (package wsdl) into a .proto file that
// protobridge serves: `protobridge gen wsdl` is its command line. The output follows
// the XML mapping of package xmlcodec (read its documentation for what each option
// means on the wire) and passes buf lint's STANDARD rules.
//
// # Services and methods
//
// Each wsdl:service becomes a proto service named after it with a "Service" suffix
// (one per port type when a service mixes port types, named after the port); the
// first SOAP 1.1 or 1.2 port of a port type is used, so a WSDL with both a SOAP 1.1
// and a SOAP 1.2 port yields one service. A WSDL without a SOAP binding yields a
// file of messages only. Every service carries (protobridge.v1.service).upstream
// (Options.Upstream, default the service name in lower_snake_case). Each bound
// operation becomes an rpc named after it (PascalCase), taking <Rpc>Request and
// returning <Rpc>Response (<Service><Rpc>Request when the name is taken), with
// (protobridge.v1.route).soap filled in: operation, action, version, style,
// namespace (rpc), request_element and response_element as "{ns}local" (the body's
// single child: the wrapper, the rpc wrapper, or a bare part's element), wrapped,
// header_fields and one_way.
//
//   - document/literal wrapped (input and output each one element whose type has
//     element content and no attributes): the request and response fields are the
//     wrapper elements' children, and wrapped is true;
//   - bare document and rpc: one field per body part; an element part keeps its
//     element's name and namespace, a type part is an unqualified element named after
//     the part;
//   - input soap:header parts are further request fields, named in header_fields,
//     each with presence (a scalar one is proto3 optional), so an unset header field
//     sends no header block;
//     output soap:header parts are further response fields, listed in the response
//     message's comment: SoapOperation has no response-side header_fields, so the
//     adapter decodes each header block of a reply into the response field of the
//     same element name. A header part whose element a body field already maps is
//     left out with a warning;
//   - a one-way operation returns an empty <Rpc>Response.
//
// # Messages and fields
//
// A named complex type becomes a top-level message carrying
// (protobridge.v1.xml_root).xsd_type; a global element with an anonymous type a
// top-level message carrying xml_root root and namespace; a local anonymous type a
// message nested in its parent. Fields follow the content model in schema order and
// every element field states its XML name and namespace in (protobridge.v1.xml)
// (namespace omitted when unqualified). Field numbers come from the lock (see Lock),
// so they may not follow the field order.
//
//   - maxOccurs > 1 → repeated; minOccurs = 0 → proto3 optional for scalars (messages
//     have presence anyway); an element occurring twice in one content model is one
//     repeated field;
//   - xs:choice occurring once whose branches are single elements → a oneof named
//     <first>_choice;
//   - a repeating xs:choice whose branches are elements (or a repeating group
//     holding only such a choice) → `repeated <First>Choice <first>_choice` with
//     xml.xsd_type "{http://www.w3.org/2001/XMLSchema}choice", where <First>Choice
//     is a nested message holding `oneof choice` of the branches: one item per
//     alternative, so the order of the alternatives is kept both ways (Message,
//     CalendarItem, Message stays so); xmlcodec writes each item as its
//     alternative's element, with no element of its own;
//   - other choices (with group branches, or inside an enclosing repeating group)
//     are flattened: every branch's elements become optional (or, inside a
//     repeating group, repeated) fields of the parent. Interleaving across such a
//     repeated group, or a repeated (a,b)*, is not kept on output: all a's are
//     written before the b's;
//   - nillable elements get xml.nillable and a <field>_nil marker (bool, or repeated
//     uint32 indexes for a repeated field); nillable scalars are optional;
//   - attributes → fields with xml.attribute, optional unless use="required"
//     (a clash with an element's field name gets an "_attr" suffix);
//   - simpleContent → a message with a `value` field marked xml.text plus its
//     attribute fields;
//   - xs:any → one raw string field `any` per message (all wildcard content); mixed
//     content → a message with a raw `content` field and its attributes; an element
//     of type xs:anyType → the shared message AnyXml (one raw field);
//   - a field whose complex type has derived types → google.protobuf.Any with
//     xml.xsd_type naming the base; a message is generated for the base and each
//     derived type, each with xml_root.xsd_type, for xsi:type;
//   - SOAP-encoded arrays (soapenc:Array restricted with wsdl:arrayType T[]) →
//     repeated T, xml.wrapped, xml.item "item".
//
// # Scalars
//
// string → string; boolean → bool; int → int32; long → int64; unsignedInt → uint32;
// float → float; double → double; base64Binary → bytes. Other built-ins carry
// xml.xsd_type ("{http://www.w3.org/2001/XMLSchema}<kind>") so the codec handles them
// exactly: short and byte → int32; unsignedShort and unsignedByte → uint32;
// hexBinary → bytes; decimal, integer and its unbounded or unsigned-long subtypes,
// dateTime, date, time, duration, QName, token, anyURI and the rest → string.
// Derived simple types map as their built-in ancestor; xs:list and unions of
// different kinds → string (the literal as written).
//
// # Enums
//
// A string-valued enumeration becomes an enum <Type> with <TYPE>_UNSPECIFIED = 0 and
// one value <TYPE>_<LITERAL> per literal, the literal in UPPER_SNAKE_CASE ("in-progress"
// → <TYPE>_IN_PROGRESS). A value whose name, without the prefix xmlcodec strips, does not
// spell its literal carries [(protobridge.v1.xml_value) = "<literal>"], which the codec
// reads and writes instead. This needs every literal to be identifier-like (a letter or
// '_', then letters, digits, '_', '-' or '.') and the names to stay distinct ignoring
// case and underscores ("a-b" and "A_B" clash); otherwise, and for non-string
// enumerations, the field is the base scalar. Named simple types give top-level enums,
// anonymous ones enums nested in the message using them.
//
// # Facets
//
// The other facets of a field's simple type become buf.validate rules (the file then
// imports buf/validate/validate.proto): pattern → string.pattern (XSD's regular
// expression translated to RE2, anchored, several patterns of a type as alternatives),
// length/minLength/maxLength → string or bytes len/min_len/max_len, min/max
// Inclusive/Exclusive → gte/lte/gt/lt of a number field, totalDigits of an integer →
// its bounds, an enumeration that is not an enum → in. The daemon enforces them before
// a call is sent (INVALID_ARGUMENT, policies.validate: false turns that off) and the MCP
// front door shows them as JSON Schema constraints. What no rule says the same way — a
// pattern with \i, \c, \w or \p (read differently by RE2 and JSON Schema), bounds and
// digits of a value kept as text (decimal, integer, dates) — is written in the field's
// comment ("XSD facets: totalDigits 7, fractionDigits 2.").
//
// # Names
//
// Field and oneof names are lower_snake_case and message, enum, service and rpc names
// PascalCase, computed exactly as buf lint checks them. Characters outside [A-Za-z0-9]
// (dots, dashes, non-ASCII) separate words; a leading digit gets an "f" (fields) or
// "X" (types) prefix; field names whose Go accessors would clash with generated
// methods (string, reset, descriptor…) get a "_value" suffix. Names are unique
// ignoring case and underscores within their scope, so case-insensitive clashes,
// the same local name in two namespaces and an element and a type of the same name
// all survive: the later one gets a suffix ("Type" for types, "Element" for
// elements, "_2"… for fields). Type references are qualified where a nested name
// would shadow a top-level one.
package protogen
