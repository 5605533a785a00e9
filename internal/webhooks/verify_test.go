package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/protobridge/protobridge/internal/config"
)

func hexSig(key, msg string) string {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(msg))
	return hex.EncodeToString(h.Sum(nil))
}

// TestVerify checks each scheme against signatures computed here from the
// schemes' documentation, and the refusals: wrong secret, tampered body,
// outside the replay window, malformed headers.
func TestVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"id":"evt_1","amount":5}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	old := strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10)
	stdKey := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	stdSig := func(id, ts string, b []byte) string {
		h := hmac.New(sha256.New, []byte("0123456789abcdef"))
		h.Write([]byte(id + "." + ts + "."))
		h.Write(b)
		return "v1," + base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	cases := []struct {
		name   string
		v      config.WebhookVerify
		secret string
		h      map[string]string
		body   []byte
		id     string
		ok     bool
	}{
		{"standard", config.WebhookVerify{Scheme: "standard"}, "whsec_" + stdKey,
			map[string]string{"webhook-id": "msg_1", "webhook-timestamp": ts, "webhook-signature": "v1,bogus " + stdSig("msg_1", ts, body)}, body, "msg_1", true},
		{"standard tampered", config.WebhookVerify{Scheme: "standard"}, "whsec_" + stdKey,
			map[string]string{"webhook-id": "msg_1", "webhook-timestamp": ts, "webhook-signature": stdSig("msg_1", ts, body)}, append(body, ' '), "", false},
		{"standard replayed", config.WebhookVerify{Scheme: "standard"}, "whsec_" + stdKey,
			map[string]string{"webhook-id": "msg_1", "webhook-timestamp": old, "webhook-signature": stdSig("msg_1", old, body)}, body, "", false},
		{"standard other id", config.WebhookVerify{Scheme: "standard"}, "whsec_" + stdKey,
			map[string]string{"webhook-id": "msg_2", "webhook-timestamp": ts, "webhook-signature": stdSig("msg_1", ts, body)}, body, "", false},
		{"stripe", config.WebhookVerify{Scheme: "stripe"}, "whsec_s",
			map[string]string{"Stripe-Signature": "t=" + ts + ",v1=" + hexSig("whsec_s", ts+"."+string(body))}, body, "evt_1", true},
		{"stripe replayed", config.WebhookVerify{Scheme: "stripe"}, "whsec_s",
			map[string]string{"Stripe-Signature": "t=" + old + ",v1=" + hexSig("whsec_s", old+"."+string(body))}, body, "", false},
		{"stripe no v1", config.WebhookVerify{Scheme: "stripe"}, "whsec_s",
			map[string]string{"Stripe-Signature": "t=" + ts}, body, "", false},
		{"github", config.WebhookVerify{Scheme: "github"}, "gh",
			map[string]string{"X-Hub-Signature-256": "sha256=" + hexSig("gh", string(body)), "X-GitHub-Delivery": "d-1"}, body, "d-1", true},
		{"github sha1 only", config.WebhookVerify{Scheme: "github"}, "gh",
			map[string]string{"X-Hub-Signature": "sha1=00"}, body, "", false},
		{"hmac base64 with timestamp", config.WebhookVerify{Scheme: "hmac", Header: "X-Sig", Encoding: "base64", TimestampHeader: "X-Ts", IDHeader: "X-Id"}, "k",
			map[string]string{"X-Sig": func() string {
				b, _ := hex.DecodeString(hexSig("k", ts+"."+string(body)))
				return base64.StdEncoding.EncodeToString(b)
			}(), "X-Ts": ts, "X-Id": "e-9"}, body, "e-9", true},
		{"hmac hex wrong key", config.WebhookVerify{Scheme: "hmac", Header: "X-Sig", Encoding: "hex"}, "k",
			map[string]string{"X-Sig": hexSig("other", string(body))}, body, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.v.Tolerance = 5 * time.Minute
			vf, err := newVerifier(c.v, c.secret)
			if err != nil {
				t.Fatal(err)
			}
			vf.now = func() time.Time { return now }
			h := http.Header{}
			for k, v := range c.h {
				h.Set(k, v)
			}
			d, err := vf.verify(h, c.body)
			if c.ok != (err == nil) || d.id != c.id {
				t.Fatalf("verify = %q, %v; want id %q, ok %v", d.id, err, c.id, c.ok)
			}
			if c.ok && d.dedup == "" {
				t.Error("a verified delivery has no dedup key")
			}
			if err != nil && !errors.Is(err, errSignature) {
				t.Errorf("error %v is not errSignature", err)
			}
		})
	}
	if _, err := newVerifier(config.WebhookVerify{Scheme: "standard"}, "whsec_!!!"); err == nil {
		t.Error("a standard secret that is not base64 was accepted")
	}
}

// TestStandardSignRoundTrip: what StandardSign writes, verify accepts.
func TestStandardSignRoundTrip(t *testing.T) {
	key := []byte("k3y")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	now := time.Now()
	body := []byte(`{"x":1}`)
	vf, err := newVerifier(config.WebhookVerify{Scheme: "standard", Tolerance: time.Minute}, secret)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "job_1")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", StandardSign(key, "job_1", now, body))
	if d, err := vf.verify(h, body); err != nil || d.id != "job_1" || d.dedup != "job_1" {
		t.Fatalf("%+v %v", d, err)
	}
}

// TestDedupKeyIsSigned: the dedup key is made of signed content only, so a
// captured delivery replayed under a new unsigned id is still a duplicate,
// while a scheme's signed event id stays the key.
func TestDedupKeyIsSigned(t *testing.T) {
	body, other := []byte(`{"id":"push-1"}`), []byte(`{"id":"push-2"}`)
	gh, err := newVerifier(config.WebhookVerify{Scheme: "github"}, "gh")
	if err != nil {
		t.Fatal(err)
	}
	hm, err := newVerifier(config.WebhookVerify{Scheme: "hmac", Header: "X-Sig", Encoding: "hex", IDHeader: "X-Id"}, "k")
	if err != nil {
		t.Fatal(err)
	}
	key := func(vf *verifier, h map[string]string, b []byte) delivery {
		t.Helper()
		hh := http.Header{}
		for k, v := range h {
			hh.Set(k, v)
		}
		d, err := vf.verify(hh, b)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ghSig := func(b []byte) string { return "sha256=" + hexSig("gh", string(b)) }
	a := key(gh, map[string]string{"X-Hub-Signature-256": ghSig(body), "X-GitHub-Delivery": "d-1"}, body)
	b := key(gh, map[string]string{"X-Hub-Signature-256": ghSig(body), "X-GitHub-Delivery": "d-2"}, body)
	c := key(gh, map[string]string{"X-Hub-Signature-256": ghSig(other), "X-GitHub-Delivery": "d-1"}, other)
	if a.id != "d-1" || b.id != "d-2" || a.dedup != b.dedup || a.dedup == c.dedup {
		t.Errorf("github: %+v %+v %+v", a, b, c)
	}
	x := key(hm, map[string]string{"X-Sig": hexSig("k", string(body)), "X-Id": "e-1"}, body)
	y := key(hm, map[string]string{"X-Sig": hexSig("k", string(body)), "X-Id": "e-2"}, body)
	if x.id != "e-1" || x.dedup != y.dedup {
		t.Errorf("hmac: %+v %+v", x, y)
	}
}
