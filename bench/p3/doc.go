// Package p3 holds benchmark P3: encode and decode of the same SOAP bodies
// with protobridge's schema-driven codec (xmlcodec plans over the
// descriptors `protobridge gen wsdl` generates, dynamicpb messages) and with
// gowsdl-generated structs (encoding/xml), in the same run. The small
// bodies are the calculator's Add and VIES checkVat, request and response
// (gowsdl structs committed in gen/soap); the large one is a
// Salesforce-style queryResponse of a few hundred records
// (testdata/sforce-query.wsdl, gowsdl structs in p3/sforce, `make gen`).
// See p3_test.go, query_test.go and bench/README.md.
package p3
