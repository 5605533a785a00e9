package config

import (
	"strings"
	"testing"
	"time"
)

func TestAsyncConfig(t *testing.T) {
	base := "descriptors: {protos: [a.proto]}\n"
	cfg, err := ParseConfig("/x/c.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Jobs != nil || cfg.Webhooks.Listen != "" || cfg.NATS.StateDir != "/x/protobridge-state" || cfg.NATS.Replicas != 1 {
		t.Errorf("defaults: %+v %+v", cfg.NATS, cfg.Webhooks)
	}
	cfg, err = ParseConfig("/x/c.yaml", []byte(base+`jobs: {default_concurrency: 2}
webhooks:
  listen: 127.0.0.1:8090
  sources:
    gh: {path: /gh, message: a.v1.Push, verify: {scheme: github, secret: {env: GH}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if j := cfg.Jobs; j.Workers != DefaultJobWorkers || j.DefaultConcurrency != 2 || j.Lease != DefaultJobLease || j.ResultTTL != DefaultJobResultTTL {
		t.Errorf("jobs defaults: %+v", j)
	}
	if w := cfg.Webhooks; w.MaxBodyBytes != DefaultWebhookMaxBody || w.AckWait != DefaultWebhookAckWait || w.Sources["gh"].Verify.Tolerance != 5*time.Minute {
		t.Errorf("webhooks defaults: %+v", w)
	}
	src := func(s string) string {
		return "webhooks:\n  listen: 127.0.0.1:8090\n  sources:\n    s: " + s + "\n"
	}
	for body, want := range map[string]string{
		"nats: {url: \"not a url\"}\n":                                                         "not a NATS URL",
		"nats: {replicas: 3}\n":                                                                "needs an external cluster",
		"jobs: {lease: 100ms}\n":                                                               "too short",
		"jobs: {concurrency: {nope: 1}}\n":                                                     "unknown upstream",
		"jobs: {workers: -1}\n":                                                                "cannot be negative",
		"jobs: {callback_secret: inline}\n":                                                    "never inline",
		"jobs: {callback_secret: {env: X}}\n":                                                  "callback_hosts is empty",
		"jobs: {callback_secret: {env: X}, callback_hosts: [\"a.b/c\"]}\n":                     "is not a host",
		"webhooks: {sources: {s: {path: /s}}}\n":                                               "webhooks.listen is empty",
		"webhooks: {listen: 127.0.0.1:1}\n":                                                    "no source is declared",
		src("{path: s, message: a.B, verify: {scheme: github, secret: {env: X}}}"):             "not an absolute path",
		src("{path: /s, message: B, verify: {scheme: github, secret: {env: X}}}"):              "not a full message name",
		src("{path: /s, message: a.B, verify: {scheme: github}}"):                              "secret is missing",
		src("{path: /s, message: a.B, verify: {scheme: svix, secret: {env: X}}}"):              "scheme \"svix\" is not known",
		src("{path: /s, message: a.B, verify: {scheme: hmac, secret: {env: X}}}"):              "header is needed",
		src("{path: /s, message: a.B, verify: {scheme: stripe, header: X, secret: {env: X}}}"): "fixes its headers",
		src("{path: /s, message: a.B, open: true, allow: [{identities: [a]}], verify: {scheme: github, secret: {env: X}}}"): "match no one",
		src("{path: /s, message: a.B, verify: {scheme: stripe, tolerance: 2h, secret: {env: X}}}"):                          "longer than dedup_window 1h0m0s",
	} {
		_, err := ParseConfig("/x/c.yaml", []byte(base+body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}

// TestNATSURLProblemHidesCredentials: a bad nats.url is quoted without
// what could be its password.
func TestNATSURLProblemHidesCredentials(t *testing.T) {
	_, err := ParseConfig("/x/c.yaml", []byte("descriptors: {protos: [a.proto]}\nnats: {url: \"nats://user:hunter2@\"}\n"))
	if err == nil || !strings.Contains(err.Error(), "not a NATS URL") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v", err)
	}
}
