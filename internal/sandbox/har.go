package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The HAR 1.2 structure (http://www.softwareishard.com/blog/har-12-spec/)
// as far as recordings use it. Custom fields start with an underscore, as
// the spec asks: `_webSocketMessages` is the name browsers' devtools use
// for a socket's frames, `_chunks` holds a streamed body (SSE, NDJSON) as
// it arrived, `_route` the gRPC method the exchange served.

// HAR is a HAR file.
type HAR struct {
	Log Log `json:"log"`
}

// Log is a HAR file's log.
type Log struct {
	Version string  `json:"version"`
	Creator Creator `json:"creator"`
	Entries []Entry `json:"entries"`
}

// Creator names the application that wrote the log.
type Creator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Entry is one exchange.
type Entry struct {
	StartedDateTime string   `json:"startedDateTime"`
	Time            float64  `json:"time"`
	Request         Request  `json:"request"`
	Response        Response `json:"response"`
	Cache           struct{} `json:"cache"`
	Timings         Timings  `json:"timings"`
	// Route is the gRPC method served ("pkg.Service/Method").
	Route string `json:"_route,omitempty"`
	// WebSocketMessages are a socket's data frames and its close, in order.
	WebSocketMessages []WSMessage `json:"_webSocketMessages,omitempty"`
	// Chunks are a streamed reply body's reads, with their times.
	Chunks []Chunk `json:"_chunks,omitempty"`
	// Truncated says a body, stream or frame log was cut at max_body_bytes.
	Truncated bool `json:"_truncated,omitempty"`
}

// Request is an entry's request.
type Request struct {
	Method      string      `json:"method"`
	URL         string      `json:"url"`
	HTTPVersion string      `json:"httpVersion"`
	Cookies     []NameValue `json:"cookies"`
	Headers     []NameValue `json:"headers"`
	QueryString []NameValue `json:"queryString"`
	PostData    *PostData   `json:"postData,omitempty"`
	HeadersSize int         `json:"headersSize"`
	BodySize    int         `json:"bodySize"`
}

// Response is an entry's response.
type Response struct {
	Status      int         `json:"status"`
	StatusText  string      `json:"statusText"`
	HTTPVersion string      `json:"httpVersion"`
	Cookies     []NameValue `json:"cookies"`
	Headers     []NameValue `json:"headers"`
	Content     Content     `json:"content"`
	RedirectURL string      `json:"redirectURL"`
	HeadersSize int         `json:"headersSize"`
	BodySize    int         `json:"bodySize"`
	// Error is set when the exchange failed without a reply (a reset).
	Error string `json:"_error,omitempty"`
}

// NameValue is a header, cookie or query parameter.
type NameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// PostData is a request body.
type PostData struct {
	MimeType string      `json:"mimeType"`
	Params   []NameValue `json:"params"`
	Text     string      `json:"text"`
	Encoding string      `json:"_encoding,omitempty"`
}

// Content is a response body.
type Content struct {
	Size     int    `json:"size"`
	MimeType string `json:"mimeType"`
	Text     string `json:"text,omitempty"`
	Encoding string `json:"encoding,omitempty"`
}

// Timings are an entry's phases in milliseconds; -1 is "does not apply".
type Timings struct {
	Blocked float64 `json:"blocked"`
	DNS     float64 `json:"dns"`
	Connect float64 `json:"connect"`
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
	SSL     float64 `json:"ssl"`
}

// WSMessage is one WebSocket frame as devtools export it: type "send" or
// "receive", time in seconds since the epoch, the opcode (1 text, 2 binary,
// 8 close) and the payload (base64 for binary frames).
type WSMessage struct {
	Type   string  `json:"type"`
	Time   float64 `json:"time"`
	Opcode int     `json:"opcode"`
	Data   string  `json:"data"`
}

// Chunk is one read of a streamed body: milliseconds after the reply's
// headers, and the bytes.
type Chunk struct {
	Offset float64 `json:"time"`
	Data   string  `json:"data"`
}

// body returns text for b and the encoding to name ("" or "base64").
func body(b []byte) (string, string) {
	if utf8.Valid(b) {
		return string(b), ""
	}
	return b64.EncodeToString(b), "base64"
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// harWriter appends entries to one upstream's HAR files in dir:
// <upstream>-0001.har, then -0002.har once max entries are in a file. An
// entry is written in place of the document's closing brackets, followed
// by them again, so that after each exchange the file is a whole HAR
// document and a write costs the entry, not the file.
type harWriter struct {
	mu       sync.Mutex
	dir      string
	upstream string
	max      int
	seq      int
	version  string

	f       *os.File
	entries int
	end     int64 // where the closing brackets start
}

// harClose ends every document: the entries array, log and root.
const harClose = "\n  ]}}\n"

func newHARWriter(dir, upstream string, max int, version string) (*harWriter, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("recording directory: %w", err)
	}
	// Continue after the files already there: a restart never overwrites.
	files, _ := harFiles(dir, upstream)
	return &harWriter{dir: dir, upstream: upstream, max: max, version: version, seq: len(files)}, nil
}

// rotate starts the next file with an empty log.
func (w *harWriter) rotate() error {
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
	w.seq++
	head, err := json.Marshal(struct {
		Version string  `json:"version"`
		Creator Creator `json:"creator"`
	}{"1.2", Creator{Name: "protobridge", Version: w.version}})
	if err != nil {
		return err
	}
	// {"log":{"version":...,"creator":{...},"entries":[ ... ]}}
	open := `{"log":` + string(head[:len(head)-1]) + `,"entries":[`
	f, err := os.OpenFile(w.path(), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(open + harClose); err != nil {
		_ = f.Close()
		return err
	}
	w.f, w.entries, w.end = f, 0, int64(len(open))
	return nil
}

func (w *harWriter) path() string {
	return filepath.Join(w.dir, fmt.Sprintf("%s-%04d.har", w.upstream, w.seq))
}

// add appends e to the current file.
func (w *harWriter) add(e Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil || w.entries >= w.max {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	if w.entries > 0 {
		b.WriteString(",")
	}
	b.WriteString("\n    ")
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&e); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	n := int64(b.Len())
	b.WriteString(harClose)
	if _, err := w.f.WriteAt(b.Bytes(), w.end); err != nil {
		return err
	}
	w.end += n
	w.entries++
	return nil
}

// harFiles lists upstream's recordings in dir in the order written: files
// named exactly <upstream>-NNNN.har, so that upstream "a" does not read
// the recordings of upstream "a-2024".
func harFiles(dir, upstream string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(upstream) + `-(\d{4,})\.har$`)
	var m []string
	for _, e := range ents {
		if !e.IsDir() && re.MatchString(e.Name()) {
			m = append(m, filepath.Join(dir, e.Name()))
		}
	}
	// by sequence number: past 9999 the numbers grow a digit
	slices.SortFunc(m, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	return m, nil
}

// readHARs loads upstream's recordings from dir.
func readHARs(dir, upstream string) ([]Entry, error) {
	files, err := harFiles(dir, upstream)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var h HAR
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, fmt.Errorf("%s is not a HAR file: %v", filepath.Base(f), err)
		}
		out = append(out, h.Log.Entries...)
	}
	return out, nil
}
