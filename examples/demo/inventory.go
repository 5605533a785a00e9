package demo

import (
	"encoding/xml"
	"net/http"
)

// stock is the inventory upstream's <stock> document.
type stock struct {
	XMLName   xml.Name `xml:"stock"`
	Warehouse string   `xml:"warehouse,attr"`
	Items     []item   `xml:"item"`
	Updated   string   `xml:"updated"`
}

// item is one <item> of a stock document.
type item struct {
	SKU      string `xml:"sku,attr"`
	Name     string `xml:"name"`
	Quantity int64  `xml:"quantity"`
}

// inventory is the demo's XML upstream: read-only warehouse stock. The north
// warehouse holds a single item whose quantity is beyond 2^53, the south one
// several.
type inventory struct {
	stock map[string]stock
}

func newInventory() *inventory {
	return &inventory{stock: map[string]stock{
		"north": {Warehouse: "north", Updated: "2026-01-15T08:00:00Z", Items: []item{
			{SKU: "BOLT-M6", Name: "hex bolt M6", Quantity: 9007199254740993},
		}},
		"south": {Warehouse: "south", Updated: "2026-01-15T09:30:00Z", Items: []item{
			{SKU: "NUT-M6", Name: "hex nut M6", Quantity: 1200},
			{SKU: "WASHER-M6", Name: "flat washer M6", Quantity: 0},
			{SKU: "BOLT-M8", Name: "hex bolt M8", Quantity: 75},
		}},
	}}
}

// handler serves GET /warehouses/{warehouse}/stock as application/xml.
func (inv *inventory) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /warehouses/{warehouse}/stock", func(w http.ResponseWriter, r *http.Request) {
		s, ok := inv.stock[r.PathValue("warehouse")]
		if !ok {
			writeXML(w, http.StatusNotFound, struct {
				XMLName xml.Name `xml:"error"`
				Message string   `xml:"message"`
			}{Message: "no warehouse " + r.PathValue("warehouse")})
			return
		}
		writeXML(w, http.StatusOK, s)
	})
	return mux
}

func writeXML(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}
