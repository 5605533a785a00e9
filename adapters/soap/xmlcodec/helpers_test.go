package xmlcodec_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
	"github.com/protobridge/protobridge/adapters/soap/xmlcodec/xmltest"
	"github.com/protobridge/protobridge/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	filesOnce sync.Once
	files     *protoregistry.Files
	filesErr  error
)

// testFiles compiles testdata/codec.proto once.
func testFiles(t testing.TB) *protoregistry.Files {
	t.Helper()
	filesOnce.Do(func() {
		src, err := os.ReadFile("testdata/codec.proto")
		if err != nil {
			filesErr = err
			return
		}
		fds, err := xmltest.CompileProtos(map[string]string{"codec.proto": string(src)})
		if err != nil {
			filesErr = err
			return
		}
		files = &protoregistry.Files{}
		filesErr = files.RegisterFile(fds["codec.proto"])
	})
	if filesErr != nil {
		t.Fatal(filesErr)
	}
	return files
}

func msgDesc(t testing.TB, name string) protoreflect.MessageDescriptor {
	t.Helper()
	d, err := testFiles(t).FindDescriptorByName(protoreflect.FullName("codectest." + name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d.(protoreflect.MessageDescriptor)
}

func plan(t testing.TB, name string) *xmlcodec.Plan {
	t.Helper()
	p, err := xmlcodec.Compile(msgDesc(t, name))
	if err != nil {
		t.Fatalf("Compile %s: %v", name, err)
	}
	return p
}

// resolver resolves the test messages for protojson (Any fields).
type resolver struct{ t testing.TB }

func (r resolver) FindMessageByName(n protoreflect.FullName) (protoreflect.MessageType, error) {
	d, err := testFiles(r.t).FindDescriptorByName(n)
	if err != nil {
		return protoregistry.GlobalTypes.FindMessageByName(n)
	}
	return dynamicpb.NewMessageType(d.(protoreflect.MessageDescriptor)), nil
}

func (r resolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	if i := bytes.LastIndexByte([]byte(url), '/'); i >= 0 {
		url = url[i+1:]
	}
	return r.FindMessageByName(protoreflect.FullName(url))
}

func (r resolver) FindExtensionByName(n protoreflect.FullName) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByName(n)
}

func (r resolver) FindExtensionByNumber(m protoreflect.FullName, n protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByNumber(m, n)
}

// fromJSON builds a message of the named type from protojson text.
func fromJSON(t testing.TB, name, js string) protoreflect.Message {
	t.Helper()
	m := dynamicpb.NewMessage(msgDesc(t, name))
	if err := (protojson.UnmarshalOptions{Resolver: resolver{t}}).Unmarshal([]byte(js), m); err != nil {
		t.Fatalf("protojson %s: %v", name, err)
	}
	return m
}

// toJSON renders a message as compact, stable protojson.
func toJSON(t testing.TB, m protoreflect.Message) string {
	t.Helper()
	b, err := protojson.MarshalOptions{Resolver: resolver{t}, UseProtoNames: true}.Marshal(m.Interface())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := compactJSON(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func sample(t testing.TB, dir, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(testenv.Corpus(t, "soap-samples", dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const soap11 = "http://schemas.xmlsoap.org/soap/envelope/"

// envelope wraps the element written by body in a SOAP 1.1 envelope.
func envelope(t testing.TB, body func(w *xmlcodec.Writer) error) []byte {
	t.Helper()
	w := xmlcodec.NewWriter()
	w.Prefer(soap11, "soap")
	w.Header()
	w.Start(xml.Name{Space: soap11, Local: "Envelope"})
	w.Start(xml.Name{Space: soap11, Local: "Body"})
	if err := body(w); err != nil {
		t.Fatal(err)
	}
	w.End()
	w.End()
	b, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bodyElement opens a SOAP envelope and returns the decoder positioned on
// the first element of its Body.
func bodyElement(t testing.TB, doc []byte) (*xmlcodec.Decoder, *xmlcodec.Start) {
	t.Helper()
	d := xmlcodec.NewDecoder(bytes.NewReader(doc), xmlcodec.Limits{})
	env, err := d.Root()
	if err != nil {
		t.Fatal(err)
	}
	if env.Name.Local != "Envelope" {
		t.Fatalf("root %v", env.Name)
	}
	for {
		c, err := d.Child()
		if err != nil || c == nil {
			t.Fatalf("no Body: %v", err)
		}
		if c.Name.Local == "Body" {
			el, err := d.Child()
			if err != nil || el == nil {
				t.Fatalf("empty Body: %v", err)
			}
			return d, el
		}
		if err := d.Skip(); err != nil {
			t.Fatal(err)
		}
	}
}

func compactJSON(out *bytes.Buffer, b []byte) error { return json.Compact(out, b) }
