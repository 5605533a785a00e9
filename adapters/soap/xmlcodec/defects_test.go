package xmlcodec_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
)

// The tests of this file cover the codec side of issue 10's SOAP defects.

// TestRepeatGoesToAny (issue 10, item 1): a second element for a singular field is
// content the declared fields cannot hold. With an xs:any field it goes there (a
// Salesforce query record repeats sf:Id); without, strict decoding fails and lax
// decoding skips it; the first value is never overwritten. A second alternative of a
// choice (oneof) is treated the same way.
func TestRepeatGoesToAny(t *testing.T) {
	const sf = `xmlns:r="urn:partner.soap.sforce.com" xmlns:sf="urn:sobject.partner.soap.sforce.com"`
	p := plan(t, "SObject")
	for _, lax := range []bool{false, true} {
		m := dynamicpb.NewMessage(p.Descriptor())
		doc := `<r:records ` + sf + `><sf:type>Account</sf:type><sf:Id>001A</sf:Id><sf:Id>001B</sf:Id><sf:Name>Acme</sf:Name></r:records>`
		if err := p.Unmarshal([]byte(doc), m, xmlcodec.DecodeOptions{Lax: lax}); err != nil {
			t.Fatalf("lax %v: %v", lax, err)
		}
		fs := m.Descriptor().Fields()
		if id := m.Get(fs.ByName("id")).String(); id != "001A" {
			t.Errorf("lax %v: id %q, want the first, 001A", lax, id)
		}
		raw := m.Get(fs.ByName("any")).String()
		if !strings.Contains(raw, `:Id xmlns:`) || !strings.Contains(raw, `>001B</`) || !strings.Contains(raw, `>Acme</`) || strings.Index(raw, "001B") > strings.Index(raw, "Acme") {
			t.Errorf("lax %v: any = %s, want the second Id then Name", lax, raw)
		}
		// Written back, the raw content follows the declared fields.
		out, err := p.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(out), ">001"); n != 2 {
			t.Errorf("lax %v: re-encoded %s holds %d Ids, want 2", lax, out, n)
		}
	}

	tests := []struct {
		name, msg, doc string
		lax            bool
		want           string // JSON with lax, the error without
	}{
		{"singular twice, strict", "Scalars", `<s:scalars xmlns:s="urn:scalars"><i32>1</i32><i32>2</i32></s:scalars>`, false, "/scalars/i32: element i32 appears more than once"},
		{"singular twice, lax", "Scalars", `<s:scalars xmlns:s="urn:scalars"><i32>1</i32><i32>2</i32></s:scalars>`, true, `{"i32":1}`},
		{"two alternatives, strict", "Payment", `<p:payment xmlns:p="urn:pay"><p:iban>DE1</p:iban><p:card><p:number>4</p:number></p:card></p:payment>`, false, "/payment/card: element {urn:pay}card is a second alternative of choice method"},
		{"two alternatives, lax", "Payment", `<p:payment xmlns:p="urn:pay"><p:iban>DE1</p:iban><p:card><p:number>4</p:number></p:card></p:payment>`, true, `{"iban":"DE1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(t, tt.msg)
			m := dynamicpb.NewMessage(p.Descriptor())
			err := p.Unmarshal([]byte(tt.doc), m, xmlcodec.DecodeOptions{Lax: tt.lax})
			switch {
			case tt.lax && err != nil:
				t.Fatal(err)
			case tt.lax:
				if got := toJSON(t, m); got != tt.want {
					t.Errorf("got %s, want %s", got, tt.want)
				}
			case err == nil || err.Error() != tt.want || xmlcodec.KindOf(err) != xmlcodec.ErrUnknown:
				t.Errorf("error %v, want %s", err, tt.want)
			}
		})
	}
}
