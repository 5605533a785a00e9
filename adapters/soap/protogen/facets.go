package protogen

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/protobridge/protobridge/adapters/soap/wsdl"
)

// facets carries a simple type's XSD facets into a field: as buf.validate
// rules where one says the same thing (the chain enforces them before a
// call is sent, and the MCP front door turns them into JSON Schema
// constraints), and as a sentence of the field's comment for the rest.
//
//   - pattern: string.pattern, translated from XSD's regular expressions
//     to RE2 and anchored (several patterns of one type: any of them);
//   - length, minLength, maxLength: string.len/min_len/max_len
//     (characters), bytes.len/min_len/max_len (octets);
//   - minInclusive, maxInclusive, minExclusive, maxExclusive: gte, lte,
//     gt, lt of the number field; totalDigits of an integer bound it too;
//   - enumeration (when not an enum): string.in or the number's in;
//   - a facet of a value kept as text (decimal, integer, dates) that no
//     string rule says, and a pattern XSD and RE2 read differently, go in
//     the comment only.
func (g *gen) facets(f *pField, st *wsdl.SimpleType) {
	if st == nil || st.Variety == wsdl.List || f.enum != nil || f.msg != nil {
		return
	}
	fc := st.Facets
	var kvs, notes []string
	note := func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }
	lengths := func() {
		if fc.Length != nil {
			kvs = append(kvs, fmt.Sprintf("len: %d", *fc.Length))
		}
		if fc.MinLength != nil && *fc.MinLength > 0 {
			kvs = append(kvs, fmt.Sprintf("min_len: %d", *fc.MinLength))
		}
		if fc.MaxLength != nil {
			kvs = append(kvs, fmt.Sprintf("max_len: %d", *fc.MaxLength))
		}
	}
	kind := f.typ
	switch f.typ {
	case "string":
		if len(fc.Patterns) > 0 {
			if p, ok := xsdPatterns(fc.Patterns); ok {
				kvs = append(kvs, "pattern: "+quote(p))
			} else {
				note("pattern %s", strings.Join(fc.Patterns, " | "))
			}
		}
		lengths()
		if len(fc.Enumeration) > 0 {
			var in []string
			for _, e := range fc.Enumeration {
				in = append(in, quote(e.Value))
			}
			kvs = append(kvs, "in: ["+strings.Join(in, ", ")+"]")
		}
		for _, b := range []struct {
			name string
			v    *string
		}{{"minInclusive", fc.MinInclusive}, {"maxInclusive", fc.MaxInclusive}, {"minExclusive", fc.MinExclusive}, {"maxExclusive", fc.MaxExclusive}} {
			if b.v != nil {
				note("%s %s", b.name, *b.v)
			}
		}
		if fc.TotalDigits != nil {
			note("totalDigits %d", *fc.TotalDigits)
		}
		if fc.FractionDigits != nil {
			note("fractionDigits %d", *fc.FractionDigits)
		}
	case "bytes":
		lengths()
	case "int32", "int64", "uint32", "uint64", "float", "double":
		kvs, notes = numberRules(f.typ, fc)
	default:
		return
	}
	if len(fc.Patterns) > 0 && f.typ != "string" {
		note("pattern %s", strings.Join(fc.Patterns, " | "))
	}
	if len(kvs) > 0 {
		f.ruleKind, f.rules = kind, kvs
		g.usesValidate = true
	}
	if len(notes) > 0 {
		f.doc = strings.TrimSpace(f.doc + "\n\nXSD facets: " + strings.Join(notes, ", ") + ".")
	}
}

// numberRules are the bounds (and in) of a number field, and notes for
// facets whose values do not parse as its type.
func numberRules(typ string, fc wsdl.Facets) (kvs, notes []string) {
	isFloat := typ == "float" || typ == "double"
	bits := 64
	if typ == "int32" || typ == "uint32" || typ == "float" {
		bits = 32
	}
	literal := func(s string) (string, bool) {
		s = strings.TrimSpace(s)
		var err error
		switch {
		case isFloat:
			var v float64
			v, err = strconv.ParseFloat(s, bits)
			if err == nil && (math.IsInf(v, 0) || math.IsNaN(v)) {
				return "", false
			}
		case strings.HasPrefix(typ, "uint"):
			_, err = strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, bits)
		default:
			_, err = strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, bits)
		}
		return strings.TrimPrefix(s, "+"), err == nil
	}
	for _, b := range []struct {
		name, rule string
		v          *string
	}{{"minInclusive", "gte", fc.MinInclusive}, {"maxInclusive", "lte", fc.MaxInclusive}, {"minExclusive", "gt", fc.MinExclusive}, {"maxExclusive", "lt", fc.MaxExclusive}} {
		if b.v == nil {
			continue
		}
		if lit, ok := literal(*b.v); ok {
			kvs = append(kvs, b.rule+": "+lit)
		} else {
			notes = append(notes, b.name+" "+*b.v)
		}
	}
	if d := fc.TotalDigits; d != nil && !isFloat {
		// At most d digits: |v| <= 10^d - 1, when that is inside the type
		// and no bound above says more.
		if *d < 19 {
			limit := int64(1)
			for range *d {
				limit *= 10
			}
			limit--
			if lim := strconv.FormatInt(limit, 10); fitsBits(limit, typ) {
				if fc.MaxInclusive == nil && fc.MaxExclusive == nil {
					kvs = append(kvs, "lte: "+lim)
				}
				if fc.MinInclusive == nil && fc.MinExclusive == nil && !strings.HasPrefix(typ, "uint") {
					kvs = append(kvs, "gte: -"+lim)
				}
			}
		}
	} else if d != nil {
		notes = append(notes, fmt.Sprintf("totalDigits %d", *d))
	}
	if fc.FractionDigits != nil && isFloat {
		notes = append(notes, fmt.Sprintf("fractionDigits %d", *fc.FractionDigits))
	}
	if len(fc.Enumeration) > 0 {
		var in []string
		for _, e := range fc.Enumeration {
			lit, ok := literal(e.Value)
			if !ok {
				in = nil
				break
			}
			in = append(in, lit)
		}
		if len(in) > 0 {
			kvs = append(kvs, "in: ["+strings.Join(in, ", ")+"]")
		}
	}
	return kvs, notes
}

// fitsBits reports whether limit is inside a 32-bit type (64-bit ones hold
// every limit below 10^19).
func fitsBits(limit int64, typ string) bool {
	switch typ {
	case "int32":
		return limit <= math.MaxInt32
	case "uint32":
		return limit <= math.MaxUint32
	}
	return true
}

// xsdPatterns translates XSD patterns (any of which must match the whole
// value) to one anchored RE2 pattern that ECMA-262 reads the same way; ok
// is false when a pattern uses what the two read differently: \i, \c and
// \w (XML name and word characters), \p{Is...} blocks, class subtraction.
func xsdPatterns(pats []string) (string, bool) {
	var alts []string
	for _, p := range pats {
		re, ok := xsdToRE2(p)
		if !ok {
			return "", false
		}
		alts = append(alts, "("+re+")")
	}
	out := "^(" + strings.Join(alts, "|") + ")$"
	if len(alts) == 1 {
		out = "^" + alts[0] + "$"
	}
	if _, err := regexp.Compile(out); err != nil {
		return "", false
	}
	return out, true
}

func xsdToRE2(p string) (string, bool) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 >= len(p) {
				return "", false
			}
			e := p[i+1]
			i++
			switch e {
			case 'i', 'I', 'c', 'C', 'w', 'W':
				return "", false
			case 'p', 'P':
				if strings.HasPrefix(p[i+1:], "{Is") {
					return "", false
				}
				// Unicode categories (\p{L}) mean the same in RE2 and in
				// ECMA-262 with the u flag, which JSON Schema validators
				// do not all set: leave such a pattern to the comment.
				return "", false
			case '-':
				// A hyphen needs no escape outside a class, and ECMA-262's
				// u mode refuses "\-" there.
				if inClass {
					b.WriteByte('\\')
				}
				b.WriteByte(e)
			case 'n', 'r', 't', '\\', '|', '.', '?', '*', '+', '(', ')', '{', '}', '[', ']', '^', 'd', 'D', 's', 'S':
				b.WriteByte('\\')
				b.WriteByte(e)
			default:
				return "", false
			}
		case inClass && c == '-' && i+1 < len(p) && p[i+1] == '[':
			return "", false // class subtraction
		case c == '[' && !inClass:
			inClass = true
			b.WriteByte(c)
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
		case c == ']' && inClass:
			inClass = false
			b.WriteByte(c)
		case !inClass && (c == '^' || c == '$'):
			// Ordinary characters in XSD, anchors in RE2.
			b.WriteByte('\\')
			b.WriteByte(c)
		case inClass && c == '[':
			b.WriteString(`\[`)
		default:
			b.WriteByte(c)
		}
	}
	if inClass {
		return "", false
	}
	return b.String(), true
}
