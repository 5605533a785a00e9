// Package goclient generates typed Go SOAP clients with gowsdl. It lives apart
// from the daemon: gowsdl's package init creates a cache directory under the
// temp dir and exits the process when it cannot, so only the
// protobridge-goclient command links it.
package goclient

import (
	"bytes"
	"fmt"
	"go/format"
	"io"
	"log"
	"sync"

	"github.com/hooklift/gowsdl"
)

// gowsdlMu serialises Generate: gowsdl logs through the standard logger, which
// Generate silences for the duration of a call.
var gowsdlMu sync.Mutex

// Generate returns a typed Go client (package pkg) for the WSDL at path made by
// gowsdl, the independent peer the SOAP adapter is tested against. Call it only with
// a WSDL that wsdl.Load accepted: gowsdl reads the document again itself (following
// its imports, over the network when they are remote) and handles bad input less
// gracefully. Panics in gowsdl are returned as errors.
func Generate(path, pkg string) (code []byte, err error) {
	gowsdlMu.Lock()
	defer gowsdlMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			code, err = nil, fmt.Errorf("gowsdl: %s: panic: %v", path, r)
		}
	}()
	prev := log.Writer()
	log.SetOutput(io.Discard)
	defer log.SetOutput(prev)

	g, err := gowsdl.NewGoWSDL(path, pkg, false, true)
	if err != nil {
		return nil, fmt.Errorf("gowsdl: %w", err)
	}
	parts, err := g.Start()
	if err != nil {
		return nil, fmt.Errorf("gowsdl: %s: %w", path, err)
	}
	var src bytes.Buffer
	for _, p := range []string{"header", "types", "operations"} {
		if len(parts[p]) == 0 {
			return nil, fmt.Errorf("gowsdl: %s: generating %s failed", path, p)
		}
		src.Write(parts[p])
	}
	code, err = format.Source(src.Bytes())
	if err != nil {
		return nil, fmt.Errorf("gowsdl: %s: generated Go does not parse: %w", path, err)
	}
	return code, nil
}
