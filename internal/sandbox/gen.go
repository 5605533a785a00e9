package sandbox

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/adapters/soap/wsdl"
	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// generator fills messages with values that look real, drawn from a
// seeded generator: enum values other than the zero one, the lexical form
// an XSD type asks for (dates, decimals, URIs…), and strings shaped by the
// field's name (emails, names, ids, URLs, prices, currencies…).
type generator struct {
	r      *rand.Rand
	items  int
	budget int // messages the current reply may still hold
	// entries are the list and map entries beyond items the current reply
	// may still hold (a field's min_items asking for more).
	entries int
}

// maxMessages bounds the messages of one generated reply, so that
// recursive types with many items stay small.
const maxMessages = 10_000

// maxExtraEntries bounds the list and map entries one reply holds beyond
// items per field (min_items, min_pairs), so that a large minimum in a
// repeated message stays bounded.
const maxExtraEntries = 100_000

// maxDepth bounds nesting: recursive types stop there.
const maxDepth = 5

// opaque are message types left unset: nothing in the contract says what
// an Any holds or a Struct looks like.
var opaque = map[protoreflect.FullName]bool{"google.protobuf.Any": true, "google.protobuf.Struct": true, "google.protobuf.Value": true,
	"google.protobuf.ListValue": true, "google.protobuf.FieldMask": true, "google.protobuf.Empty": true}

// message is a filled md; t is the XSD type it stands for (nil: unknown),
// whose facets the values then respect.
func (g *generator) message(md protoreflect.MessageDescriptor, t wsdl.Type) *dynamicpb.Message {
	m := dynamicpb.NewMessage(md)
	g.budget, g.entries = maxMessages, maxExtraEntries
	g.fill(m, 0, t)
	return m
}

func (g *generator) fill(m protoreflect.Message, depth int, t wsdl.Type) {
	g.budget--
	md := m.Descriptor()
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		m.Set(md.Fields().ByName("seconds"), protoreflect.ValueOfInt64(g.when().Unix()))
		return
	case "google.protobuf.Duration":
		m.Set(md.Fields().ByName("seconds"), protoreflect.ValueOfInt64(int64(1+g.r.IntN(3600))))
		return
	}
	oneofs := map[protoreflect.FullName]bool{}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if o := fd.ContainingOneof(); o != nil && !o.IsSynthetic() {
			if oneofs[o.FullName()] {
				continue
			}
			oneofs[o.FullName()] = true
			fd = o.Fields().Get(g.r.IntN(o.Fields().Len()))
		}
		x := xmlOptions(fd)
		ft := schemaOf(t, fd)
		if x.GetRaw() || strings.HasSuffix(string(fd.Name()), "_nil") {
			continue
		}
		if isMessage(fd) && (depth >= maxDepth || g.budget <= 0 || opaque[fd.Message().FullName()]) {
			continue
		}
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			// Keys drawn twice make fewer entries: draw on, within reason.
			n := g.count(fd)
			for j := 0; mp.Len() < n && j < 4*n+8; j++ {
				k := g.scalar(fd.MapKey(), j)
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					if g.budget <= 0 {
						break
					}
					v := mp.NewValue()
					g.fill(v.Message(), depth+1, nil)
					mp.Set(k.MapKey(), v)
				} else {
					mp.Set(k.MapKey(), g.scalar(fd.MapValue(), j))
				}
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for j := range g.count(fd) {
				if isMessage(fd) {
					if g.budget <= 0 {
						break
					}
					v := l.NewElement()
					g.fill(v.Message(), depth+1, ft)
					l.Append(v)
				} else {
					l.Append(g.shaped(fd, j, ft))
				}
			}
		case isMessage(fd):
			g.fill(m.Mutable(fd).Message(), depth+1, ft)
		default:
			m.Set(fd, g.shaped(fd, 0, ft))
		}
	}
}

// isMessage reports whether fd holds a message, whether length-prefixed or
// delimited (proto2 groups, editions message_encoding = DELIMITED).
func isMessage(fd protoreflect.FieldDescriptor) bool {
	return fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind
}

func xmlOptions(fd protoreflect.FieldDescriptor) *pbv1.XMLOptions {
	x, _ := bridge.ReadOption(fd.Options(), pbv1.E_Xml).(*pbv1.XMLOptions)
	return x
}

func (g *generator) when() time.Time {
	return time.Date(2020+g.r.IntN(6), time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60), 0, 0, time.UTC)
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Niklaus"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen", "Wirth"}
	cities     = []string{"Berlin", "Lisbon", "Osaka", "Toronto", "Nairobi", "Lyon", "Austin", "Turin"}
	countries  = []string{"DE", "PT", "JP", "CA", "KE", "FR", "US", "IT"}
	currencies = []string{"EUR", "USD", "JPY", "GBP", "CHF"}
	words      = []string{"amber", "birch", "cedar", "delta", "ember", "fjord", "granite", "harbor", "indigo", "juniper", "kestrel", "lumen"}
	titles     = []string{"The Art of Computer Programming", "Structure and Interpretation of Computer Programs", "The Mythical Man-Month", "Design Patterns", "Refactoring"}
	statuses   = []string{"active", "pending", "shipped", "closed"}
)

func (g *generator) pick(l []string) string { return l[g.r.IntN(len(l))] }

// shaped is scalar bent into the facets of the field's schema type t and
// into the field's buf.validate rules.
func (g *generator) shaped(fd protoreflect.FieldDescriptor, i int, t wsdl.Type) protoreflect.Value {
	return g.obey(fd, g.facetted(fd, i, t))
}

// facetted is scalar bent into the XSD facets of t.
func (g *generator) facetted(fd protoreflect.FieldDescriptor, i int, t wsdl.Type) protoreflect.Value {
	v := g.scalar(fd, i)
	st := simpleOf(t)
	if st == nil {
		return v
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		_, numeric := numericXSD[localName(xmlOptions(fd).GetXsdType())]
		return protoreflect.ValueOfString(g.shape(v.String(), st, numeric))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, _ := strconv.ParseInt(g.shape(strconv.FormatInt(v.Int(), 10), st, true), 10, 32)
		return protoreflect.ValueOfInt32(int32(n))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, _ := strconv.ParseInt(g.shape(strconv.FormatInt(v.Int(), 10), st, true), 10, 64)
		return protoreflect.ValueOfInt64(n)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, _ := strconv.ParseUint(g.shape(strconv.FormatUint(v.Uint(), 10), st, true), 10, 32)
		return protoreflect.ValueOfUint32(uint32(n))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, _ := strconv.ParseUint(g.shape(strconv.FormatUint(v.Uint(), 10), st, true), 10, 64)
		return protoreflect.ValueOfUint64(n)
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		f, _ := strconv.ParseFloat(g.shape(strconv.FormatFloat(v.Float(), 'f', 2, 64), st, true), 64)
		if fd.Kind() == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f))
		}
		return protoreflect.ValueOfFloat64(f)
	}
	return v
}

var numericXSD = map[string]struct{}{"decimal": {}, "integer": {}, "long": {}, "int": {}, "short": {}, "byte": {}, "nonNegativeInteger": {}, "positiveInteger": {},
	"unsignedLong": {}, "unsignedInt": {}, "unsignedShort": {}, "unsignedByte": {}, "nonPositiveInteger": {}, "negativeInteger": {}, "float": {}, "double": {}}

// localName is an XSD type's local name: "xsd:date", "xs:date" and
// "{http://www.w3.org/2001/XMLSchema}date" are all "date".
func localName(xsdType string) string { return xsdType[strings.LastIndexAny(xsdType, ":}")+1:] }

// scalar is a value for fd (the i-th of a list or map).
func (g *generator) scalar(fd protoreflect.FieldDescriptor, i int) protoreflect.Value {
	name := strings.ToLower(string(fd.Name()))
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(g.r.IntN(2) == 1)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		if vals.Len() > 1 {
			return protoreflect.ValueOfEnum(vals.Get(1 + g.r.IntN(vals.Len()-1)).Number())
		}
		return protoreflect.ValueOfEnum(vals.Get(0).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(g.integer(name)))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(g.integer(name))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(g.integer(name)))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(g.integer(name)))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(g.decimal()))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(g.decimal())
	case protoreflect.BytesKind:
		b := make([]byte, 8)
		for j := range b {
			b[j] = byte(g.r.IntN(256))
		}
		return protoreflect.ValueOfBytes(b)
	}
	if t := xmlOptions(fd).GetXsdType(); t != "" {
		if s, ok := g.lexical(t); ok {
			return protoreflect.ValueOfString(s)
		}
	}
	return protoreflect.ValueOfString(g.text(name, i))
}

func (g *generator) integer(name string) int64 {
	switch {
	case strings.Contains(name, "year"):
		return int64(1970 + g.r.IntN(55))
	case strings.Contains(name, "age"):
		return int64(18 + g.r.IntN(60))
	case strings.Contains(name, "month"):
		return int64(1 + g.r.IntN(12))
	case strings.Contains(name, "day"):
		return int64(1 + g.r.IntN(28))
	}
	return int64(1 + g.r.IntN(100))
}

func (g *generator) decimal() float64 { return float64(g.r.IntN(100000)) / 100 }

// lexical is a value of a built-in XSD type; false for string-like types.
func (g *generator) lexical(xsdType string) (string, bool) {
	local := localName(xsdType)
	t := g.when()
	switch local {
	case "dateTime", "dateTimeStamp":
		return t.Format(time.RFC3339), true
	case "date":
		return t.Format(time.DateOnly), true
	case "time":
		return t.Format(time.TimeOnly), true
	case "gYear":
		return t.Format("2006"), true
	case "gYearMonth":
		return t.Format("2006-01"), true
	case "decimal":
		return fmt.Sprintf("%.2f", g.decimal()), true
	case "integer", "long", "int", "short", "byte", "nonNegativeInteger", "positiveInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte":
		return fmt.Sprint(1 + g.r.IntN(100)), true
	case "nonPositiveInteger":
		return "0", true
	case "negativeInteger":
		return fmt.Sprint(-1 - g.r.IntN(100)), true
	case "float", "double":
		return fmt.Sprintf("%.2f", g.decimal()), true
	case "boolean":
		return fmt.Sprint(g.r.IntN(2) == 1), true
	case "duration":
		return fmt.Sprintf("PT%dM", 1+g.r.IntN(120)), true
	case "anyURI":
		return "https://example.com/" + g.pick(words), true
	case "base64Binary":
		return b64.EncodeToString([]byte(g.pick(words))), true
	case "hexBinary":
		return fmt.Sprintf("%X", g.r.Uint32()), true
	case "language":
		return "en", true
	}
	return "", false
}

// text is a string shaped by the field's name.
func (g *generator) text(name string, i int) string {
	first, last := g.pick(firstNames), g.pick(lastNames)
	switch {
	case strings.Contains(name, "email") || strings.Contains(name, "mail"):
		return strings.ToLower(first + "." + last + "@example.com")
	case strings.Contains(name, "url") || strings.Contains(name, "uri") || strings.Contains(name, "link") || strings.Contains(name, "href"):
		return "https://example.com/" + g.pick(words) + "/" + fmt.Sprint(1+i)
	case strings.Contains(name, "phone") || strings.Contains(name, "mobile"):
		return fmt.Sprintf("+1-555-%04d", g.r.IntN(10000))
	case strings.Contains(name, "uuid") || strings.Contains(name, "guid"):
		return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<12), g.r.IntN(1<<12), g.r.Uint64()&(1<<48-1))
	case name == "id" || strings.HasSuffix(name, "_id") || strings.HasSuffix(name, "id"):
		return fmt.Sprintf("%s-%d", g.pick(words), 1000+g.r.IntN(9000))
	case strings.Contains(name, "first"):
		return first
	case strings.Contains(name, "last") || strings.Contains(name, "surname"):
		return last
	case strings.Contains(name, "author") || strings.Contains(name, "user") || strings.Contains(name, "name") && !strings.Contains(name, "file"):
		return first + " " + last
	case strings.Contains(name, "title"):
		return g.pick(titles)
	case strings.Contains(name, "city") || strings.Contains(name, "town"):
		return g.pick(cities)
	case strings.Contains(name, "country"):
		return g.pick(countries)
	case strings.Contains(name, "currency"):
		return g.pick(currencies)
	case strings.Contains(name, "price") || strings.Contains(name, "amount") || strings.Contains(name, "total") || strings.Contains(name, "rate"):
		return fmt.Sprintf("%.2f", g.decimal())
	case strings.Contains(name, "status") || strings.Contains(name, "state"):
		return g.pick(statuses)
	case strings.Contains(name, "date"):
		return g.when().Format(time.DateOnly)
	case strings.Contains(name, "time") || strings.HasSuffix(name, "_at"):
		return g.when().Format(time.RFC3339)
	case strings.Contains(name, "zip") || strings.Contains(name, "postal"):
		return fmt.Sprintf("%05d", g.r.IntN(100000))
	case strings.Contains(name, "symbol") || strings.Contains(name, "code") || strings.Contains(name, "sku"):
		return strings.ToUpper(g.pick(words)[:4]) + fmt.Sprint(g.r.IntN(100))
	case strings.Contains(name, "desc") || strings.Contains(name, "text") || strings.Contains(name, "message") || strings.Contains(name, "comment"):
		return fmt.Sprintf("The %s %s near the %s.", g.pick(words), g.pick(statuses), g.pick(words))
	}
	return g.pick(words)
}
