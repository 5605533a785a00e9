package sandbox

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/bridge"
)

// harText is every HAR file in dir, concatenated.
func harText(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.har"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recording in %s (%v)", dir, err)
	}
	var all string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all += string(b)
	}
	return all
}

// TestRecordCutBodyKeepsFieldsRedacted: bodies longer than max_body_bytes
// are redacted before they are cut (the first case keeps the redacted body
// up to the cut); a JSON body cut before its configured fields could be
// found is not recorded at all.
func TestRecordCutBodyKeepsFieldsRedacted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		want  string
	}{
		{"cut inside the margin", 100, "xxxxxxxxxx"},
		{"cut past the margin", 100, notRecorded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pad := 200
			if tc.want == notRecorded {
				pad = margin + 200
			}
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"password":"resp-pw-123456","pad":"`+strings.Repeat("x", pad)+`"}`)
			}))
			defer up.Close()
			dir := t.TempDir()
			sb := New(Flags{Mode: Record, Dir: dir}, "test", nil)
			c := &Config{MaxBodyBytes: bridge.ByteSize(tc.limit), RedactFields: []string{"password"}}
			req, _ := http.NewRequest(http.MethodPost, up.URL+"/v1/things", strings.NewReader(`{"password":"req-pw-123456","pad":"`+strings.Repeat("y", 200)+`"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err, _ := do(t, sb, c, nil, http.DefaultTransport, req)
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
			all := harText(t, dir)
			for _, s := range []string{"req-pw-123456", "resp-pw-123456"} {
				if strings.Contains(all, s) {
					t.Errorf("recording holds %s", s)
				}
			}
			if !strings.Contains(all, tc.want) || !strings.Contains(all, `"_truncated":true`) {
				t.Errorf("recording lacks %q or the truncation mark:\n%s", tc.want, all)
			}
		})
	}
}

// TestRecordCutKeepsNoSecretPrefix: a Redactor secret that straddles
// max_body_bytes is redacted whole, so no prefix of it is recorded.
func TestRecordCutKeepsNoSecretPrefix(t *testing.T) {
	red := bridge.NewRedactor()
	red.Add("SUPERSECRETVALUE-0123456789")
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("w", 84)+"SUPERSECRETVALUE-0123456789")
	}))
	defer up.Close()
	dir := t.TempDir()
	sb := New(Flags{Mode: Record, Dir: dir}, "test", nil)
	c := &Config{MaxBodyBytes: 100}
	req, _ := http.NewRequest(http.MethodPost, up.URL+"/v1/things", strings.NewReader(strings.Repeat("z", 84)+"SUPERSECRETVALUE-0123456789"))
	resp, err, _ := do(t, sb, c, red, http.DefaultTransport, req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	all := harText(t, dir)
	if strings.Contains(all, "SUPERSECRET") {
		t.Errorf("recording holds a prefix of the secret:\n%s", all)
	}
	if !strings.Contains(all, strings.Repeat("z", 84)) || !strings.Contains(all, strings.Repeat("w", 84)) {
		t.Errorf("recording lost the body before the secret:\n%s", all)
	}
}

// TestRecordStreamRedactsEachEvent: SSE bodies are redacted per data
// payload and NDJSON per line, in the content text and in the chunks
// replay reads, and no event is lost.
func TestRecordStreamRedactsEachEvent(t *testing.T) {
	for _, tc := range []struct{ ct, body, keep string }{
		{"text/event-stream", "event: a\ndata: {\"n\":1}\n\ndata: {\"password\":\"sse-pw-123456\",\"n\":2}\n\n", `\"n\":2`},
		{"application/x-ndjson", "{\"n\":1}\n{\"password\":\"nd-pw-123456\",\"n\":2}\n{\"n\":3}\n", `\"n\":3`},
	} {
		t.Run(tc.ct, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ct)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer up.Close()
			dir := t.TempDir()
			sb := New(Flags{Mode: Record, Dir: dir}, "test", nil)
			c := &Config{RedactFields: []string{"password"}}
			req, _ := http.NewRequest(http.MethodGet, up.URL+"/v1/things", nil)
			resp, err, _ := do(t, sb, c, nil, http.DefaultTransport, req)
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, resp); got != tc.body {
				t.Fatalf("caller got %q, want %q", got, tc.body)
			}
			all := harText(t, dir)
			if strings.Contains(all, "-pw-123456") {
				t.Errorf("recording holds the configured field:\n%s", all)
			}
			// once in the content text, once in the chunks
			if n := strings.Count(all, tc.keep); n != 2 {
				t.Errorf("%s recorded %d times, want 2:\n%s", tc.keep, n, all)
			}
			if n := strings.Count(all, bridge.Redacted); n != 2 {
				t.Errorf("%d redactions, want 2:\n%s", n, all)
			}
		})
	}
}

// TestRedactBodyShapes: configured fields are redacted in NDJSON without
// a stream content type (every line kept), form bodies, XML CDATA values
// and JSON keys of another case.
func TestRedactBodyShapes(t *testing.T) {
	r := newRedaction(bridge.NewRedactor(), Config{RedactFields: []string{"password"}})
	for _, tc := range []struct{ ct, in, want string }{
		{"", "{\"password\":\"a-pw-1234\"}\n{\"n\":2}\n{\"n\":3}\n", "{\"password\":\"[REDACTED]\"}\n{\"n\":2}\n{\"n\":3}\n"},
		{"text/xml", `<x:Login xmlns:x="urn:x"><x:password><![CDATA[cdata-pw-1234]]></x:password><x:user>ann</x:user></x:Login>`,
			`<x:Login xmlns:x="urn:x"><x:password>[REDACTED]</x:password><x:user>ann</x:user></x:Login>`},
		{"application/x-www-form-urlencoded", `user=ann&Password=form-pw-1234&x=1`, `user=ann&Password=%5BREDACTED%5D&x=1`},
		{"application/json", `{"Password":"case-pw-1234","n":1}`, `{"Password":"[REDACTED]","n":1}`},
	} {
		out, ok := r.body([]byte(tc.in), tc.ct)
		if !ok || string(out) != tc.want {
			t.Errorf("body(%q) = %q, %v; want %q", tc.in, out, ok, tc.want)
		}
	}
	if out, ok := r.body([]byte(`{"password":"cut-pw`), "application/json"); ok || strings.Contains(string(out), "cut-pw") {
		t.Errorf("an unparsable JSON body gave %q, %v; want nothing, false", out, ok)
	}
}

// TestRecordCutStreamDropsItsPartialLine: when a stream was cut before it
// could be redacted, its partial last line (whose field may be cut) is not
// recorded; the whole lines before it are, redacted.
func TestRecordCutStreamDropsItsPartialLine(t *testing.T) {
	r := newRedaction(bridge.NewRedactor(), Config{RedactFields: []string{"password"}})
	in := "data: <password>x-pw-1</password>\n\ndata: <password>cut-pw-12"
	out, cut := r.record([]byte(in), "text/event-stream", 1<<10, true)
	want := "data: <password>[REDACTED]</password>\n\n" + notRecorded
	if string(out) != want || !cut {
		t.Errorf("record = %q, %v; want %q, true", out, cut, want)
	}
}
