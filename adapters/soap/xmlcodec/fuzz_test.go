package xmlcodec_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
	"github.com/protobridge/protobridge/internal/testenv"
)

// FuzzDecode feeds arbitrary documents to the decoder: through schema plans
// (strict and lax) and as schema-less trees. It must never panic, every
// failure must be an *xmlcodec.Error, and a decoded message must encode.
func FuzzDecode(f *testing.F) {
	samples, _ := filepath.Glob(filepath.Join(testenv.CorpusDir(f), "soap-samples", "*", "*.xml"))
	for _, s := range samples {
		if b, err := os.ReadFile(s); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(`<s:scalars xmlns:s="urn:scalars"><i32>1</i32><d>INF</d><color>RED</color></s:scalars>`))
	f.Add([]byte(`<nils xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s xsi:nil="true"/><n>1</n><n xsi:nil="1"/></nils>`))
	f.Add([]byte(`<addList><record xmlns="urn:messages_2013_2.platform.webservices.netsuite.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:c="urn:relationships_2013_2.lists.webservices.netsuite.com" xsi:type="c:Contact"><c:phone>1</c:phone></record></addList>`))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`))
	names := []string{"Scalars", "Lists", "Nils", "Envelope", "Payment", "Recursive", "AddList", "DummyResponse"}
	plans := make([]*xmlcodec.Plan, len(names))
	for i, n := range names {
		plans[i] = plan(f, n)
	}
	lim := xmlcodec.Limits{MaxDepth: 40, MaxTextBytes: 4 << 10, MaxBytes: 64 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range plans {
			for _, lax := range []bool{false, true} {
				d := xmlcodec.NewDecoder(bytes.NewReader(data), lim)
				d.Lax = lax
				start, err := d.Root()
				if err == nil {
					m := dynamicpb.NewMessage(p.Descriptor())
					if err = p.DecodeElement(d, start, m); err == nil {
						err = d.Finish()
						if _, encErr := p.Marshal(m); encErr != nil && xmlcodec.KindOf(encErr) != xmlcodec.ErrValue {
							t.Fatalf("decoded message does not encode: %v", encErr)
						}
					}
				}
				checkErr(t, err)
			}
		}
		d := xmlcodec.NewDecoder(bytes.NewReader(data), lim)
		start, err := d.Root()
		if err == nil {
			var n *xmlcodec.Node
			if n, err = d.Tree(start); err == nil {
				_ = n.Value()
				w := xmlcodec.NewWriter()
				n.Write(w)
				if _, werr := w.Bytes(); werr != nil && xmlcodec.KindOf(werr) != xmlcodec.ErrValue {
					t.Fatalf("tree does not write: %v", werr)
				}
			}
		}
		checkErr(t, err)
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	var e *xmlcodec.Error
	if err != nil && !errors.As(err, &e) && !errors.Is(err, io.EOF) {
		t.Fatalf("error %T is not an *xmlcodec.Error: %v", err, err)
	}
}
