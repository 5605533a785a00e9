package soap

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/internal/testenv"
	"github.com/protobridge/protobridge/test/internal/proc"
)

// peersDir holds the peer scripts (node-soap services, the PHP SoapServer
// script, the zeep oracle).
func peersDir() string { return filepath.Join(root, "test", "peers", "soap") }

// nodePeer is a node-soap server (test/peers/soap/server.js).
type nodePeer struct {
	*proc.Process
	url string
	// seen is how many RECEIVED lines earlier requests consumed.
	seen int
}

var nodeListeningRE = regexp.MustCompile(`node-soap listening on (http://\S+)`)

// startNodeSoap serves wsdl with the handlers of
// test/peers/soap/services/<name>.js; flags are server.js's (--soap12,
// --declare-xsi).
func startNodeSoap(t *testing.T, name, wsdl string, flags ...string) *nodePeer {
	t.Helper()
	testenv.Peer(t, "soap")
	node := testenv.LookPath(t, "node")
	args := append([]string{filepath.Join(peersDir(), "server.js"), name, wsdl}, flags...)
	// server.js finds the soap package in test/peers/node_modules.
	p := proc.Start(t, peersDir(), nil, node, args...)
	m, ok := p.Out.Wait(nodeListeningRE)
	if !ok {
		t.Fatalf("node-soap exited before listening: %v\n%s", p.Err(), p.Out)
	}
	return &nodePeer{Process: p, url: m[1]}
}

// received is a request as node-soap logged it.
type received struct {
	Method      string  `json:"method"`
	ContentType string  `json:"contentType"`
	SOAPAction  *string `json:"soapAction"`
	Body        string  `json:"body"`
}

var receivedRE = regexp.MustCompile(`^RECEIVED (.*)$`)

// next returns the next request the peer received (after those returned
// before), waiting for its log line.
func (p *nodePeer) next(t *testing.T) received {
	t.Helper()
	m, after, ok := p.Out.WaitFrom(p.seen, receivedRE)
	if !ok {
		t.Fatalf("node-soap logged no further request:\n%s", p.Out)
	}
	p.seen = after
	var r received
	if err := json.Unmarshal([]byte(m[1]), &r); err != nil {
		t.Fatalf("RECEIVED line %q: %v", m[1], err)
	}
	return r
}

// skipReceived marks every request logged so far as seen.
func (p *nodePeer) skipReceived() { p.seen = p.Out.Len() }

// phpSoap returns the php binary when php-cli with ext/soap is installed.
func phpSoap(t *testing.T) string {
	t.Helper()
	php := testenv.LookPath(t, "php")
	if out, _, code := runCommand(t, root, php, "-m"); code != 0 || !regexp.MustCompile(`(?m)^soap\s*$`).MatchString(out) {
		testenv.Require(t, "PHP's soap extension", "`make test` installs it with `make deps` (Debian package php-soap)",
			fmt.Errorf("`php -m` exits %d without listing soap", code))
	}
	return php
}

var phpListeningRE = regexp.MustCompile(`Development Server \((http://127\.0\.0\.1:\d+)\) started`)

// startPHP runs PHP's built-in web server on 127.0.0.1 (a free port) with
// the SoapServer script test/peers/soap/<script>, serving wsdl, and returns
// its URL.
func startPHP(t *testing.T, script, wsdl string) string {
	t.Helper()
	php := phpSoap(t)
	p := proc.Start(t, peersDir(), []string{"WSDL=" + wsdl}, php, "-S", "127.0.0.1:0", filepath.Join(peersDir(), script))
	m, ok := p.Out.Wait(phpListeningRE)
	if !ok {
		t.Fatalf("php exited before listening: %v\n%s", p.Err(), p.Out)
	}
	return m[1] + "/"
}

// zeepPython returns a python3 that imports zeep (Debian's python3-zeep
// installs it for /usr/bin/python3).
func zeepPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if _, _, code := runCommand(t, root, path, "-c", "import zeep, lxml"); code == 0 {
			return path
		}
	}
	testenv.Require(t, "python3 with zeep", "`make test` installs it with `make deps` (Debian package python3-zeep)",
		errors.New("neither /usr/bin/python3 nor python3 on PATH imports zeep and lxml"))
	return ""
}

// zeepEnvelope returns the envelope zeep builds for operation of
// service/port with kwargs (a JSON object), and the headers it would send.
func zeepEnvelope(t *testing.T, python, wsdl, service, port, operation, kwargs string) ([]byte, map[string]string) {
	t.Helper()
	stdout, stderr, code := runCommand(t, root, python, filepath.Join(peersDir(), "zeep_envelope.py"), wsdl, service, port, operation, kwargs)
	if code != 0 {
		t.Fatalf("zeep %s %s: exit %d\n%s", operation, kwargs, code, stderr)
	}
	headers := map[string]string{}
	for _, line := range strings.Split(stderr, "\n") {
		if h, ok := strings.CutPrefix(line, "HEADERS "); ok {
			if err := json.Unmarshal([]byte(h), &headers); err != nil {
				t.Fatalf("zeep headers %q: %v", h, err)
			}
		}
	}
	return []byte(stdout), headers
}

// copyWSDL copies a WSDL into a temporary directory after applying edits
// (each old text must occur once), returning the new path.
func copyWSDL(t *testing.T, src string, edits ...[2]string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, e := range edits {
		if strings.Count(text, e[0]) != 1 {
			t.Fatalf("%s has no single %q", src, e[0])
		}
		text = strings.Replace(text, e[0], e[1], 1)
	}
	return proc.WriteFile(t, t.TempDir(), filepath.Base(src), text)
}
