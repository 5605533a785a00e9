// Package sforce is what gowsdl v0.5.0 generates for
// ../testdata/sforce-query.wsdl (the large reply of benchmark P3), through
// the main module's protobridge-goclient command. Regenerate sforce.go with
// `make gen` in bench/.
package sforce
