package xmlcodec_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/soap/xmlcodec"
	"github.com/protobridge/protobridge/adapters/soap/xmlcodec/xmltest"
)

const (
	dummyNS = "http://www.Dummy.com/Name/Types"
	suiteNS = "urn:messages_2013_2.platform.webservices.netsuite.com"
)

// TestEncodeSamples encodes messages into SOAP bodies and compares them with
// node-soap's request.xml by infoset.
func TestEncodeSamples(t *testing.T) {
	contact := func(first string) string {
		return `{"@type": "type.googleapis.com/codectest.Contact", "first_name": "` + first + `", "last_name": "Sullivan", "phone": "800-555-2819",
		  "subsidiary": {"@type": "type.googleapis.com/codectest.RecordRef", "internal_id": "1"}}`
	}
	tests := []struct {
		sample, msg, json string
		elem              xml.Name
	}{
		{"Dummy__should_handle_nil", "DummyRequest", `{"dummy_field1": "Humpty", "dummy_filter": {"dummy_string_filter": "Dumpty"}}`, xml.Name{Space: dummyNS, Local: "DummyRequest"}},
		{"Dummy__should_handle_nil_false", "DummyRequest", `{"dummy_field1": "Humpty", "dummy_filter": {"dummy_string_filter": "Dumpty"}}`, xml.Name{Space: dummyNS, Local: "DummyRequest"}},
		{"addList__complex_extension_namespace_for_arrays", "AddList", `{"record": [` + contact("First-1400867779067") + `,` + contact("aLFirst-1400867779067") + `]}`, xml.Name{Space: suiteNS, Local: "addList"}},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			p := plan(t, tt.msg)
			m := fromJSON(t, tt.msg, tt.json)
			got := envelope(t, func(w *xmlcodec.Writer) error { return p.EncodeElement(w, tt.elem, m) })
			diff, err := xmltest.Diff(sample(t, tt.sample, "request.xml"), got, xmltest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff != "" {
				t.Errorf("infoset differs (-want +got):\n%s\ngot: %s", diff, got)
			}
			// Decoding the sample gives the message back.
			d, start := bodyElement(t, sample(t, tt.sample, "request.xml"))
			back := dynamicpb.NewMessage(p.Descriptor())
			if err := p.DecodeElement(d, start, back); err != nil {
				t.Fatal(err)
			}
			if g, w := toJSON(t, back), toJSON(t, m); g != w {
				t.Errorf("decoded\n %s\nwant\n %s", g, w)
			}
		})
	}
}

// TestDecodeSamples decodes node-soap's response.xml bodies.
func TestDecodeSamples(t *testing.T) {
	tests := []struct {
		sample, msg, want string
		lax               bool
	}{
		{"Dummy__should_handle_nil", "DummyResponse", `{"dummy_result":{"dummy_list":{"dummy_element":[{}],"dummy_element_nil":[0]}}}`, false},
		{"Dummy__should_handle_attributes_in_response", "DummyResponse",
			`{"dummy_result":{"dummy_list":{"dummy_element":[{"language":"en-US","value":"\n                    Dummy Element Entry\n                   "}]}}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			p := plan(t, tt.msg)
			d, start := bodyElement(t, sample(t, tt.sample, "response.xml"))
			d.Lax = tt.lax
			m := dynamicpb.NewMessage(p.Descriptor())
			if err := p.DecodeElement(d, start, m); err != nil {
				t.Fatal(err)
			}
			if got := toJSON(t, m); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestRoundTrip encodes documents, compares them with the expected XML by
// infoset, and decodes them back to the same message.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name, msg, json, xml string
	}{
		{"scalars", "Scalars", `{"amount": "-1234567890123456789.000000001", "count": "+98765432109876543210", "i32": -5, "i64": "-9223372036854775808",
			"u64": "18446744073709551615", "flag": true, "when": "2024-02-29T23:59:59.5+05:30", "at": "2024-01-02T03:04:05.123Z",
			"b64": "AAEC/w==", "hex": "AAEC/w==", "d": "-Infinity", "f": 1.5, "color": "COLOR_DARK_BLUE", "colors": ["COLOR_RED", "COLOR_DARK_BLUE", "COLOR_LIGHT_GREEN"],
			"maybe": "0", "opt": "", "text": " keep  spaces ", "token": "a b", "big": "18446744073709551616"}`,
			`<s:scalars xmlns:s="urn:scalars"><amount>-1234567890123456789.000000001</amount><count>+98765432109876543210</count>
			<i32>-5</i32><i64>-9223372036854775808</i64><u64>18446744073709551615</u64><flag>true</flag><when>2024-02-29T23:59:59.5+05:30</when>
			<at>2024-01-02T03:04:05.123Z</at><b64>AAEC/w==</b64><hex>000102FF</hex><d>-INF</d><f>1.5</f><color>DARK_BLUE</color>
			<colors>RED</colors><colors>DARK_BLUE</colors><colors>light-green</colors><maybe>0</maybe><opt></opt><text> keep  spaces </text><token>a b</token><big>18446744073709551616</big></s:scalars>`},
		{"implicit zero values are written", "Scalars", `{"amount": "0", "when": "2024-01-01T00:00:00Z"}`,
			`<s:scalars xmlns:s="urn:scalars"><amount>0</amount><i32>0</i32><i64>0</i64><u64>0</u64><flag>false</flag><when>2024-01-01T00:00:00Z</when><b64/><hex/><d>0</d><f>0</f><text/><token/></s:scalars>`},
		{"lists", "Lists", `{"name": ["a", "b"], "numbers": [1, 2, 3], "points": [{"x": 1, "y": 2}, {}]}`,
			`<lists><name>a</name><name>b</name><numbers><n>1</n><n>2</n><n>3</n></numbers>
			<g:point xmlns:g="urn:geo" x="1" g:y="2"/><g:point xmlns:g="urn:geo" x="0" g:y="0"/></lists>`},
		{"choice card", "Payment", `{"id": "p1", "card": {"number": "4111"}}`,
			`<p:payment xmlns:p="urn:pay"><p:id>p1</p:id><p:card><p:number>4111</p:number></p:card></p:payment>`},
		{"choice iban", "Payment", `{"id": "p2", "iban": "DE00"}`,
			`<p:payment xmlns:p="urn:pay"><p:id>p2</p:id><p:iban>DE00</p:iban></p:payment>`},
		{"raw", "Envelope", `{"title": "t", "extra": "<x:a xmlns:x=\"urn:x\" k=\"v\">1<b/></x:a><c>mixed</c>"}`,
			`<d:doc xmlns:d="urn:doc"><d:title>t</d:title><y:a xmlns:y="urn:x" k="v">1<b/></y:a><c>mixed</c></d:doc>`},
		{"nil", "Nils", `{"s_nil": true, "card_nil": true, "n": [1, 0, 3], "n_nil": [1]}`,
			`<nils xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s xsi:nil="true"/><card xsi:nil="true"/><n>1</n><n xsi:nil="true"/><n>3</n></nils>`},
		{"empty", "Nils", `{"s": "", "card": {}}`, `<nils><s/><card><p:number xmlns:p="urn:pay"/></card></nils>`},
		{"absent", "Nils", `{}`, `<nils/>`},
		{"recursive", "Recursive", `{"child": {"child": {"leaf": "x"}, "leaf": ""}, "leaf": "top"}`,
			`<r><child><child><leaf>x</leaf></child><leaf/></child><leaf>top</leaf></r>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(t, tt.msg)
			m := fromJSON(t, tt.msg, tt.json)
			got, err := p.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			diff, err := xmltest.Diff([]byte(tt.xml), got, xmltest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff != "" {
				t.Errorf("infoset differs (-want +got):\n%s\ngot: %s", diff, got)
			}
			back := dynamicpb.NewMessage(p.Descriptor())
			if err := p.Unmarshal([]byte(tt.xml), back, xmlcodec.DecodeOptions{}); err != nil {
				t.Fatal(err)
			}
			again, err := p.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if diff, _ := xmltest.Diff([]byte(tt.xml), again, xmltest.Options{}); diff != "" {
				t.Errorf("re-encoded infoset differs:\n%s", diff)
			}
			if g, w := toJSON(t, back), toJSON(t, m); g != w && tt.name != "raw" {
				t.Errorf("decoded\n %s\nwant\n %s", g, w)
			}
		})
	}
}

// TestDecodeValues checks lexical forms accepted on input.
func TestDecodeValues(t *testing.T) {
	tests := []struct{ name, xml, want string }{
		{"bool 1/0 and padded ints", `<s:scalars xmlns:s="urn:scalars"><i32> +7 </i32><flag>1</flag><u64>+5</u64></s:scalars>`, `{"i32":7,"u64":"5","flag":true}`},
		{"float specials", `<s:scalars xmlns:s="urn:scalars"><d>NaN</d><f>INF</f></s:scalars>`, `{"d":"NaN","f":"Infinity"}`},
		{"base64 with line breaks", `<s:scalars xmlns:s="urn:scalars"><b64>AAEC
		/w==</b64><hex>0a0B</hex></s:scalars>`, `{"b64":"AAEC/w==","hex":"Cgs="}`},
		{"dateTime without zone as UTC", `<s:scalars xmlns:s="urn:scalars"><at>2024-01-02T03:04:05</at></s:scalars>`, `{"at":"2024-01-02T03:04:05Z"}`},
		{"token collapses", `<s:scalars xmlns:s="urn:scalars"><token>  a
		  b </token><amount> 1.50 </amount></s:scalars>`, `{"amount":"1.50","token":"a b"}`},
		{"prefix independent, CDATA, comments", `<?xml version="1.0"?><!-- c --><q:scalars xmlns:q="urn:scalars"><text><![CDATA[<&>]]></text><!-- x --></q:scalars>`, `{"text":"<&>"}`},
		{"default namespace only on root", `<scalars xmlns="urn:scalars"><text xmlns="">a</text></scalars>`, `{"text":"a"}`},
		{"latin-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><s:scalars xmlns:s=\"urn:scalars\"><text>caf\xe9</text></s:scalars>", `{"text":"café"}`},
	}
	p := plan(t, "Scalars")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := dynamicpb.NewMessage(p.Descriptor())
			if err := p.Unmarshal([]byte(tt.xml), m, xmlcodec.DecodeOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := toJSON(t, m); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestDecodeErrors checks that bad input fails with the right kind and path,
// and never panics.
func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat("<child>", 200) + strings.Repeat("</child>", 200)
	tests := []struct {
		name, msg, xml string
		opts           xmlcodec.DecodeOptions
		kind           xmlcodec.ErrorKind
		path           string
	}{
		{"unknown element", "Scalars", `<s:scalars xmlns:s="urn:scalars"><i32>1</i32><foo/></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrUnknown, "/scalars/foo"},
		{"element in wrong namespace", "Scalars", `<s:scalars xmlns:s="urn:scalars"><s:i32>1</s:i32></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrUnknown, "/scalars/i32"},
		{"root in wrong namespace", "Scalars", `<scalars><i32>1</i32></scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrUnknown, "/scalars"},
		{"stray text", "Scalars", `<s:scalars xmlns:s="urn:scalars">hello<i32>1</i32></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrUnknown, "/scalars"},
		{"element where text", "Scalars", `<s:scalars xmlns:s="urn:scalars"><i32><x/></i32></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrUnknown, "/scalars/i32/x"},
		{"twice", "Scalars", `<s:scalars xmlns:s="urn:scalars"><i32>1</i32><i32>2</i32></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrUnknown, "/scalars/i32"},
		{"int overflow", "Scalars", `<s:scalars xmlns:s="urn:scalars"><i32>2147483648</i32></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrValue, "/scalars/i32"},
		{"hex int", "Scalars", `<s:scalars xmlns:s="urn:scalars"><i64>0x10</i64></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrValue, "/scalars/i64"},
		{"bad decimal", "Scalars", `<s:scalars xmlns:s="urn:scalars"><amount>1,5</amount></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrValue, "/scalars/amount"},
		{"decimal NaN", "Scalars", `<s:scalars xmlns:s="urn:scalars"><amount>NaN</amount></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrValue, "/scalars/amount"},
		{"bad bool", "Scalars", `<s:scalars xmlns:s="urn:scalars"><flag>yes</flag></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrValue, "/scalars/flag"},
		{"hex float", "Scalars", `<s:scalars xmlns:s="urn:scalars"><d>0x1p3</d></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrValue, "/scalars/d"},
		{"float with digit separator", "Scalars", `<s:scalars xmlns:s="urn:scalars"><f>1_000</f></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrValue, "/scalars/f"},
		{"bad enum", "Scalars", `<s:scalars xmlns:s="urn:scalars"><color>COLOR_RED</color></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrValue, "/scalars/color"},
		{"bad attribute", "Lists", `<lists><point xmlns="urn:geo" x="a"/></lists>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrValue, "/lists/point/@x"},
		{"bad wrapped item", "Lists", `<lists><numbers><m>1</m></numbers></lists>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrUnknown, "/lists/numbers/m"},
		{"nil with content", "Nils", `<nils xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s xsi:nil="true">x</s></nils>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrValue, "/nils/s"},
		{"doctype", "Scalars", `<!DOCTYPE x [<!ENTITY a "b">]><s:scalars xmlns:s="urn:scalars"/>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrForbidden, ""},
		{"entity reference", "Scalars", `<s:scalars xmlns:s="urn:scalars"><text>&a;</text></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrSyntax, "/scalars/text"},
		{"truncated", "Scalars", `<s:scalars xmlns:s="urn:scalars"><text>abc`, xmlcodec.DecodeOptions{}, xmlcodec.ErrSyntax, "/scalars/text"},
		{"mismatched tags", "Scalars", `<s:scalars xmlns:s="urn:scalars"><text>abc</i32></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrSyntax, "/scalars/text"},
		{"undeclared prefix", "Scalars", `<x:scalars/>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrSyntax, "/scalars"},
		{"HTML page", "Scalars", `<html><body>Error</body></html>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrUnknown, "/html"},
		{"HTML not well-formed", "Scalars", `<s:scalars xmlns:s="urn:scalars"><text><br></text></s:scalars>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrUnknown, "/scalars/text/br"},
		{"HTML not well-formed, lax", "Scalars", `<s:scalars xmlns:s="urn:scalars"><text><br></text></s:scalars>`, xmlcodec.DecodeOptions{Lax: true}, xmlcodec.ErrSyntax, "/scalars/text/br"},
		{"empty", "Scalars", ``, xmlcodec.DecodeOptions{}, xmlcodec.ErrSyntax, ""},
		{"two roots", "Scalars", `<s:scalars xmlns:s="urn:scalars"/><s:scalars xmlns:s="urn:scalars"/>`, xmlcodec.DecodeOptions{}, xmlcodec.ErrSyntax, ""},
		{"too deep", "Recursive", `<r>` + deep + `</r>`, xmlcodec.DecodeOptions{Lax: true}, xmlcodec.ErrTooDeep, "/r/child/child/.../child/child/child/child/child/child/child/child"},
		{"text too large", "Scalars", `<s:scalars xmlns:s="urn:scalars"><text>` + strings.Repeat("a", 2000) + `</text></s:scalars>`,
			xmlcodec.DecodeOptions{Limits: xmlcodec.Limits{MaxTextBytes: 1000}}, xmlcodec.ErrTextTooLarge, "/scalars/text"},
		{"attribute too large", "Lists", `<lists><point xmlns="urn:geo" x="` + strings.Repeat("1", 2000) + `"/></lists>`,
			xmlcodec.DecodeOptions{Limits: xmlcodec.Limits{MaxTextBytes: 1000}}, xmlcodec.ErrTextTooLarge, "/lists/point"},
		{"input too large", "Scalars", `<s:scalars xmlns:s="urn:scalars"><text>` + strings.Repeat("a", 5000) + `</text></s:scalars>`,
			xmlcodec.DecodeOptions{Limits: xmlcodec.Limits{MaxBytes: 1000}}, xmlcodec.ErrTooLarge, "/scalars/text"},
		{"unknown xsi:type", "AddList", `<addList><record xmlns="` + suiteNS + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Nope"/></addList>`,
			xmlcodec.DecodeOptions{}, xmlcodec.ErrValue, "/addList/record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(t, tt.msg)
			data := tt.xml
			if tt.msg == "AddList" {
				data = strings.Replace(data, "<addList>", `<addList>`, 1)
			}
			m := dynamicpb.NewMessage(p.Descriptor())
			err := unmarshalAnyRoot(p, []byte(data), m, tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			e, ok := err.(*xmlcodec.Error)
			if !ok {
				t.Fatalf("error %T %v is not an *xmlcodec.Error", err, err)
			}
			if e.Kind != tt.kind || e.Path != tt.path {
				t.Errorf("got kind %v path %q (%v), want %v %q", e.Kind, e.Path, err, tt.kind, tt.path)
			}
		})
	}
}

// unmarshalAnyRoot decodes the document's root element into m, whatever its name.
func unmarshalAnyRoot(p *xmlcodec.Plan, data []byte, m *dynamicpb.Message, opts xmlcodec.DecodeOptions) error {
	if p.Descriptor().Name() != "AddList" {
		return p.Unmarshal(data, m, opts)
	}
	d := xmlcodec.NewDecoder(strings.NewReader(string(data)), opts.Limits)
	start, err := d.Root()
	if err != nil {
		return err
	}
	return p.DecodeElement(d, start, m)
}

// TestLax skips what the schema does not declare, a second element for a singular
// field included: it never overwrites the first.
func TestLax(t *testing.T) {
	p := plan(t, "Scalars")
	m := dynamicpb.NewMessage(p.Descriptor())
	doc := `<s:scalars xmlns:s="urn:scalars">junk<i32>1</i32><foo><bar>deep</bar></foo><i32>2</i32><text>t<b/></text></s:scalars>`
	if err := p.Unmarshal([]byte(doc), m, xmlcodec.DecodeOptions{Lax: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := toJSON(t, m), `{"i32":1,"text":"t"}`; got != want {
		t.Errorf("got %s want %s", got, want)
	}
}

// TestEncodeErrors checks values that cannot be written.
func TestEncodeErrors(t *testing.T) {
	tests := []struct{ name, msg, json, want string }{
		{"bad decimal", "Scalars", `{"amount": "12,5"}`, "/scalars/amount"},
		{"date where a dateTime is due", "Scalars", `{"amount": "1", "when": "2024-01-01", "text": "a\u0001b"}`, "/scalars/when"},
		{"control character", "Scalars", `{"amount": "1", "when": "2024-01-01T00:00:00", "text": "a\u0001b"}`, "/scalars/text"},
		{"required dateTime unset", "Scalars", `{"amount": "1"}`, "/scalars/when"},
		{"invalid raw", "Envelope", `{"extra": "<a><b></a>"}`, "/doc"},
		{"raw with doctype", "Envelope", `{"extra": "<!DOCTYPE x><a/>"}`, "/doc"},
		{"raw closing the parent", "Envelope", `{"extra": "</doc><doc>"}`, "/doc"},
		{"required decimal unset", "Scalars", `{}`, "/scalars/amount"},
		{"unspecified enum in list", "Scalars", `{"amount": "1", "colors": ["COLOR_UNSPECIFIED"]}`, "/scalars"},
		{"any of unknown type", "AddList", `{"record": [{"@type": "type.googleapis.com/codectest.Card", "number": "1"}]}`, "/AddList"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(t, tt.msg)
			_, err := p.Marshal(fromJSON(t, tt.msg, tt.json))
			e, ok := err.(*xmlcodec.Error)
			if !ok || e.Kind != xmlcodec.ErrValue || !strings.HasPrefix(e.Path, tt.want) {
				t.Errorf("got %v, want a value error at %s", err, tt.want)
			}
		})
	}
}

// TestCompileErrors checks option misuse is reported by Compile.
func TestCompileErrors(t *testing.T) {
	for name, want := range map[string]string{
		"BadMap":  "map",
		"BadText": "simpleContent",
		"BadDup":  "another field maps to element x",
		"BadAttr": "must be a scalar",
		"BadRaw":  "singular string or bytes",
		"BadWrap": "repeated fields only",
		"BadName": "not a valid name",
	} {
		_, err := xmlcodec.Compile(msgDesc(t, name))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", name, err, want)
		}
	}
}

// TestSelect splits a message's fields, as SOAP headers and body are.
func TestSelect(t *testing.T) {
	p := plan(t, "Payment")
	m := fromJSON(t, "Payment", `{"id": "x", "iban": "DE"}`)
	onlyID := p.Select(func(fd protoreflect.FieldDescriptor) bool { return fd.Name() == "id" })
	w := xmlcodec.NewWriter()
	if err := onlyID.EncodeElement(w, xml.Name{Local: "h"}, m); err != nil {
		t.Fatal(err)
	}
	b, _ := w.Bytes()
	if diff, _ := xmltest.Diff([]byte(`<h><p:id xmlns:p="urn:pay">x</p:id></h>`), b, xmltest.Options{}); diff != "" {
		t.Error(diff)
	}
}

// TestParseQName checks the "{ns}local" forms, including namespaces holding
// braces (cut at the last '}').
func TestParseQName(t *testing.T) {
	tests := []struct {
		in   string
		want xml.Name
		ok   bool
	}{
		{"", xml.Name{}, true},
		{"{urn:a}b", xml.Name{Space: "urn:a", Local: "b"}, true},
		{"{http://{{url}}/svc}Op", xml.Name{Space: "http://{{url}}/svc", Local: "Op"}, true},
		{"{}local", xml.Name{Local: "local"}, true},
		{"xsd:int", xml.Name{Space: xmlcodec.XSDNamespace, Local: "int"}, true},
		{"plain", xml.Name{Local: "plain"}, true},
		{"{urn:a", xml.Name{}, false},
		{"{urn:a}", xml.Name{Space: "urn:a"}, false},
		{"{urn:a}b}", xml.Name{Space: "urn:a}b"}, false},
		{"p:x", xml.Name{}, false},
	}
	for _, tt := range tests {
		got, ok := xmlcodec.ParseQName(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("ParseQName(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
