package e2e

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Pet ids with special behaviour in fakePetstore.
const (
	petNotFound    = 404 // 404 with a JSON error body
	petNotJSON     = 900 // 200 with an HTML body
	petTruncated   = 901 // 200 with JSON cut short (Content-Length matches)
	petCut         = 902 // 200 whose connection closes mid-body
	petHuge        = 903 // 200 with a chunked body over max_response_bytes
	petHugeLength  = 904 // 200 with a Content-Length over max_response_bytes
	petStall       = 905 // answers only when the request is cancelled
	petHold        = 906 // answers when the test releases it
	petAssignedID  = 4242
	hugeBodyBytes  = 256 << 10
	maxResponseCfg = "64KiB"
)

// fakeTag, fakeCategory and fakePet are the Petstore schemas, encoded as the
// spec says for JSON and for XML (its xml hints: <pet>, wrapped photoUrls
// and tags).
type fakeTag struct {
	ID   int64  `json:"id,omitempty" xml:"id,omitempty"`
	Name string `json:"name,omitempty" xml:"name,omitempty"`
}

type fakeCategory struct {
	ID   int64  `json:"id,omitempty" xml:"id,omitempty"`
	Name string `json:"name,omitempty" xml:"name,omitempty"`
}

type fakePet struct {
	XMLName   xml.Name      `json:"-" xml:"pet"`
	ID        int64         `json:"id,omitempty" xml:"id,omitempty"`
	Name      string        `json:"name" xml:"name"`
	Category  *fakeCategory `json:"category,omitempty" xml:"category,omitempty"`
	PhotoURLs []string      `json:"photoUrls" xml:"photoUrls>photoUrl"`
	Tags      []fakeTag     `json:"tags,omitempty" xml:"tags>tag"`
	Status    string        `json:"status,omitempty" xml:"status,omitempty"`
}

// fakePetstore is an in-process Petstore upstream that follows the spec for
// ordinary pets and misbehaves on purpose for the pet ids above. It records
// what it receives.
type fakePetstore struct {
	*httptest.Server

	mu       sync.Mutex
	pets     map[int64]fakePet
	requests map[string]int // by "METHOD /path"
	accepts  []string       // Accept header of every GET /pet/{id}
	queries  []string       // raw query of every findByStatus
	bodies   [][]byte       // every POST /pet body
	deletes  []http.Header  // headers of every DELETE

	// cancelled gets one value per stalled request whose cancel the
	// upstream observed; held one per request that reached petHold.
	cancelled, held chan struct{}
	// release lets held requests answer; quit ends every waiting handler
	// when the test ends.
	release, quit chan struct{}
}

func newFakePetstore(t *testing.T) *fakePetstore {
	f := &fakePetstore{
		pets: map[int64]fakePet{
			10: {ID: 10, Name: "doggie", Category: &fakeCategory{ID: 1, Name: "Dogs"},
				PhotoURLs: []string{"https://img.example/doggie.jpg"},
				Tags:      []fakeTag{{ID: 9007199254740993, Name: "good boy"}}, Status: "available"},
			11: {ID: 11, Name: "Tom & Jerry", PhotoURLs: []string{"a.jpg", "b.jpg"}, Status: "sold"},
			12: {ID: 12, Name: "Garfield", Category: &fakeCategory{ID: 2, Name: "Cats"}, PhotoURLs: []string{}, Status: "sold"},
		},
		requests:  map[string]int{},
		cancelled: make(chan struct{}, 16),
		held:      make(chan struct{}, 16),
		release:   make(chan struct{}),
		quit:      make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pet/findByStatus", f.findByStatus)
	mux.HandleFunc("GET /pet/{id}", f.get)
	mux.HandleFunc("POST /pet", f.add)
	mux.HandleFunc("DELETE /pet/{id}", f.delete)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		key := r.Method + " " + r.URL.Path
		f.requests[key]++
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(f.quit)
		f.Close()
	})
	return f
}

// count returns how many requests the upstream got for "METHOD /path".
func (f *fakePetstore) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[key]
}

func (f *fakePetstore) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.accepts = append(f.accepts, r.Header.Get("Accept"))
	f.mu.Unlock()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, "Invalid ID supplied", http.StatusBadRequest)
		return
	}
	switch id {
	case petNotJSON:
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Welcome to nginx!</body></html>"))
		return
	case petTruncated:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":901,"name":"trunc`))
		return
	case petCut:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "200")
		_, _ = w.Write([]byte(`{"id":902,"name":"cut`))
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // closes the connection mid-body
	case petHuge, petHugeLength:
		body := []byte(`{"id":903,"name":"` + strings.Repeat("x", hugeBodyBytes) + `","photoUrls":[]}`)
		w.Header().Set("Content-Type", "application/json")
		if id == petHugeLength {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		for chunk := range slices.Chunk(body, 8<<10) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			_ = http.NewResponseController(w).Flush()
		}
		return
	case petStall:
		select {
		case <-r.Context().Done():
			f.cancelled <- struct{}{}
		case <-f.quit:
		}
		return
	case petHold:
		f.held <- struct{}{}
		select {
		case <-f.release:
			f.writePet(w, r, fakePet{ID: petHold, Name: "patient", PhotoURLs: []string{}})
		case <-f.quit:
		}
		return
	}
	f.mu.Lock()
	p, ok := f.pets[id]
	f.mu.Unlock()
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"code":1,"type":"error","message":"Pet not found"}`))
		return
	}
	f.writePet(w, r, p)
}

// writePet answers XML when the request accepts it, else JSON.
func (f *fakePetstore) writePet(w http.ResponseWriter, r *http.Request, p fakePet) {
	if strings.Contains(r.Header.Get("Accept"), "application/xml") {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write([]byte(xml.Header))
		_ = xml.NewEncoder(w).Encode(p)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p)
}

func (f *fakePetstore) findByStatus(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	f.mu.Lock()
	f.queries = append(f.queries, r.URL.RawQuery)
	out := []fakePet{}
	for _, p := range f.pets {
		if p.Status == status {
			out = append(out, p)
		}
	}
	f.mu.Unlock()
	slices.SortFunc(out, func(a, b fakePet) int { return int(a.ID - b.ID) })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakePetstore) add(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, buf.Bytes())
	f.mu.Unlock()
	var p fakePet
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if r.Header.Get("Content-Type") != "application/json" || dec.Decode(&p) != nil || p.Name == "" || p.PhotoURLs == nil {
		http.Error(w, "Validation exception", http.StatusUnprocessableEntity)
		return
	}
	p.ID = petAssignedID
	f.mu.Lock()
	f.pets[p.ID] = p
	f.mu.Unlock()
	f.writePet(w, r, p)
}

func (f *fakePetstore) delete(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes = append(f.deletes, r.Header.Clone())
	if _, ok := f.pets[id]; !ok {
		http.Error(w, "Invalid pet value", http.StatusBadRequest)
		return
	}
	delete(f.pets, id)
}
