package bridge

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	var nilRed *Redactor
	if got := nilRed.String("a secret"); got != "a secret" {
		t.Errorf("nil redactor changed %q", got)
	}
	r := NewRedactor()
	r.Add("tok/en+s3cret")
	r.AddBasic("ann", "pa ss")
	r.Add("abc") // too short to redact
	r.Remember("fetched-access-token")
	for in, want := range map[string]string{
		`{"error":"token Bearer tok/en+s3cret rejected"}`:                 `{"error":"token Bearer [REDACTED] rejected"}`,
		`escaped "tok\/en+s3cret"`:                                        `escaped "[REDACTED]"`,
		`/items?key=tok%2Fen%2Bs3cret`:                                    `/items?key=[REDACTED]`,
		"Basic " + base64.StdEncoding.EncodeToString([]byte("ann:pa ss")): "Basic [REDACTED]",
		"password pa ss":                                                  "password [REDACTED]",
		"got fetched-access-token":                                        "got [REDACTED]",
		"abc is not redacted, nor is nothing":                             "abc is not redacted, nor is nothing",
	} {
		if got := r.String(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	// Only the last few fetched tokens are kept.
	for i := range maxRemembered + 4 {
		r.Remember(fmt.Sprintf("renewed-token-%02d", i))
	}
	if got := r.String("renewed-token-00 renewed-token-19"); got != "renewed-token-00 [REDACTED]" {
		t.Errorf("remembered tokens: %q", got)
	}
	// A secret cut by the quote bound leaves no prefix behind.
	body := []byte(`{"error":"token tok/en+s3cret"}`)
	for max := int64(10); max < int64(len(body)); max++ {
		q, _ := r.Quote(body, max, false)
		if strings.Contains(string(q), "tok/") || strings.HasSuffix(string(q), "to") || int64(len(q)) > max+int64(len(Redacted)) {
			t.Errorf("max %d: %q", max, q)
		}
	}
	if q, cut := r.Quote([]byte(`{"error":"tok/en+s3cret"}`), 1024, false); cut || string(q) != `{"error":"[REDACTED]"}` {
		t.Errorf("whole body: %q %v", q, cut)
	}
}
