// Package wsdl is protobridge's model of WSDL 1.1 documents and the XML Schemas they
// use: everything resolved, every name namespace-qualified.
//
// Load (or Parse) reads a WSDL with its wsdl:import, xs:import and xs:include graph
// (cycles allowed, chameleon includes supported, remote locations only when allowed)
// and returns Definitions in which:
//
//   - every component is found by xml.Name{Space, Local} (Definitions.Message,
//     SchemaSet.Element, SchemaSet.Type…) and listed in document order;
//   - every element and attribute carries the name it has in instances, its namespace
//     already decided by elementFormDefault/attributeFormDefault/form and by ref=
//     across schemas;
//   - types are shared pointers, so recursive types are cyclic graphs: walk them by
//     name, or with a visited set;
//   - complex types expose effective content (extension = base's particles then its
//     own), attribute groups expanded, and simple types their built-in Kind and
//     effective facets;
//   - Endpoints flattens service → port → binding → operation with SOAP version, style,
//     action, body and header parts, faults and doc/literal wrapped detection.
//
// Every broken input is an error naming the file and line: a reference that does not
// resolve, an element the loader reads whose namespace prefix is not declared (a
// soap:binding without xmlns:soap would otherwise leave a binding that is not SOAP),
// and an xs:import whose document cannot be read (see
// Options.IgnoreUnreadableImports).
//
// The model is read-only after Load; it is safe for concurrent readers. Inputs are
// untrusted: DTDs are refused, and MaxFileSize, MaxDepth and MaxDocuments bound the work.
package wsdl
