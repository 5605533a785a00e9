package wsdl

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad parses arbitrary bytes as a WSDL document. Imports are refused, so only
// the single document is exercised; the property is that Parse never panics or hangs.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(featureFiles["/mem/svc.wsdl"]))
	f.Add([]byte(featureFiles["/mem/b.xsd"]))
	if dir, err := os.Getwd(); err == nil {
		for _, rel := range []string{"wsdl/public/checkVatService.wsdl", "wsdl/postman/valid/calculator-soap11and12.wsdl", "wsdl/zeep/wsdl_files/soap_header.wsdl"} {
			if data, err := os.ReadFile(filepath.Join(dir, "..", "..", "..", "..", "shared", "corpus", rel)); err == nil {
				f.Add(data)
			}
		}
	}
	opts := Options{Fetch: func(string) ([]byte, error) { return nil, errors.New("no imports while fuzzing") }}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data, "/fuzz/doc.wsdl", opts)
		if err == nil {
			d.Endpoints()
		}
	})
}
