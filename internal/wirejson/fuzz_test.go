package wirejson

import (
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/dynamicpb"
)

var fuzzTypes = []string{"wj.All", "wj.Scalars", "wj2.P2", "wj2.Holder"}

// FuzzAppendJSON compares AppendJSON and Validate with proto.Unmarshal and
// protojson.Marshal on arbitrary wire bytes, seeded with random messages.
func FuzzAppendJSON(f *testing.F) {
	g := &gen{r: rand.New(rand.NewPCG(5, 6))}
	for i, name := range fuzzTypes {
		md := messageType(f, name)
		for range 20 {
			for _, w := range g.wires(md) {
				f.Add(w, uint8(i))
			}
		}
	}
	codecs := map[string]*Codec{}
	f.Fuzz(func(t *testing.T, wire []byte, which uint8) {
		name := fuzzTypes[int(which)%len(fuzzTypes)]
		md := messageType(t, name)
		c := codecs[name]
		if c == nil {
			c = codec(t, md)
			codecs[name] = c
		}
		checkJSON(t, c, md, wire)
	})
}

// FuzzAppendWire compares AppendWire with protojson.Unmarshal on arbitrary
// JSON, seeded with protojson's renderings of random messages.
func FuzzAppendWire(f *testing.F) {
	g := &gen{r: rand.New(rand.NewPCG(7, 8))}
	for i, name := range fuzzTypes {
		md := messageType(f, name)
		for range 20 {
			m := dynamicpb.NewMessage(md)
			g.fill(m, 3)
			for _, o := range []protojson.MarshalOptions{{AllowPartial: true}, {AllowPartial: true, UseProtoNames: true, UseEnumNumbers: true}, {AllowPartial: true, EmitUnpopulated: true}} {
				if doc, err := o.Marshal(m); err == nil {
					f.Add(doc, uint8(i))
				}
			}
		}
	}
	codecs := map[string]*Codec{}
	f.Fuzz(func(t *testing.T, doc []byte, which uint8) {
		name := fuzzTypes[int(which)%len(fuzzTypes)]
		md := messageType(t, name)
		c := codecs[name]
		if c == nil {
			c = codec(t, md)
			codecs[name] = c
		}
		checkWire(t, c, md, doc)
	})
}
