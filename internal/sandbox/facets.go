package sandbox

import (
	"encoding/xml"
	"math"
	"regexp/syntax"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/adapters/soap/wsdl"
)

// Facets: a generated .proto carries each field's XSD type but not its
// facets, so a mock given the WSDL (mock.wsdl) walks the schema beside the
// message it fills and bends each value into its simple type's facets:
// enumerations, lengths, patterns, numeric ranges and digits.

// schemaOf returns the XSD type a message field stands for, inside the
// complex type t (nil: unknown).
func schemaOf(t wsdl.Type, fd protoreflect.FieldDescriptor) wsdl.Type {
	ct, ok := t.(*wsdl.ComplexType)
	if !ok || ct == nil {
		return nil
	}
	x := xmlOptions(fd)
	name := x.GetName()
	if name == "" {
		name = string(fd.Name())
	}
	switch {
	case x.GetText():
		if ct.Value != nil {
			return ct.Value
		}
		return nil
	case x.GetAttribute():
		for _, a := range ct.Attributes {
			if a.Name.Local == name && a.Type != nil {
				return a.Type
			}
		}
		return nil
	}
	if e := findElement(ct.Content, xml.Name{Space: x.GetNamespace(), Local: name}, 0); e != nil {
		return e.Type
	}
	return nil
}

func findElement(g *wsdl.ModelGroup, name xml.Name, depth int) *wsdl.Element {
	if g == nil || depth > 16 {
		return nil
	}
	for _, p := range g.Particles {
		switch p := p.(type) {
		case *wsdl.Element:
			if p.Name.Local == name.Local && (p.Name.Space == name.Space || name.Space == "" || p.Name.Space == "") {
				return p
			}
		case *wsdl.ModelGroup:
			if e := findElement(p, name, depth+1); e != nil {
				return e
			}
		}
	}
	return nil
}

// simpleOf is the simple type of a scalar's schema type: the type itself,
// or a simple-content complex type's value.
func simpleOf(t wsdl.Type) *wsdl.SimpleType {
	switch t := t.(type) {
	case *wsdl.SimpleType:
		return t
	case *wsdl.ComplexType:
		if t != nil && t.ContentKind == wsdl.SimpleContent {
			return t.Value
		}
	}
	return nil
}

// shape bends a generated string into st's facets.
func (g *generator) shape(s string, st *wsdl.SimpleType, numeric bool) string {
	if st == nil {
		return s
	}
	f := st.Facets
	if len(f.Enumeration) > 0 {
		return f.Enumeration[g.r.IntN(len(f.Enumeration))].Value
	}
	if len(f.Patterns) > 0 {
		if v, ok := g.fromPattern(f.Patterns[0]); ok {
			s = v
		}
	}
	if numeric {
		return g.number(s, f)
	}
	if f.Length != nil {
		return fit(s, *f.Length, *f.Length)
	}
	lo, hi := 0, math.MaxInt
	if f.MinLength != nil {
		lo = *f.MinLength
	}
	if f.MaxLength != nil {
		hi = *f.MaxLength
	}
	return fit(s, lo, hi)
}

// fit pads (with letters) or cuts s to a length in [lo, hi] characters.
func fit(s string, lo, hi int) string {
	r := []rune(s)
	for len(r) < lo {
		r = append(r, rune('a'+len(r)%26))
	}
	if len(r) > hi {
		r = r[:hi]
	}
	return string(r)
}

// number clamps a numeric lexical value into the range and digit facets.
func (g *generator) number(s string, f wsdl.Facets) string {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		v = float64(1 + g.r.IntN(100))
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	bound := func(p *string, exclusive bool, low bool) {
		if p == nil {
			return
		}
		b, err := strconv.ParseFloat(*p, 64)
		if err != nil {
			return
		}
		step := 0.0
		if exclusive {
			step = 1
		}
		if low {
			lo = math.Max(lo, b+step)
		} else {
			hi = math.Min(hi, b-step)
		}
	}
	bound(f.MinInclusive, false, true)
	bound(f.MinExclusive, true, true)
	bound(f.MaxInclusive, false, false)
	bound(f.MaxExclusive, true, false)
	if f.TotalDigits != nil {
		frac := 0
		if f.FractionDigits != nil {
			frac = *f.FractionDigits
		}
		lim := math.Pow(10, float64(*f.TotalDigits-frac)) - 1
		lo, hi = math.Max(lo, -lim), math.Min(hi, lim)
	}
	if v < lo || v > hi {
		switch {
		case !math.IsInf(lo, 0) && !math.IsInf(hi, 0):
			v = lo + math.Floor((hi-lo)/2)
		case !math.IsInf(lo, 0):
			v = lo
		default:
			v = hi
		}
	}
	integral := !strings.Contains(s, ".")
	if f.FractionDigits != nil {
		if *f.FractionDigits == 0 {
			integral = true
		} else if !integral {
			return strconv.FormatFloat(v, 'f', min(*f.FractionDigits, 2), 64)
		}
	}
	if integral {
		return strconv.FormatInt(int64(math.Trunc(v)), 10)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// fromPattern makes a string matching an XSD pattern (a regular
// expression anchored at both ends), as far as Go's syntax reads it.
func (g *generator) fromPattern(p string) (string, bool) {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	if !g.walk(&b, re.Simplify(), 0) {
		return "", false
	}
	return b.String(), true
}

func (g *generator) walk(b *strings.Builder, re *syntax.Regexp, depth int) bool {
	if depth > 50 || b.Len() > 256 {
		return false
	}
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		if len(re.Rune) < 2 {
			return false
		}
		// Prefer letters and digits from the class.
		i := 2 * g.r.IntN(len(re.Rune)/2)
		lo, hi := re.Rune[i], re.Rune[i+1]
		b.WriteRune(lo + rune(g.r.IntN(int(min(hi-lo, 25))+1)))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('x')
	case syntax.OpCapture:
		return g.walk(b, re.Sub[0], depth+1)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !g.walk(b, s, depth+1) {
				return false
			}
		}
	case syntax.OpAlternate:
		return g.walk(b, re.Sub[g.r.IntN(len(re.Sub))], depth+1)
	case syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpPlus:
		return g.walk(b, re.Sub[0], depth+1)
	case syntax.OpRepeat:
		n := re.Min
		if n == 0 && re.Max != 0 {
			n = 1
		}
		for i := 0; i < n; i++ {
			if !g.walk(b, re.Sub[0], depth+1) {
				return false
			}
		}
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
	default:
		return false
	}
	return true
}
