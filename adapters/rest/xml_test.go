package rest

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/internal/xmlmap"
)

func bookPlan(t testing.TB) *xmlMessage {
	t.Helper()
	x, err := xmlmap.Plan(messageDesc("Book"))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

const fullBookXML = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment before the root -->
<!DOCTYPE book>
<b:book xmlns:b="urn:books" xmlns:i="urn:isbn" id="9007199254740993" xml:lang="en">
  <b:name>shelves/1/books/2</b:name>
  <b:title>Go &amp; XML</b:title>
  <b:authors><b:author>Ann</b:author><b:author>Bob</b:author></b:authors>
  <b:tag>one</b:tag>
  <b:color>GREEN</b:color>
  <b:price>12.50</b:price>
  <b:available>1</b:available>
  <b:cover>aGk=</b:cover>
  <b:big>18446744073709551615</b:big>
  <b:pages>0</b:pages>
  <b:inner><b:x>007</b:x><b:n>-9007199254740993</b:n><b:tags>t</b:tags></b:inner>
  <b:chapter><b:x>c1</b:x></b:chapter>
  <b:unknown><b:deep>ignored</b:deep></b:unknown>
  <b:chapter><b:x>c2</b:x></b:chapter>
  <i:isbn>978</i:isbn>
  <b:rating>INF</b:rating>
  <b:cost currency="EUR">12.50</b:cost>
</b:book>`

func TestDecodeXML(t *testing.T) {
	tests := []struct {
		name, doc string
		want      string // Book as protojson
		wantErr   string
	}{
		{name: "full document", doc: fullBookXML, want: `{"name":"shelves/1/books/2","title":"Go & XML","id":"9007199254740993",
			"authors":["Ann","Bob"],"tags":["one"],"color":"GREEN","price":12.5,"available":true,"cover":"aGk=",
			"big":"18446744073709551615","pages":0,"inner":{"x":"007","n":"-9007199254740993","tags":["t"]},
			"chapters":[{"x":"c1"},{"x":"c2"}],"isbn":"978","rating":"Infinity","lang":"en","cost":{"currency":"EUR","amount":"12.50"}}`},
		{name: "one element is still a list", doc: `<book><tag>solo</tag><chapter><x>only</x><tags>t</tags></chapter><authors><author>A</author></authors></book>`,
			want: `{"tags":["solo"],"chapters":[{"x":"only","tags":["t"]}],"authors":["A"]}`},
		{name: "default namespace and no namespace both match", doc: `<book xmlns="urn:books"><name>n</name><isbn xmlns="urn:isbn">1</isbn></book>`,
			want: `{"name":"n","isbn":"1"}`},
		{name: "element in the wrong namespace is ignored", doc: `<book xmlns="urn:books"><isbn>1</isbn></book>`, want: `{}`},
		{name: "int64 beyond float precision stays exact", doc: `<book id="9007199254740993"><inner><n>9007199254740993</n></inner></book>`,
			want: `{"id":"9007199254740993","inner":{"n":"9007199254740993"}}`},
		{name: "numbers that look like other things stay strings", doc: `<book><name>1e3</name><title>true</title></book>`, want: `{"name":"1e3","title":"true"}`},
		{name: "enum by number", doc: `<book><color>2</color></book>`, want: `{"color":"GREEN"}`},
		{name: "xsi:nil leaves the field unset", doc: `<book xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><pages xsi:nil="true"/><inner xsi:nil="1"/></book>`, want: `{}`},
		{name: "empty number element is unset", doc: `<book><pages/><price></price></book>`, want: `{}`},
		{name: "empty string element is set", doc: `<book><title/></book>`, want: `{}`},
		{name: "self-closing root", doc: `<book/>`, want: `{}`},
		{name: "BOM and whitespace", doc: "\xef\xbb\xbf\n<book><name>x</name></book>\n", want: `{"name":"x"}`},
		{name: "base64 with line breaks and url-safe", doc: "<book><cover>aG\n k=</cover></book>", want: `{"cover":"aGk="}`},
		{name: "wrong root", doc: `<magazine/>`, wantErr: "root element is <magazine>, expected <book>"},
		{name: "mismatched tags", doc: `<book><name>x</book>`, wantErr: "malformed XML"},
		{name: "truncated", doc: `<book><name>x`, wantErr: "malformed XML"},
		{name: "not XML", doc: `{"name":"x"}`, wantErr: "malformed XML"},
		{name: "no root", doc: `<?xml version="1.0"?>`, wantErr: "no root element"},
		{name: "two roots", doc: `<book/><book/>`, wantErr: "more than one root"},
		{name: "text after root", doc: `<book/>junk`, wantErr: "text outside the root"},
		{name: "uint64 negative", doc: `<book><big>-1</big></book>`, wantErr: `element book/big: "-1" is not a valid uint64`},
		{name: "int64 overflow", doc: `<book><inner><n>9223372036854775808</n></inner></book>`, wantErr: "book/inner/n"},
		{name: "int64 is not a float", doc: `<book id="1e3"/>`, wantErr: `book/@id: "1e3" is not a valid int64`},
		{name: "bad bool", doc: `<book><available>yes</available></book>`, wantErr: "want true, false, 1 or 0"},
		{name: "unknown enum", doc: `<book><color>PURPLE</color></book>`, wantErr: "not a value of test.v1.Color"},
		{name: "hex float refused", doc: `<book><price>0x10</price></book>`, wantErr: "is not a valid double"},
		{name: "bad base64", doc: `<book><cover>!!!</cover></book>`, wantErr: "is not a valid bytes"},
		{name: "empty value in a list", doc: `<book><inner><n>1</n></inner><chapter><n/></chapter></book>`, want: `{"inner":{"n":"1"},"chapters":[{}]}`},
		{name: "undeclared entity", doc: `<!DOCTYPE book [<!ENTITY a "aaaa">]><book><name>&a;</name></book>`, wantErr: "malformed XML"},
		{name: "too deep", doc: strings.Repeat("<a>", xmlmap.MaxDepth+1) + strings.Repeat("</a>", xmlmap.MaxDepth+1), wantErr: "nests deeper than"},
		{name: "non-UTF-8 charset", doc: `<?xml version="1.0" encoding="ISO-8859-1"?><book/>`, wantErr: "malformed XML"},
	}
	plan := bookPlan(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dynamicpb.NewMessage(messageDesc("Book"))
			err := decodeXML([]byte(tt.doc), got, plan)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := newMsg(t, messageDesc("Book"), tt.want)
			if !proto.Equal(got, want) {
				t.Errorf("got  %s\nwant %s", toJSON(t, got), toJSON(t, want))
			}
		})
	}
}

func TestDecodeXMLRepeatedScalarEmpty(t *testing.T) {
	x, err := xmlmap.Plan(messageDesc("Plain"))
	if err != nil {
		t.Fatal(err)
	}
	m := dynamicpb.NewMessage(messageDesc("Plain"))
	err = decodeXML([]byte(`<Plain><nums>1</nums><nums/></Plain>`), m, x)
	if err == nil || !strings.Contains(err.Error(), "empty value in repeated int64 field") {
		t.Fatalf("err = %v", err)
	}
}

func TestEncodeXML(t *testing.T) {
	book := newMsg(t, messageDesc("Book"), `{"name":"shelves/1/books/2","title":"<Go & \"XML\">","id":"9007199254740993",
		"authors":["A","B"],"tags":["t1"],"color":"RED","price":-1.5,"cover":"aGk=","pages":0,
		"chapters":[{"x":"c","n":"9007199254740993"}],"isbn":"978","lang":"en","rating":"-Infinity","big":"18446744073709551615",
		"cost":{"currency":"EUR","amount":"1.10"}}`)
	plan := bookPlan(t)
	got, err := encodeXML(book, plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ns1:book xmlns:ns1="urn:books" id="9007199254740993" xml:lang="en">` +
		`<name>shelves/1/books/2</name><title>&lt;Go &amp; &#34;XML&#34;&gt;</title>` +
		`<authors><author>A</author><author>B</author></authors><tag>t1</tag><color>RED</color><price>-1.5</price>` +
		`<cover>aGk=</cover><big>18446744073709551615</big><pages>0</pages><chapter><x>c</x><n>9007199254740993</n></chapter>` +
		`<ns2:isbn xmlns:ns2="urn:isbn">978</ns2:isbn><rating>-INF</rating><cost currency="EUR">1.10</cost></ns1:book>`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// What we write, we read back unchanged.
	back := dynamicpb.NewMessage(messageDesc("Book"))
	if err := decodeXML(got, back, plan); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(back, book) {
		t.Errorf("round trip:\ngot  %s\nwant %s", toJSON(t, back), toJSON(t, book))
	}
	// Path-bound fields are left out.
	skip := fieldTree{}
	skip.Add(fieldPath{messageDesc("Book").Fields().ByName("name")})
	got, err = encodeXML(newMsg(t, messageDesc("Book"), `{"name":"n","title":"t"}`), plan, skip)
	if err != nil {
		t.Fatal(err)
	}
	if want := `<ns1:book xmlns:ns1="urn:books"><title>t</title></ns1:book>`; !strings.HasSuffix(string(got), want) {
		t.Errorf("got %s, want suffix %s", got, want)
	}
}

func TestXMLPlanErrors(t *testing.T) {
	tests := []struct{ msg, wantErr string }{
		{"BadXML", "is a map, which has no XML mapping"},
		{"BadAttr", "must be a singular scalar"},
		{"BadWrap", "wrapped, which only applies to repeated fields"},
		{"Dup", `a and b both map to XML name "x"`},
		{"TextAndElem", "has a text field (a), so its other fields must be attributes"},
		{"RawField", "holds raw XML, which only SOAP routes pass through"},
		{"Inner", ""},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			_, err := xmlmap.Plan(messageDesc(tt.msg))
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzDecodeXML(f *testing.F) {
	for _, s := range []string{fullBookXML, `<book><tag>a</tag></book>`, `<a:book xmlns:a="urn:books" id="1"><a:inner><a:n>5</a:n></a:inner></a:book>`, `<book><name>x`, `<book/>`} {
		f.Add([]byte(s))
	}
	plan := bookPlan(f)
	f.Fuzz(func(t *testing.T, doc []byte) {
		m := dynamicpb.NewMessage(messageDesc("Book"))
		if err := decodeXML(doc, m, plan); err != nil {
			return
		}
		// Whatever decodes encodes, and reads back the same.
		out, err := encodeXML(m, plan, nil)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		back := dynamicpb.NewMessage(messageDesc("Book"))
		if err := decodeXML(out, back, plan); err != nil {
			t.Fatalf("decode of our own output %s: %v", out, err)
		}
		if !proto.Equal(m, back) {
			t.Fatalf("round trip changed the message:\n%v\n%v\nxml %s", m, back, out)
		}
	})
}
