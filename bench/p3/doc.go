// Package p3 holds benchmark P3: encode and decode of the same SOAP bodies
// (calculator Add and VIES checkVat, request and response) with
// protobridge's schema-driven codec (xmlcodec plans over the descriptors
// `protobridge gen wsdl` generates, dynamicpb messages) and with the
// gowsdl-generated structs committed in gen/soap (encoding/xml), in the same
// run. See p3_test.go and bench/README.md.
package p3
