package config

import (
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/protobridge/protobridge/bridge"
)

// NATSConfig is where async jobs and webhook events are stored: NATS
// JetStream, embedded in the daemon with file storage under StateDir by
// default, or an external cluster at URL shared by several daemons.
//
//	nats:
//	  url: nats://10.0.0.5:4222,nats://10.0.0.6:4222
//	  replicas: 3
type NATSConfig struct {
	// URL is an external NATS server or cluster (comma-separated URLs);
	// empty runs JetStream inside the daemon.
	URL string `yaml:"url"`
	// StateDir is the embedded server's file storage (default
	// protobridge-state next to the config file). Unused with URL.
	StateDir string `yaml:"state_dir"`
	// Replicas is how many servers of an external cluster keep each
	// stream (default 1; 3 survives the loss of one).
	Replicas int `yaml:"replicas"`
	// Credentials is a NATS .creds file for the external cluster.
	Credentials string `yaml:"credentials"`
}

// JobsConfig turns on async jobs (BridgeService Submit, GetJob, WatchJob,
// CancelJob, ListJobs) and tunes their workers.
//
//	jobs:
//	  workers: 64
//	  result_ttl: 24h
//	  concurrency: {payments: 4}
//	  callback_secret: {env: JOB_CALLBACK_SECRET}
//	  callback_hosts: [hooks.example.com]
type JobsConfig struct {
	// Workers bounds the jobs one daemon runs at once (default 64).
	Workers int `yaml:"workers"`
	// Concurrency bounds the jobs one daemon runs at once per upstream
	// (default DefaultConcurrency for every upstream).
	Concurrency map[string]int `yaml:"concurrency"`
	// DefaultConcurrency is the per-upstream bound of upstreams not
	// named in Concurrency (default: Workers).
	DefaultConcurrency int `yaml:"default_concurrency"`
	// ResultTTL is how long a finished job and its result are kept
	// (default 24h).
	ResultTTL time.Duration `yaml:"result_ttl"`
	// MaxAge is how long a job keeps being retried after its submit
	// (default 24h); a retryable failure after that is final.
	MaxAge time.Duration `yaml:"max_age"`
	// InitialBackoff and MaxBackoff bound the delay between a job's
	// attempts (defaults 1s and 10m; doubling with full jitter, or the
	// upstream's Retry-After when longer).
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	MaxBackoff     time.Duration `yaml:"max_backoff"`
	// Lease is how long a job taken by a daemon that stops answering
	// (crash, kill -9, lost network) waits before another worker takes
	// it (default 30s). Running jobs renew it.
	Lease time.Duration `yaml:"lease"`
	// CallbackSecret signs completion callbacks the Standard Webhooks way
	// ("whsec_" and base64, as the receiver's library expects). Needed
	// for Submit with callback_url.
	CallbackSecret *bridge.Secret `yaml:"callback_secret"`
	// CallbackHosts are the hosts a callback_url may name: an exact host
	// name or IP address, or "*.example.com" for any name under it.
	// Required with callback_secret, so a caller cannot make the daemon
	// POST to hosts inside the network it was not meant to reach.
	CallbackHosts []string `yaml:"callback_hosts"`
	// CallbackAttempts bounds the POSTs of one callback (default 10).
	CallbackAttempts int `yaml:"callback_attempts"`
	// CallbackTimeout bounds one callback POST (default 10s).
	CallbackTimeout time.Duration `yaml:"callback_timeout"`
}

// Jobs defaults.
const (
	DefaultJobWorkers       = 64
	DefaultJobResultTTL     = 24 * time.Hour
	DefaultJobMaxAge        = 24 * time.Hour
	DefaultJobBackoff       = time.Second
	DefaultJobMaxBackoff    = 10 * time.Minute
	DefaultJobLease         = 30 * time.Second
	DefaultCallbackAttempts = 10
	DefaultCallbackTimeout  = 10 * time.Second
)

// WebhooksConfig is the webhook ingress: an HTTP listener with one path
// per source. Each delivery is verified, decoded into the source's
// message, stored in JetStream and only then answered 2xx; gRPC
// subscribers (BridgeService Subscribe) receive it at least once.
//
//	webhooks:
//	  listen: 127.0.0.1:8090
//	  sources:
//	    stripe:
//	      path: /hooks/stripe
//	      message: shop.v1.StripeEvent
//	      verify: {scheme: stripe, secret: {env: STRIPE_WEBHOOK_SECRET}}
type WebhooksConfig struct {
	// Listen is the ingress address; empty turns the ingress off.
	Listen string `yaml:"listen"`
	// MaxBodyBytes bounds one delivery (default 1 MiB).
	MaxBodyBytes bridge.ByteSize `yaml:"max_body_bytes"`
	// Retention is how long events are kept for replay (default 7 days).
	Retention time.Duration `yaml:"retention"`
	// DedupWindow is how long a stored event's dedup key (its signed id,
	// else a hash of its signed bytes) is remembered to drop a retry or
	// replay of it (default 1h).
	DedupWindow time.Duration `yaml:"dedup_window"`
	// AckWait is how long a subscriber has to acknowledge an event before
	// it is delivered again (default 30s).
	AckWait time.Duration `yaml:"ack_wait"`
	// Sources are the senders, by name.
	Sources map[string]*WebhookSource `yaml:"sources"`
}

// WebhookSource is one sender of webhooks.
type WebhookSource struct {
	// Path is the URL path the sender posts to ("/hooks/stripe").
	Path string `yaml:"path"`
	// Message is the full name of the proto message the payload is
	// decoded into (JSON, XML or form bodies, by Content-Type).
	Message string `yaml:"message"`
	// Verify is how the sender signs its deliveries.
	Verify WebhookVerify `yaml:"verify"`
	// Open lets any caller Subscribe to the source; otherwise subscribers
	// authenticate as route callers do and must match Allow (when set).
	Open bool `yaml:"open"`
	// Allow restricts subscribers, as a route's policies allow does.
	Allow []AllowRule `yaml:"allow"`
}

// WebhookVerify is a source's signature scheme.
type WebhookVerify struct {
	// Scheme is "standard" (Standard Webhooks: webhook-id,
	// webhook-timestamp, webhook-signature), "stripe" (Stripe-Signature),
	// "github" (X-Hub-Signature-256) or "hmac" (HMAC-SHA256 of the body
	// in Header).
	Scheme string `yaml:"scheme"`
	// Secret is the shared signing secret.
	Secret bridge.Secret `yaml:"secret"`
	// Tolerance is the replay window: a signed timestamp further than
	// this from now is refused (default 5m).
	Tolerance time.Duration `yaml:"tolerance"`
	// Header carries the signature (hmac only).
	Header string `yaml:"header"`
	// Encoding of the signature in Header: "hex" (default) or "base64"
	// (hmac only). A "sha256=" prefix is accepted.
	Encoding string `yaml:"encoding"`
	// TimestampHeader, when set, carries the Unix time the signature
	// covers as "timestamp.body" (hmac only); it is then checked against
	// Tolerance.
	TimestampHeader string `yaml:"timestamp_header"`
	// IDHeader carries the sender's event id, passed on to subscribers
	// (hmac only); unsigned, so dedup keys on the signed bytes instead.
	IDHeader string `yaml:"id_header"`
}

// Webhooks defaults.
const (
	DefaultWebhookMaxBody   = 1 << 20
	DefaultWebhookRetention = 7 * 24 * time.Hour
	DefaultWebhookDedup     = time.Hour
	DefaultWebhookAckWait   = 30 * time.Second
	DefaultWebhookTolerance = 5 * time.Minute
)

var (
	sourceNameRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	messageNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$`)
)

// checkAsync checks the nats:, jobs: and webhooks: sections and applies
// their defaults.
func (c *Config) checkAsync(ps *bridge.Problems) {
	top := bridge.Pos{File: c.File, Line: 1}
	n := &c.NATS
	if n.URL != "" {
		for _, u := range strings.Split(n.URL, ",") {
			if p, err := url.Parse(strings.TrimSpace(u)); err != nil || p.Host == "" {
				// Quoted without what could be a password.
				shown := u
				if at := strings.LastIndex(u, "@"); at >= 0 {
					shown = "…@" + u[at+1:]
				}
				ps.Add(top, "use nats://host:port, comma-separated for a cluster", "nats.url %q is not a NATS URL", shown)
			}
		}
	}
	if n.Replicas < 0 || n.Replicas > 5 {
		ps.Add(top, "use 1, 3 or 5", "nats.replicas %d is out of range", n.Replicas)
	}
	if n.Replicas == 0 {
		n.Replicas = 1
	}
	if n.URL == "" && n.Replicas > 1 {
		ps.Add(top, "set nats.url to a cluster, or drop replicas", "nats.replicas needs an external cluster (nats.url)")
	}
	if n.StateDir == "" {
		n.StateDir = "protobridge-state"
	}
	if !strings.HasPrefix(n.StateDir, "/") {
		n.StateDir = c.BaseDir + "/" + n.StateDir
	}
	if j := c.Jobs; j != nil {
		positive := func(name string, d *time.Duration, def time.Duration) {
			if *d < 0 {
				ps.Add(top, "use a positive duration", "jobs.%s is negative", name)
			}
			if *d == 0 {
				*d = def
			}
		}
		positive("result_ttl", &j.ResultTTL, DefaultJobResultTTL)
		positive("max_age", &j.MaxAge, DefaultJobMaxAge)
		positive("initial_backoff", &j.InitialBackoff, DefaultJobBackoff)
		positive("max_backoff", &j.MaxBackoff, DefaultJobMaxBackoff)
		positive("lease", &j.Lease, DefaultJobLease)
		positive("callback_timeout", &j.CallbackTimeout, DefaultCallbackTimeout)
		if j.Lease < time.Second {
			ps.Add(top, "use at least 1s", "jobs.lease %s is too short to renew", j.Lease)
		}
		if j.Workers < 0 || j.DefaultConcurrency < 0 || j.CallbackAttempts < 0 {
			ps.Add(top, "use positive counts", "jobs.workers, default_concurrency and callback_attempts cannot be negative")
		}
		if j.Workers == 0 {
			j.Workers = DefaultJobWorkers
		}
		if j.DefaultConcurrency == 0 {
			j.DefaultConcurrency = j.Workers
		}
		if j.CallbackAttempts == 0 {
			j.CallbackAttempts = DefaultCallbackAttempts
		}
		if j.CallbackSecret != nil && len(j.CallbackHosts) == 0 {
			ps.Add(top, "list the hosts callback_url may name, e.g. callback_hosts: [hooks.example.com, \"*.partner.example\"]",
				"jobs.callback_secret is set but jobs.callback_hosts is empty")
		}
		for _, h := range j.CallbackHosts {
			if h == "" || strings.ContainsAny(h, "/:@ ") || strings.Contains(strings.TrimPrefix(h, "*."), "*") {
				ps.Add(top, "an exact host name or IP address, or *.domain", "jobs.callback_hosts entry %q is not a host", h)
			}
		}
		for name, n := range j.Concurrency {
			if c.Upstreams[name] == nil {
				ps.Add(top, "name an upstream declared under upstreams:", "jobs.concurrency names unknown upstream %q", name)
			}
			if n <= 0 {
				ps.Add(top, "use a positive count", "jobs.concurrency[%s] must be positive", name)
			}
		}
	}
	w := &c.Webhooks
	if w.Listen == "" {
		if len(w.Sources) > 0 {
			ps.Add(top, "set webhooks.listen such as 127.0.0.1:8090", "webhooks.sources are declared but webhooks.listen is empty")
		}
		return
	}
	if _, _, err := net.SplitHostPort(w.Listen); err != nil {
		ps.Add(top, "use host:port such as 127.0.0.1:8090", "webhooks.listen %q: %v", w.Listen, err)
	}
	if w.MaxBodyBytes == 0 {
		w.MaxBodyBytes = DefaultWebhookMaxBody
	}
	for name, d := range map[string]*time.Duration{"retention": &w.Retention, "dedup_window": &w.DedupWindow, "ack_wait": &w.AckWait} {
		if *d < 0 {
			ps.Add(top, "use a positive duration", "webhooks.%s is negative", name)
		}
	}
	if w.Retention == 0 {
		w.Retention = DefaultWebhookRetention
	}
	if w.DedupWindow == 0 {
		w.DedupWindow = DefaultWebhookDedup
	}
	if w.DedupWindow > w.Retention {
		ps.Add(top, "keep dedup_window within retention", "webhooks.dedup_window %s is longer than retention %s", w.DedupWindow, w.Retention)
	}
	if w.AckWait == 0 {
		w.AckWait = DefaultWebhookAckWait
	}
	if len(w.Sources) == 0 {
		ps.Add(top, "declare sources: {name: {path: /hooks/x, message: pkg.Msg, verify: {...}}}", "webhooks.listen is set but no source is declared")
	}
	paths := map[string]string{}
	for name, s := range w.Sources {
		if s == nil {
			ps.Add(top, "give the source path, message and verify", "webhooks source %q is empty", name)
			continue
		}
		if !sourceNameRE.MatchString(name) {
			ps.Add(top, "use 1-64 letters, digits, _ or -", "webhooks source name %q is not valid", name)
		}
		if !strings.HasPrefix(s.Path, "/") {
			ps.Add(top, `start it with "/"`, "webhooks.sources[%s].path %q is not an absolute path", name, s.Path)
		}
		if prev, dup := paths[s.Path]; dup {
			ps.Add(top, "give each source its own path", "webhooks sources %q and %q share path %q", prev, name, s.Path)
		}
		paths[s.Path] = name
		if !messageNameRE.MatchString(s.Message) {
			ps.Add(top, `name a message of the loaded descriptors, "pkg.Message"`, "webhooks.sources[%s].message %q is not a full message name", name, s.Message)
		}
		if s.Open && len(s.Allow) > 0 {
			ps.Add(top, "drop open or allow", "webhooks.sources[%s]: allow rules on an open source match no one", name)
		}
		v := &s.Verify
		if v.Tolerance < 0 {
			ps.Add(top, "use a positive duration", "webhooks.sources[%s].verify.tolerance is negative", name)
		}
		if v.Tolerance == 0 {
			v.Tolerance = DefaultWebhookTolerance
		}
		if 2*v.Tolerance > w.DedupWindow {
			// A signed timestamp is accepted tolerance either side of now,
			// so a delivery stays valid 2×tolerance: replayed after its
			// dedup key was forgotten it would be stored again.
			ps.Add(top, "keep twice the tolerance within webhooks.dedup_window", "webhooks.sources[%s].verify.tolerance %s: twice it is longer than dedup_window %s", name, v.Tolerance, w.DedupWindow)
		}
		if v.Secret == (bridge.Secret{}) {
			ps.Add(top, "set secret: {env: NAME} or {file: path}", "webhooks.sources[%s].verify.secret is missing: deliveries cannot be verified", name)
		}
		switch v.Scheme {
		case "standard", "stripe", "github":
			if v.Header != "" || v.TimestampHeader != "" || v.IDHeader != "" || v.Encoding != "" {
				ps.Add(top, "drop header, timestamp_header, id_header and encoding", "webhooks.sources[%s].verify: the %s scheme fixes its headers", name, v.Scheme)
			}
		case "hmac":
			if v.Header == "" {
				ps.Add(top, "name the header carrying the signature", "webhooks.sources[%s].verify.header is needed by the hmac scheme", name)
			}
			if v.Encoding == "" {
				v.Encoding = "hex"
			}
			if v.Encoding != "hex" && v.Encoding != "base64" {
				ps.Add(top, "use hex or base64", "webhooks.sources[%s].verify.encoding %q is not known", name, v.Encoding)
			}
		default:
			ps.Add(top, "use standard, stripe, github or hmac", "webhooks.sources[%s].verify.scheme %q is not known", name, v.Scheme)
		}
	}
}
