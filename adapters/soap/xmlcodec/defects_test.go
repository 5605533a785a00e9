package xmlcodec_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
	"github.com/protobridge/protobridge/adapters/soap/xmlcodec/xmltest"
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

// TestDateLexicalForms (issue 10, item 5): values of the XSD date, time and duration
// types are checked when written, like decimals and integers: an invalid one fails
// with ErrValue at the field's element (or attribute), instead of going upstream.
func TestDateLexicalForms(t *testing.T) {
	tests := []struct {
		field, key string // element name, JSON name
		good, bad  []string
	}{
		{"dateTime", "date_time", []string{"2024-02-29T23:59:59.123456789+05:30", "2023-12-31T24:00:00Z", "-0044-03-15T12:00:00", "12024-01-01T00:00:00-14:00", " 2024-01-02T03:04:05Z "},
			[]string{"2024-01-02", "2024-01-02 03:04:05", "2023-02-29T00:00:00", "2024-04-31T00:00:00", "2024-13-01T00:00:00", "2024-01-01T25:00:00", "2024-01-01T00:00:00+15:00", "24-01-01T00:00:00", "2024-1-1T00:00:00", "2024-01-01T00:00:00.Z", "now"}},
		{"date", "date", []string{"2024-05-01+02:00", "2000-02-29", "2024-12-31Z"}, []string{"1900-02-29", "2024-06-31", "2024/05/01", "2024-05-01T00:00:00", "20240501", ""}},
		{"time", "time", []string{"13:20:00", "13:20:00.5-05:00", "00:00:00Z"}, []string{"13:20", "1:20:00", "13:60:00", "13:20:00+1:00"}},
		{"gYearMonth", "g_year_month", []string{"2024-05", "2024-05Z"}, []string{"2024", "2024-5", "2024-13"}},
		{"gYear", "g_year", []string{"2024", "-0001", "2024+01:00"}, []string{"24", "+2024", "2024-05"}},
		{"gMonthDay", "g_month_day", []string{"--02-29", "--12-31Z"}, []string{"--02-30", "--04-31", "02-28", "--2-28"}},
		{"gDay", "g_day", []string{"---01", "---31+14:00"}, []string{"---32", "--01", "---1"}},
		{"gMonth", "g_month", []string{"--05", "--12Z", "--05--"}, []string{"--13", "05", "--5"}},
		{"duration", "duration", []string{"P1Y2M3DT10H30M", "-P120D", "PT0.5S", "P0D", "PT36H"}, []string{"P", "PT", "P1DT", "1D", "P1.5D", "P-1D", "PT1.S"}},
	}
	p := plan(t, "Dates")
	for _, tt := range tests {
		for _, v := range tt.good {
			if _, err := p.Marshal(fromJSON(t, "Dates", `{"`+tt.key+`": "`+v+`"}`)); err != nil {
				t.Errorf("%s %q: %v", tt.field, v, err)
			}
		}
		for _, v := range tt.bad {
			_, err := p.Marshal(fromJSON(t, "Dates", `{"`+tt.key+`": "`+v+`"}`))
			e, ok := err.(*xmlcodec.Error)
			if !ok || e.Kind != xmlcodec.ErrValue || e.Path != "/dates/"+tt.field || !strings.Contains(e.Msg, "xsd:"+tt.field) {
				t.Errorf("%s %q: got %v, want a value error at /dates/%s naming xsd:%s", tt.field, v, err, tt.field, tt.field)
			}
		}
	}
	// An attribute is checked too, and collapsed white space is what is written.
	if _, err := p.Marshal(fromJSON(t, "Dates", `{"since": "2024-02-30"}`)); err == nil || !strings.Contains(err.Error(), "attribute since") {
		t.Errorf("invalid date attribute: %v", err)
	}
	out, err := p.Marshal(fromJSON(t, "Dates", `{"date": " 2024-05-01 ", "since": "2024-05-02"}`))
	if err != nil || !strings.Contains(string(out), `<date>2024-05-01</date>`) || !strings.Contains(string(out), `since="2024-05-02"`) {
		t.Errorf("got %s, %v", out, err)
	}
}

// TestTolerantReader (issue 10, item 6): replies may spell numbers the way their
// server's platform prints floats. What each type accepts is documented in
// lexical.go; decimals and integers are rewritten exactly, never through a float.
func TestTolerantReader(t *testing.T) {
	good := []struct{ name, xml, want string }{
		{"float specials in any case", `<d>nan</d><f>-inf</f>`, `{"d":"NaN","f":"-Infinity"}`},
		{"infinity spelled out", `<d>Infinity</d><f>+INF</f>`, `{"d":"Infinity","f":"Infinity"}`},
		{"float exponent with a plus", `<d>1E+3</d><f>-2.5e-1</f>`, `{"d":1000,"f":-0.25}`},
		{"decimal in scientific notation", `<amount>1E+3</amount>`, `{"amount":"1000"}`},
		{"decimal digits kept exactly", `<amount>-1.000000000000000000001E+3</amount>`, `{"amount":"-1000.000000000000000001"}`},
		{"small decimal", `<amount>+2.50e-3</amount>`, `{"amount":"0.00250"}`},
		{"integer as an integral decimal", `<amount>0</amount><count>1E+3</count><i32>5.0</i32><i64>-1.2E1</i64><u64>18446744073709551615.0</u64>`, `{"amount":"0","count":"1000","i32":5,"i64":"-12","u64":"18446744073709551615"}`},
		{"unsigned string as an integral decimal", `<amount>0</amount><big>1.8E1</big>`, `{"amount":"0","big":"18"}`},
		{"boolean in any case", `<flag>True</flag>`, `{"flag":true}`},
		{"dates kept as sent", `<when>2024-01-02 03:04:05</when>`, `{"when":"2024-01-02 03:04:05"}`},
	}
	p := plan(t, "Scalars")
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			m := dynamicpb.NewMessage(p.Descriptor())
			if err := p.Unmarshal([]byte(`<s:scalars xmlns:s="urn:scalars">`+tt.xml+`</s:scalars>`), m, xmlcodec.DecodeOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := toJSON(t, m); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	bad := []struct{ name, xml, path string }{
		{"decimal NaN", `<amount>NaN</amount>`, "/scalars/amount"},
		{"decimal infinity", `<amount>-inf</amount>`, "/scalars/amount"},
		{"decimal exponent too large", `<amount>1E+100000</amount>`, "/scalars/amount"},
		{"fractional integer", `<i32>5.5</i32>`, "/scalars/i32"},
		{"fractional integer string", `<count>1.5E0</count>`, "/scalars/count"},
		{"negative unsigned", `<big>-1E0</big>`, "/scalars/big"},
		{"hex float", `<d>0x1p-2</d>`, "/scalars/d"},
		{"float word", `<d>nanny</d>`, "/scalars/d"},
		{"boolean word", `<flag>yes</flag>`, "/scalars/flag"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			m := dynamicpb.NewMessage(p.Descriptor())
			err := p.Unmarshal([]byte(`<s:scalars xmlns:s="urn:scalars">`+tt.xml+`</s:scalars>`), m, xmlcodec.DecodeOptions{})
			if e, ok := err.(*xmlcodec.Error); !ok || e.Kind != xmlcodec.ErrValue || e.Path != tt.path {
				t.Errorf("got %v, want a value error at %s", err, tt.path)
			}
		})
	}
	// Requests get none of it: a decimal is written only in its XSD form.
	if _, err := p.Marshal(fromJSON(t, "Scalars", `{"amount": "1E+3", "when": "2024-01-01T00:00:00Z"}`)); err == nil {
		t.Error("a decimal in scientific notation was written")
	}
}

// TestRepeatedChoiceKeepsOrder (issue 10, item 4): a field with xml.xsd_type xs:choice
// is a repeated xs:choice: each item one alternative, written and read in document
// order with no element of its own, so an Exchange FindItem reply's Message,
// CalendarItem, Message stays in that order both ways.
func TestRepeatedChoiceKeepsOrder(t *testing.T) {
	p := plan(t, "RealItems")
	const doc = `<t:Items xmlns:t="urn:ews:types"><t:Folder>inbox</t:Folder><t:Message><t:Subject>m1</t:Subject></t:Message>
		<t:CalendarItem>c1</t:CalendarItem><t:Message><t:Subject>m2</t:Subject></t:Message><t:Item><t:Subject>i1</t:Subject></t:Item>
		<t:CalendarItem/><t:More>yes</t:More></t:Items>`
	const js = `{"folder":"inbox","item_choice":[{"message":{"subject":"m1"}},{"calendar_item":"c1"},{"message":{"subject":"m2"}},{"item":{"subject":"i1"}},{"calendar_item":""}],"more":"yes"}`
	m := dynamicpb.NewMessage(p.Descriptor())
	if err := p.Unmarshal([]byte(doc), m, xmlcodec.DecodeOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := toJSON(t, m); got != js {
		t.Errorf("decoded\n got %s\nwant %s", got, js)
	}
	out, err := p.Marshal(fromJSON(t, "RealItems", js))
	if err != nil {
		t.Fatal(err)
	}
	if diff, err := xmltest.Diff([]byte(doc), out, xmltest.Options{}); err != nil || diff != "" {
		t.Errorf("encoded infoset differs (-want +got), %v:\n%s\n%s", err, diff, out)
	}
	// An item with no alternative set cannot be written.
	if _, err := p.Marshal(fromJSON(t, "RealItems", `{"itemChoice":[{"calendarItem":"c"},{}]}`)); err == nil || !strings.Contains(err.Error(), "item 1 has none of its alternatives set") {
		t.Errorf("empty item: %v", err)
	}
	// Select keeps the alternatives' names.
	sel := p.Select(func(protoreflect.FieldDescriptor) bool { return true })
	m = dynamicpb.NewMessage(p.Descriptor())
	if err := sel.Unmarshal([]byte(doc), m, xmlcodec.DecodeOptions{}); err != nil || toJSON(t, m) != js {
		t.Errorf("selected plan: %v %s", err, toJSON(t, m))
	}
	// A recursive choice, compiled from its item message first (the parent's plan is
	// then built while the item's is under construction).
	fc, err := xmlcodec.Compile(msgDesc(t, "Folder.FolderChoice"))
	if err != nil {
		t.Fatal(err)
	}
	m = dynamicpb.NewMessage(fc.Descriptor())
	const nested = `<FolderChoice><t:Folder xmlns:t="urn:ews:types"><t:Note>a</t:Note><t:Folder><t:Note>b</t:Note></t:Folder><t:Note>c</t:Note></t:Folder></FolderChoice>`
	if err := fc.Unmarshal([]byte(nested), m, xmlcodec.DecodeOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := toJSON(t, m), `{"folder":{"folder_choice":[{"note":"a"},{"folder":{"folder_choice":[{"note":"b"}]}},{"note":"c"}]}}`; got != want {
		t.Errorf("recursive choice\n got %s\nwant %s", got, want)
	}
	for name, want := range map[string]string{
		"BadChoiceSingular": "must be a repeated message field",
		"BadChoiceNamed":    "without name",
		"BadChoiceItem":     "must all be members of one oneof",
		"BadChoiceClash":    "another field maps to element a",
	} {
		if _, err := xmlcodec.Compile(msgDesc(t, name)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", name, err, want)
		}
	}
}
