package wsdl

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/protobridge/protobridge/internal/testenv"
)

// FuzzLoad parses arbitrary bytes as a WSDL document. Imports are refused, so only
// the single document is exercised; the property is that Parse never panics or hangs.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(featureFiles["/mem/svc.wsdl"]))
	f.Add([]byte(featureFiles["/mem/b.xsd"]))
	for _, rel := range []string{"wsdl/public/checkVatService.wsdl", "wsdl/postman/valid/calculator-soap11and12.wsdl", "wsdl/zeep/wsdl_files/soap_header.wsdl"} {
		if data, err := os.ReadFile(filepath.Join(testenv.CorpusDir(f), filepath.FromSlash(rel))); err == nil {
			f.Add(data)
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
