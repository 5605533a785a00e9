package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// book is the library upstream's JSON representation of a book.
type book struct {
	Name   string   `json:"name"`
	Title  string   `json:"title"`
	Author string   `json:"author"`
	Year   int      `json:"year,omitempty"`
	Tags   []string `json:"tags,omitempty"`
}

// library is the demo's JSON upstream: an in-memory bookshelf API.
type library struct {
	mu    sync.Mutex
	books map[string]book // by name
	last  map[string]int  // last book number used per shelf
}

func newLibrary() *library {
	l := &library{books: map[string]book{}, last: map[string]int{}}
	for _, b := range []book{
		{Name: "shelves/1/books/1", Title: "The Go Programming Language", Author: "Alan Donovan", Year: 2015, Tags: []string{"go", "programming"}},
		{Name: "shelves/1/books/2", Title: "The C Programming Language", Author: "Brian Kernighan", Year: 1978, Tags: []string{"c"}},
		{Name: "shelves/1/books/3", Title: "The Practice of Programming", Author: "Brian Kernighan", Year: 1999},
		{Name: "shelves/2/books/1", Title: "Structure and Interpretation of Computer Programs", Author: "Harold Abelson", Year: 1985},
	} {
		l.books[b.Name] = b
		shelf, n := splitName(b.Name)
		l.last[shelf] = max(l.last[shelf], n)
	}
	return l
}

// splitName splits "shelves/1/books/2" into "shelves/1" and 2.
func splitName(name string) (string, int) {
	i := strings.LastIndex(name, "/books/")
	n, _ := strconv.Atoi(name[i+len("/books/"):])
	return name[:i], n
}

// handler serves GET and POST /v1/shelves/{shelf}/books and
// GET /v1/shelves/{shelf}/books/{book}.
func (l *library) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/shelves/{shelf}/books/{book}", l.get)
	mux.HandleFunc("GET /v1/shelves/{shelf}/books", l.list)
	mux.HandleFunc("POST /v1/shelves/{shelf}/books", l.create)
	return mux
}

func (l *library) get(w http.ResponseWriter, r *http.Request) {
	name := "shelves/" + r.PathValue("shelf") + "/books/" + r.PathValue("book")
	l.mu.Lock()
	b, ok := l.books[name]
	l.mu.Unlock()
	if !ok {
		writeJSONError(w, http.StatusNotFound, fmt.Sprintf("book %s not found", name))
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (l *library) list(w http.ResponseWriter, r *http.Request) {
	prefix := "shelves/" + r.PathValue("shelf") + "/books/"
	author := r.URL.Query().Get("author")
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeJSONError(w, http.StatusBadRequest, "limit must be a non-negative integer")
			return
		}
		limit = n
	}
	l.mu.Lock()
	out := []book{}
	for name, b := range l.books {
		if strings.HasPrefix(name, prefix) && (author == "" || strings.EqualFold(b.Author, author)) {
			out = append(out, b)
		}
	}
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	writeJSON(w, http.StatusOK, map[string][]book{"books": out})
}

func (l *library) create(w http.ResponseWriter, r *http.Request) {
	var b book
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	if err := dec.Decode(&b); err != nil {
		writeJSONError(w, http.StatusBadRequest, "body is not a book: "+err.Error())
		return
	}
	if b.Title == "" {
		writeJSONError(w, http.StatusBadRequest, "a book needs a title")
		return
	}
	shelf := "shelves/" + r.PathValue("shelf")
	l.mu.Lock()
	l.last[shelf]++
	b.Name = fmt.Sprintf("%s/books/%d", shelf, l.last[shelf])
	l.books[b.Name] = b
	l.mu.Unlock()
	w.Header().Set("Location", "/v1/"+b.Name)
	writeJSON(w, http.StatusCreated, b)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}
