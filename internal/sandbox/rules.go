package sandbox

import (
	"math"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protobridge/protobridge/bridge"
)

// fieldRules are fd's buf.validate rules; nil when it has none.
func fieldRules(fd protoreflect.FieldDescriptor) *validate.FieldRules {
	r, _ := bridge.ReadOption(fd.Options(), validate.E_Field).(*validate.FieldRules)
	return r
}

// count is how many entries a repeated or map field gets: the generator's
// items, within the field's min_items/max_items (min_pairs/max_pairs); the
// entries a minimum adds beyond items come out of the reply's allowance.
func (g *generator) count(fd protoreflect.FieldDescriptor) int {
	r := fieldRules(fd)
	lo, hi := uint64(0), uint64(math.MaxInt32)
	if l := r.GetRepeated(); l != nil {
		if l.HasMinItems() {
			lo = l.GetMinItems()
		}
		if l.HasMaxItems() {
			hi = l.GetMaxItems()
		}
	}
	if m := r.GetMap(); m != nil {
		if m.HasMinPairs() {
			lo = m.GetMinPairs()
		}
		if m.HasMaxPairs() {
			hi = m.GetMaxPairs()
		}
	}
	n := int(min(max(uint64(g.items), lo), hi, maxMessages))
	if extra := n - g.items; extra > 0 {
		extra = min(extra, max(g.entries, 0))
		g.entries -= extra
		n = min(n, g.items+extra)
	}
	return n
}

// A field's buf.validate rules (which gen wsdl writes from XSD facets, and
// authors write by hand) bend a generated value too: a string into its
// pattern, length and allowed values, a number into its range and allowed
// values; an entry of a repeated field obeys the field's items rules.
func (g *generator) obey(fd protoreflect.FieldDescriptor, v protoreflect.Value) protoreflect.Value {
	r := fieldRules(fd)
	if fd.IsList() {
		r = r.GetRepeated().GetItems()
	}
	if r == nil {
		return v
	}
	if s := r.GetString(); s != nil && fd.Kind() == protoreflect.StringKind {
		if in := s.GetIn(); len(in) > 0 {
			return protoreflect.ValueOfString(in[g.r.IntN(len(in))])
		}
		str := v.String()
		if s.HasPattern() {
			if p, ok := g.fromPattern(s.GetPattern()); ok {
				str = p
			}
		}
		lo, hi := 0, math.MaxInt
		if s.HasLen() {
			lo, hi = int(s.GetLen()), int(s.GetLen())
		}
		if s.HasMinLen() {
			lo = int(s.GetMinLen())
		}
		if s.HasMaxLen() {
			hi = int(s.GetMaxLen())
		}
		return protoreflect.ValueOfString(fit(str, lo, hi))
	}
	var lo, hi float64 = math.Inf(-1), math.Inf(1)
	var in []float64
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n := r.GetInt32()
		lo, hi = bounds(n.HasGte(), float64(n.GetGte()), n.HasGt(), float64(n.GetGt()), n.HasLte(), float64(n.GetLte()), n.HasLt(), float64(n.GetLt()))
		for _, x := range n.GetIn() {
			in = append(in, float64(x))
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n := r.GetInt64()
		lo, hi = bounds(n.HasGte(), float64(n.GetGte()), n.HasGt(), float64(n.GetGt()), n.HasLte(), float64(n.GetLte()), n.HasLt(), float64(n.GetLt()))
		for _, x := range n.GetIn() {
			in = append(in, float64(x))
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n := r.GetUint32()
		lo, hi = bounds(n.HasGte(), float64(n.GetGte()), n.HasGt(), float64(n.GetGt()), n.HasLte(), float64(n.GetLte()), n.HasLt(), float64(n.GetLt()))
		for _, x := range n.GetIn() {
			in = append(in, float64(x))
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n := r.GetUint64()
		lo, hi = bounds(n.HasGte(), float64(n.GetGte()), n.HasGt(), float64(n.GetGt()), n.HasLte(), float64(n.GetLte()), n.HasLt(), float64(n.GetLt()))
		for _, x := range n.GetIn() {
			in = append(in, float64(x))
		}
	case protoreflect.DoubleKind:
		n := r.GetDouble()
		if n.HasGte() {
			lo = n.GetGte()
		}
		if n.HasGt() {
			lo = math.Max(lo, n.GetGt()+0.01)
		}
		if n.HasLte() {
			hi = n.GetLte()
		}
		if n.HasLt() {
			hi = math.Min(hi, n.GetLt()-0.01)
		}
		in = n.GetIn()
	case protoreflect.FloatKind:
		n := r.GetFloat()
		if n.HasGte() {
			lo = float64(n.GetGte())
		}
		if n.HasGt() {
			lo = math.Max(lo, float64(n.GetGt())+0.01)
		}
		if n.HasLte() {
			hi = float64(n.GetLte())
		}
		if n.HasLt() {
			hi = math.Min(hi, float64(n.GetLt())-0.01)
		}
		for _, x := range n.GetIn() {
			in = append(in, float64(x))
		}
	default:
		return v
	}
	var x float64
	switch fd.Kind() {
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		x = v.Float()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		x = float64(v.Uint())
	default:
		x = float64(v.Int())
	}
	if len(in) > 0 {
		x = in[g.r.IntN(len(in))]
	} else if x < lo || x > hi {
		switch {
		case !math.IsInf(lo, 0) && !math.IsInf(hi, 0):
			x = lo + math.Floor((hi-lo)/2)
		case !math.IsInf(lo, 0):
			x = lo
		default:
			x = hi
		}
	}
	switch fd.Kind() {
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(x)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(x))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(x))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(x))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(x))
	}
	return protoreflect.ValueOfInt64(int64(x))
}

// bounds is the closed range that gte/gt/lte/lt allow (integers: gt n is gte n+1).
func bounds(hasGte bool, gte float64, hasGt bool, gt float64, hasLte bool, lte float64, hasLt bool, lt float64) (float64, float64) {
	lo, hi := math.Inf(-1), math.Inf(1)
	if hasGte {
		lo = gte
	}
	if hasGt {
		lo = math.Max(lo, math.Floor(gt)+1)
	}
	if hasLte {
		hi = lte
	}
	if hasLt {
		hi = math.Min(hi, math.Ceil(lt)-1)
	}
	return lo, hi
}
