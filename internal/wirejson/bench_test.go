package wirejson

import (
	"encoding/json"
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

// orderJSON is the order of the P1 benchmark (bench/internal/shop).
func orderJSON() string {
	type obj = map[string]any
	money := func(units int64, nanos int32) obj {
		return obj{"currencyCode": "EUR", "units": fmt.Sprint(units), "nanos": nanos}
	}
	colors := []string{"graphite", "glacier blue", "moss green", "sunset orange"}
	sizes := []string{"S", "M", "L", "XL"}
	fulfillment := []string{"FULFILLMENT_WAREHOUSE", "FULFILLMENT_DROPSHIP", "FULFILLMENT_DIGITAL"}
	var items []obj
	for i := range 10 {
		qty := int64(1 + i%3)
		price := int64(19 + 7*i)
		items = append(items, obj{
			"sku":       fmt.Sprintf("SKU-%06d-%s", 104200+i*37, sizes[i%4]),
			"title":     fmt.Sprintf("Trail jacket %d, waterproof, %s", i+1, colors[i%4]),
			"quantity":  fmt.Sprint(qty),
			"unitPrice": money(price, 990000000),
			"total":     money(price*qty+qty-1, 970000000),
			"tags":      []string{"outdoor", "apparel", fmt.Sprintf("season-%d", 2025+i%2)},
			"attributes": obj{
				"color":    colors[i%4],
				"size":     sizes[i%4],
				"material": "recycled nylon",
			},
			"fulfillment": fulfillment[i%3],
			"weightKg":    0.45 + float64(i)/8,
			"gift":        i%4 == 0,
		})
	}
	var history []obj
	statuses := []string{"STATUS_PENDING", "STATUS_PENDING", "STATUS_PAID", "STATUS_PENDING"}
	for i, st := range statuses {
		history = append(history, obj{
			"status":   st,
			"atUnixMs": fmt.Sprint(1767225600000 + int64(i)*3600_000),
			"actor":    fmt.Sprintf("svc-checkout-%d@acme.example", i),
			"reason":   "payment provider callback received and verified",
		})
	}
	addr := obj{
		"recipient":   "Jordan Example",
		"lines":       []string{"Hauptstrasse 42", "Hinterhaus, 3. OG"},
		"locality":    "Berlin",
		"region":      "BE",
		"postalCode":  "10115",
		"countryCode": "DE",
	}
	order := obj{
		"id":     "ord_01JH8Z3Q4T7M2K9V5R6X1C0B8N",
		"shop":   "acme-outdoor",
		"status": "STATUS_PENDING",
		"customer": obj{
			"id":              "cus_7Y2P9L4K1M",
			"email":           "jordan.example@mail.example",
			"displayName":     "Jordan Example",
			"createdAtUnixMs": "1704067200000",
			"tier":            "TIER_GOLD",
			"phoneNumbers":    []string{"+49 30 1234567", "+49 171 7654321"},
		},
		"shippingAddress": addr,
		"billingAddress":  addr,
		"items":           items,
		"subtotal":        money(1234, 500000000),
		"tax":             money(234, 550000000),
		"total":           money(1469, 50000000),
		"labels": obj{
			"channel":  "web",
			"campaign": "winter-sale",
			"region":   "eu-central",
			"risk":     "low",
		},
		"createdAtUnixMs": "1767225600000",
		"updatedAtUnixMs": "1767229200000",
		"history":         history,
		"note":            "Leave at the back door if nobody answers; the dog is friendly.",
		"revision":        "7",
		"priority":        true,
	}
	b, err := json.Marshal(order)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func BenchmarkOrder(b *testing.B) {
	md := messageType(b, "shop.Order")
	c := codec(b, md)
	// sorted has its keys in alphabetical order (encoding/json's maps);
	// doc is the same order as protojson writes it, in declaration order,
	// and wire in field-number order, as generated code marshals.
	sorted := []byte(orderJSON())
	m := dynamicpb.NewMessage(md)
	if err := protojson.Unmarshal(sorted, m); err != nil {
		b.Fatal(err)
	}
	wire, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	doc, _ := protojson.Marshal(m)
	checkWire(b, c, md, doc)
	checkWire(b, c, md, sorted)
	checkJSON(b, c, md, wire)
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 3*len(wire))
		for b.Loop() {
			if _, err := c.AppendJSON(buf[:0], wire, EncodeOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendWire", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, len(doc))
		for b.Loop() {
			if _, err := c.AppendWire(buf[:0], doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendWire/sorted-keys", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, len(sorted))
		for b.Loop() {
			if _, err := c.AppendWire(buf[:0], sorted); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := Validate(wire, md); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := dynamicpb.NewMessage(md)
			_ = proto.Unmarshal(wire, m)
			_, _ = protojson.Marshal(m)
		}
	})
	b.Run("protojson.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := dynamicpb.NewMessage(md)
			_ = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(doc, m)
			_, _ = proto.Marshal(m)
		}
	})
}
