package xmlcodec

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// enumMap maps an enum's values to their XSD literals and back.
type enumMap struct {
	byLiteral map[string]protoreflect.EnumNumber
	byNumber  map[protoreflect.EnumNumber]string
}

// newEnumMap derives each value's literal: its (protobridge.v1.xml_value)
// option when set, else the value name without the enum's SCREAMING_SNAKE prefix. A
// zero value named *_UNSPECIFIED has no literal unless the option gives one.
func newEnumMap(ed protoreflect.EnumDescriptor) (*enumMap, error) {
	em := &enumMap{byLiteral: map[string]protoreflect.EnumNumber{}, byNumber: map[protoreflect.EnumNumber]string{}}
	prefix := screamingSnake(string(ed.Name())) + "_"
	vals := ed.Values()
	for i := 0; i < vals.Len(); i++ {
		vd := vals.Get(i)
		lit, ok := enumValueLiteral(vd)
		if !ok {
			name := string(vd.Name())
			if vd.Number() == 0 && strings.HasSuffix(name, "_UNSPECIFIED") {
				continue
			}
			lit = strings.TrimPrefix(name, prefix)
		}
		if _, dup := em.byLiteral[lit]; dup {
			return nil, fmt.Errorf("enum %s: two values have XSD literal %q", ed.FullName(), lit)
		}
		em.byLiteral[lit] = vd.Number()
		if _, seen := em.byNumber[vd.Number()]; !seen {
			em.byNumber[vd.Number()] = lit
		}
	}
	return em, nil
}

// screamingSnake converts a CamelCase name to SCREAMING_SNAKE_CASE.
func screamingSnake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
			(i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

var (
	decimalRE = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)$`)
	integerRE = regexp.MustCompile(`^[+-]?\d+$`)
	floatRE   = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)
)

// xsdLexical says how a string field's text is checked and normalised for
// its XSD type.
type xsdLexical int

// The kinds from lexDecimal on are checked: their values must be in the XSD type's
// lexical space (on input, with the tolerance described in lexical.go).
const (
	lexString     xsdLexical = iota // kept verbatim
	lexCollapse                     // whitespace collapsed (token, QName, anyURI, ...)
	lexDecimal                      // collapsed, then checked as xsd:decimal
	lexInteger                      // collapsed, then checked as an integer
	lexUnsigned                     // collapsed, then checked as a non-negative integer
	lexDateTime                     // collapsed, then checked as xsd:dateTime
	lexDate                         // ... xsd:date
	lexTime                         // ... xsd:time
	lexGYearMonth                   // ... xsd:gYearMonth
	lexGYear                        // ... xsd:gYear
	lexGMonthDay                    // ... xsd:gMonthDay
	lexGDay                         // ... xsd:gDay
	lexGMonth                       // ... xsd:gMonth
	lexDuration                     // ... xsd:duration
)

func lexicalOf(t xml.Name) xsdLexical {
	if t.Space != XSDNamespace {
		// No type, or a user simple type whose base is not known here.
		return lexString
	}
	switch t.Local {
	case "string", "normalizedString", "anyType", "anySimpleType":
		return lexString
	case "decimal":
		return lexDecimal
	case "integer", "nonPositiveInteger", "negativeInteger", "long", "int", "short", "byte":
		return lexInteger
	case "nonNegativeInteger", "positiveInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte":
		return lexUnsigned
	case "dateTime":
		return lexDateTime
	case "date":
		return lexDate
	case "time":
		return lexTime
	case "gYearMonth":
		return lexGYearMonth
	case "gYear":
		return lexGYear
	case "gMonthDay":
		return lexGMonthDay
	case "gDay":
		return lexGDay
	case "gMonth":
		return lexGMonth
	case "duration":
		return lexDuration
	}
	return lexCollapse
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// normaliseString checks and normalises a string field's lexical value: strictly when
// writing, tolerantly when reading (see lexical.go: numbers in scientific notation
// are rewritten exactly, dates kept as sent).
func normaliseString(lex xsdLexical, s string, reading bool) (string, error) {
	switch lex {
	case lexString:
		return s, nil
	case lexCollapse:
		return collapse(s), nil
	}
	if lex > lexUnsigned {
		s = collapse(s)
	} else {
		s = strings.TrimSpace(s) // numbers hold no inner white space to collapse
	}
	if s == "" {
		return "", fmt.Errorf("a value is required (the XSD type is %s)", lexicalName(lex))
	}
	switch lex {
	case lexDecimal:
		if reading {
			if d, ok := tolerantDecimal(s); ok {
				return d, nil
			}
		} else if decimalRE.MatchString(s) {
			return s, nil
		}
		return "", fmt.Errorf("%q is not an xsd:decimal", clip(s))
	case lexInteger, lexUnsigned:
		i, ok := s, integerRE.MatchString(s)
		if reading && !ok {
			i, ok = tolerantInteger(s)
		}
		switch {
		case !ok:
			return "", fmt.Errorf("%q is not an integer", clip(s))
		case lex == lexUnsigned && strings.HasPrefix(i, "-") && strings.Trim(i[1:], "0") != "":
			return "", fmt.Errorf("%q is not a non-negative integer", clip(s))
		}
		return i, nil
	}
	if !reading && !checkDateLike(lex, s) {
		return "", fmt.Errorf("%q is not an %s", clip(s), lexicalName(lex))
	}
	return s, nil
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// parseScalar converts an element's text or an attribute's value to the
// field's kind.
func (f *field) parseScalar(s string) (protoreflect.Value, error) {
	fd := f.scalarFD
	if fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.BytesKind {
		s = strings.TrimSpace(s)
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		v, err := normaliseString(f.lex, s, true)
		return protoreflect.ValueOfString(v), err
	case protoreflect.BoolKind:
		switch strings.ToLower(s) {
		case "true", "1":
			return protoreflect.ValueOfBool(true), nil
		case "false", "0":
			return protoreflect.ValueOfBool(false), nil
		}
		return protoreflect.Value{}, fmt.Errorf("%q is not an xsd:boolean", clip(s))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		i, ok := tolerantInteger(s)
		n, err := strconv.ParseInt(i, 10, 32)
		if err != nil || !ok {
			return protoreflect.Value{}, fmt.Errorf("%q is not a 32-bit integer", clip(s))
		}
		return protoreflect.ValueOfInt32(int32(n)), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		i, ok := tolerantInteger(s)
		n, err := strconv.ParseInt(i, 10, 64)
		if err != nil || !ok {
			return protoreflect.Value{}, fmt.Errorf("%q is not a 64-bit integer", clip(s))
		}
		return protoreflect.ValueOfInt64(n), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		i, ok := tolerantInteger(s)
		n, err := strconv.ParseUint(strings.TrimPrefix(i, "+"), 10, 32)
		if err != nil || !ok {
			return protoreflect.Value{}, fmt.Errorf("%q is not an unsigned 32-bit integer", clip(s))
		}
		return protoreflect.ValueOfUint32(uint32(n)), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		i, ok := tolerantInteger(s)
		n, err := strconv.ParseUint(strings.TrimPrefix(i, "+"), 10, 64)
		if err != nil || !ok {
			return protoreflect.Value{}, fmt.Errorf("%q is not an unsigned 64-bit integer", clip(s))
		}
		return protoreflect.ValueOfUint64(n), nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		bits := 64
		if fd.Kind() == protoreflect.FloatKind {
			bits = 32
		}
		var x float64
		sp := s
		if v, ok := floatSpecials[strings.ToLower(s)]; ok {
			sp = v
		}
		switch sp {
		case "INF", "+INF":
			x = math.Inf(1)
		case "-INF":
			x = math.Inf(-1)
		case "NaN":
			x = math.NaN()
		default:
			if !floatRE.MatchString(s) {
				return protoreflect.Value{}, fmt.Errorf("%q is not an xsd:%s", clip(s), map[int]string{32: "float", 64: "double"}[bits])
			}
			var err error
			x, err = strconv.ParseFloat(s, bits)
			if err != nil && !isRangeErr(err) {
				return protoreflect.Value{}, fmt.Errorf("%q is not a number", clip(s))
			}
		}
		if bits == 32 {
			return protoreflect.ValueOfFloat32(float32(x)), nil
		}
		return protoreflect.ValueOfFloat64(x), nil
	case protoreflect.BytesKind:
		if f.xsdType == (xml.Name{Space: XSDNamespace, Local: "hexBinary"}) {
			b, err := hex.DecodeString(strings.TrimSpace(s))
			if err != nil {
				return protoreflect.Value{}, fmt.Errorf("not xsd:hexBinary")
			}
			return protoreflect.ValueOfBytes(b), nil
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("not xsd:base64Binary")
		}
		return protoreflect.ValueOfBytes(b), nil
	case protoreflect.EnumKind:
		n, ok := f.enum.byLiteral[s]
		if !ok {
			return protoreflect.Value{}, fmt.Errorf("%q is not a value of enum %s", clip(s), fd.Enum().FullName())
		}
		return protoreflect.ValueOfEnum(n), nil
	}
	return protoreflect.Value{}, fmt.Errorf("%s fields have no XML mapping", fd.Kind())
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// formatScalar writes a value in its XSD lexical form.
func (f *field) formatScalar(v protoreflect.Value) (string, error) {
	fd := f.scalarFD
	switch fd.Kind() {
	case protoreflect.StringKind:
		s := v.String()
		if f.lex >= lexDecimal {
			return normaliseString(f.lex, s, false)
		}
		return s, nil
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool()), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.FormatInt(v.Int(), 10), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10), nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		x := v.Float()
		switch {
		case math.IsInf(x, 1):
			return "INF", nil
		case math.IsInf(x, -1):
			return "-INF", nil
		case math.IsNaN(x):
			return "NaN", nil
		}
		bits := 64
		if fd.Kind() == protoreflect.FloatKind {
			bits = 32
		}
		return strconv.FormatFloat(x, 'g', -1, bits), nil
	case protoreflect.BytesKind:
		if f.xsdType == (xml.Name{Space: XSDNamespace, Local: "hexBinary"}) {
			return strings.ToUpper(hex.EncodeToString(v.Bytes())), nil
		}
		return base64.StdEncoding.EncodeToString(v.Bytes()), nil
	case protoreflect.EnumKind:
		lit, ok := f.enum.byNumber[v.Enum()]
		if !ok {
			return "", fmt.Errorf("enum %s value %d has no XSD literal", fd.Enum().FullName(), v.Enum())
		}
		return lit, nil
	}
	return "", fmt.Errorf("%s fields have no XML mapping", fd.Kind())
}

// parseDateTime reads an xsd:dateTime; without a zone it is taken as UTC.
func parseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an xsd:dateTime", clip(s))
}
