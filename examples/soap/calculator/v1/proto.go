// Package calculatorv1 ships calculator.proto, what `protobridge gen wsdl`
// made of the corpus calculator WSDL (adapters/soap/protogen checks it is
// current), so the demo serves the generated file itself, not a copy.
package calculatorv1

import _ "embed"

// Proto is calculator.proto.
//
//go:embed calculator.proto
var Proto []byte
