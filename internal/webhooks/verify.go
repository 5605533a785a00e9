package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/protobridge/protobridge/internal/config"
)

// errSignature is every verification failure: the sender learns nothing
// of which check failed (the log and the metric do).
var errSignature = errors.New("signature verification failed")

// verifyFailure says which check failed, for logs and metrics.
type verifyFailure struct{ what string }

func (v *verifyFailure) Error() string { return v.what }
func (v *verifyFailure) Unwrap() error { return errSignature }

func fail(format string, args ...any) error {
	return &verifyFailure{what: fmt.Sprintf(format, args...)}
}

// StandardKey decodes a Standard Webhooks secret: "whsec_" and base64
// (the prefix is optional).
func StandardKey(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(k) == 0 {
		return nil, errors.New(`the secret is not a Standard Webhooks secret ("whsec_" and base64)`)
	}
	return k, nil
}

// StandardSign signs a Standard Webhooks message and returns the
// webhook-signature header value.
func StandardSign(key []byte, id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id+"."+strconv.FormatInt(ts.Unix(), 10)+".", body))
}

func mac(key []byte, prefix string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(prefix))
	h.Write(body)
	return h.Sum(nil)
}

// verifier checks one source's deliveries and returns the sender's event
// id ("" when the scheme carries none).
type verifier struct {
	v   config.WebhookVerify
	key []byte
	now func() time.Time
}

func newVerifier(v config.WebhookVerify, secret string) (*verifier, error) {
	key := []byte(secret)
	if v.Scheme == "standard" {
		var err error
		if key, err = StandardKey(secret); err != nil {
			return nil, err
		}
	}
	if len(key) == 0 {
		return nil, errors.New("the secret is empty")
	}
	return &verifier{v: v, key: key, now: time.Now}, nil
}

// fresh checks a signed Unix timestamp against the replay window.
func (vf *verifier) fresh(ts string) error {
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fail("timestamp %q is not Unix seconds", ts)
	}
	d := vf.now().Sub(time.Unix(n, 0))
	if math.Abs(float64(d)) > float64(vf.v.Tolerance) {
		return fail("timestamp is %s from now, outside the %s replay window", d.Round(time.Second), vf.v.Tolerance)
	}
	return nil
}

// delivery is what a verified request says about itself.
type delivery struct {
	// id is the sender's event id, passed on to subscribers ("" when the
	// scheme or request has none).
	id string
	// dedup is the store's duplicate key, made only of signed content, so
	// that a replayed body cannot be stored again under a new, unsigned
	// delivery id: the signed event id where the scheme signs one
	// (standard's webhook-id, Stripe's body id), otherwise a hash of the
	// signed bytes.
	dedup string
}

// signedHash is the dedup key of schemes that sign no event id.
func signedHash(prefix string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(prefix))
	h.Write(body)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// verify checks a delivery's signature and returns its event id and
// dedup key.
func (vf *verifier) verify(h http.Header, body []byte) (delivery, error) {
	switch vf.v.Scheme {
	case "standard":
		id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
		if id == "" || ts == "" || sigs == "" {
			return delivery{}, fail("webhook-id, webhook-timestamp or webhook-signature is missing")
		}
		if err := vf.fresh(ts); err != nil {
			return delivery{}, err
		}
		want := mac(vf.key, id+"."+ts+".", body)
		ok := 0
		for _, s := range strings.Fields(sigs) {
			ver, sig, found := strings.Cut(s, ",")
			if !found || ver != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(sig)
			if err == nil {
				ok |= subtle.ConstantTimeCompare(got, want)
			}
		}
		if ok != 1 {
			return delivery{}, fail("no v1 signature matches")
		}
		return delivery{id: id, dedup: id}, nil
	case "stripe":
		hv := h.Get("Stripe-Signature")
		var ts string
		var sigs [][]byte
		for _, part := range strings.Split(hv, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "t":
				ts = v
			case "v1":
				if b, err := hex.DecodeString(v); err == nil {
					sigs = append(sigs, b)
				}
			}
		}
		if ts == "" || len(sigs) == 0 {
			return delivery{}, fail("Stripe-Signature has no t= or v1=")
		}
		if err := vf.fresh(ts); err != nil {
			return delivery{}, err
		}
		want := mac(vf.key, ts+".", body)
		ok := 0
		for _, s := range sigs {
			ok |= subtle.ConstantTimeCompare(s, want)
		}
		if ok != 1 {
			return delivery{}, fail("no v1 signature matches")
		}
		var ev struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(body, &ev) // the event id, when the body has one
		if ev.ID == "" {
			return delivery{dedup: signedHash(ts+".", body)}, nil
		}
		return delivery{id: ev.ID, dedup: ev.ID}, nil
	case "github":
		sig, found := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
		got, err := hex.DecodeString(sig)
		if !found || err != nil {
			return delivery{}, fail("X-Hub-Signature-256 is missing or not sha256=<hex>")
		}
		if subtle.ConstantTimeCompare(got, mac(vf.key, "", body)) != 1 {
			return delivery{}, fail("X-Hub-Signature-256 does not match")
		}
		// The signature covers only the body: X-GitHub-Delivery is passed
		// on but not trusted for dedup.
		return delivery{id: h.Get("X-GitHub-Delivery"), dedup: signedHash("", body)}, nil
	default: // hmac
		sig := h.Get(vf.v.Header)
		if sig == "" {
			return delivery{}, fail("%s is missing", vf.v.Header)
		}
		sig = strings.TrimPrefix(sig, "sha256=")
		var got []byte
		var err error
		if vf.v.Encoding == "base64" {
			got, err = base64.StdEncoding.DecodeString(sig)
		} else {
			got, err = hex.DecodeString(sig)
		}
		if err != nil {
			return delivery{}, fail("%s is not %s", vf.v.Header, vf.v.Encoding)
		}
		prefix := ""
		if vf.v.TimestampHeader != "" {
			ts := h.Get(vf.v.TimestampHeader)
			if err := vf.fresh(ts); err != nil {
				return delivery{}, err
			}
			prefix = ts + "."
		}
		if subtle.ConstantTimeCompare(got, mac(vf.key, prefix, body)) != 1 {
			return delivery{}, fail("%s does not match", vf.v.Header)
		}
		d := delivery{dedup: signedHash(prefix, body)}
		if vf.v.IDHeader != "" {
			d.id = h.Get(vf.v.IDHeader) // unsigned: passed on, not the dedup key
		}
		return d, nil
	}
}
