// Package webhooks is the webhook ingress: one HTTP path per source
// (webhooks.sources), each delivery's signature verified (Standard
// Webhooks, Stripe-Signature, GitHub X-Hub-Signature-256 or a plain HMAC
// header; a replay window on signed timestamps; constant-time compares),
// its payload decoded into the source's declared message and stored in a
// JetStream stream before the sender is answered 2xx. BridgeService
// Subscribe delivers the stored events to gRPC subscribers at least once,
// with acknowledgements, redelivery after ack_wait, replay from a sequence
// or a time, and dedup (Nats-Msg-Id) by signed content only: the signed
// event id where the scheme has one, else a hash of the signed bytes.
package webhooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/broker"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/router"
	"github.com/protobridge/protobridge/internal/telemetry"
)

// Names of what the ingress keeps in JetStream.
const (
	streamName    = "PB_WEBHOOKS"
	subjectPrefix = "pb.webhooks."
	hdrEventID    = "Pb-Event-Id"
	hdrMessage    = "Pb-Message"
)

// Ingress is the webhook listener's handler and the Subscribe service.
type Ingress struct {
	cfg     config.WebhooksConfig
	b       *broker.Broker
	stream  jetstream.Stream
	router  *router.Router
	log     *slog.Logger
	sources map[string]*source // by name
	byPath  map[string]*source
	m       *ingressMetrics
}

type source struct {
	name string
	cfg  *config.WebhookSource
	vf   *verifier
}

type ingressMetrics struct {
	requests  *prometheus.CounterVec
	delivered *prometheus.CounterVec
}

// New resolves the sources' secrets, checks their messages exist and
// creates (or updates) the events' stream.
func New(ctx context.Context, b *broker.Broker, cfg *config.Config, r *router.Router, log *slog.Logger, m *telemetry.Metrics) (*Ingress, error) {
	in := &Ingress{cfg: cfg.Webhooks, b: b, router: r, log: log, sources: map[string]*source{}, byPath: map[string]*source{}}
	for name, sc := range cfg.Webhooks.Sources {
		secret, err := sc.Verify.Secret.Resolve(cfg.BaseDir)
		if err != nil {
			return nil, fmt.Errorf("webhooks source %s: secret: %w", name, err)
		}
		vf, err := newVerifier(sc.Verify, secret)
		if err != nil {
			return nil, fmt.Errorf("webhooks source %s: %w", name, err)
		}
		if _, err := in.message(sc.Message); err != nil {
			return nil, fmt.Errorf("webhooks source %s: %w", name, err)
		}
		s := &source{name: name, cfg: sc, vf: vf}
		in.sources[name], in.byPath[sc.Path] = s, s
	}
	var err error
	in.stream, err = b.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: streamName, Subjects: []string{subjectPrefix + "*"}, Retention: jetstream.LimitsPolicy,
		Storage: jetstream.FileStorage, Replicas: b.Replicas, MaxAge: cfg.Webhooks.Retention,
		Duplicates: cfg.Webhooks.DedupWindow, Description: "protobridge webhook events, one subject per source",
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks stream: %w", err)
	}
	in.m = &ingressMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "protobridge_webhook_requests_total",
			Help: "Webhook deliveries received, by source and outcome (stored, duplicate, bad_signature, bad_payload, too_large, unavailable)."},
			[]string{"source", "outcome"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "protobridge_webhook_events_delivered_total",
			Help: "Webhook events sent to subscribers, by source and whether it was a redelivery."}, []string{"source", "redelivery"}),
	}
	if m != nil {
		m.Registry.MustRegister(in.m.requests, in.m.delivered)
	}
	return in, nil
}

// message finds a source's message in the current route table's files.
func (in *Ingress) message(name string) (protoreflect.MessageDescriptor, error) {
	d, err := in.router.Table().Files().FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return nil, fmt.Errorf("message %s is not in the loaded descriptors", name)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a message", name)
	}
	return md, nil
}

// ServeHTTP receives one delivery.
func (in *Ingress) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	src := in.byPath[r.URL.Path]
	if src == nil {
		http.Error(w, "no webhook source at this path", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhooks are POSTed", http.StatusMethodNotAllowed)
		return
	}
	count := func(outcome string) { in.m.requests.WithLabelValues(src.name, outcome).Inc() }
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(in.cfg.MaxBodyBytes)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			count("too_large")
			in.log.Warn("webhook refused: body over max_body_bytes", "source", src.name, "limit", in.cfg.MaxBodyBytes)
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	dv, err := src.vf.verify(r.Header, body)
	if err != nil {
		count("bad_signature")
		in.log.Warn("webhook refused: signature", "source", src.name, "remote", r.RemoteAddr, "why", err.Error())
		http.Error(w, "signature verification failed", http.StatusUnauthorized)
		return
	}
	md, err := in.message(src.cfg.Message)
	if err != nil {
		count("unavailable")
		in.log.Error("webhook refused: the source's message is gone after a reload", "source", src.name, "error", err)
		http.Error(w, "source not available", http.StatusServiceUnavailable)
		return
	}
	msg, err := decode(r.Header.Get("Content-Type"), body, md, dynamicpb.NewTypes(in.router.Table().Files()))
	if err != nil {
		count("bad_payload")
		in.log.Warn("webhook refused: payload", "source", src.name, "error", err)
		code := http.StatusBadRequest
		var u *unsupported
		if errors.As(err, &u) {
			code = http.StatusUnsupportedMediaType
		}
		http.Error(w, err.Error(), code)
		return
	}
	wire, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		count("bad_payload")
		http.Error(w, "payload cannot be encoded", http.StatusBadRequest)
		return
	}
	nm := &nats.Msg{Subject: subjectPrefix + src.name, Data: wire, Header: nats.Header{}}
	nm.Header.Set(hdrMessage, string(md.FullName()))
	var opts []jetstream.PublishOpt
	if dv.id != "" {
		nm.Header.Set(hdrEventID, dv.id)
	}
	if dv.dedup != "" {
		opts = append(opts, jetstream.WithMsgID(src.name+":"+dv.dedup))
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	ack, err := in.b.JS.PublishMsg(ctx, nm, opts...)
	if err != nil {
		count("unavailable")
		in.log.Error("webhook not stored; the sender is told to retry", "source", src.name, "error", err)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "not stored; retry", http.StatusServiceUnavailable)
		return
	}
	if ack.Duplicate {
		count("duplicate")
	} else {
		count("stored")
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"sequence":%s,"duplicate":%t}`+"\n", strconv.FormatUint(ack.Sequence, 10), ack.Duplicate)
}

// HasSource says whether a source of that name exists.
func (in *Ingress) HasSource(name string) bool { return in.sources[name] != nil }

// SourceStatus is one source as the status page shows it.
type SourceStatus struct {
	Name, Path, Scheme, Message string
	// Requests counts deliveries by outcome since the daemon started.
	Stored, Duplicate, BadSignature, Refused int
}

// Status lists the sources, sorted by name.
func (in *Ingress) Status() []SourceStatus {
	var out []SourceStatus
	for name, s := range in.sources {
		v := func(outcome string) int {
			var m dto.Metric
			_ = in.m.requests.WithLabelValues(name, outcome).Write(&m)
			return int(m.GetCounter().GetValue())
		}
		out = append(out, SourceStatus{Name: name, Path: s.cfg.Path, Scheme: s.cfg.Verify.Scheme, Message: s.cfg.Message,
			Stored: v("stored"), Duplicate: v("duplicate"), BadSignature: v("bad_signature"),
			Refused: v("bad_payload") + v("too_large") + v("unavailable")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CheckSources reports the sources whose message is not in files, as
// serve would refuse them (for `protobridge check`).
func CheckSources(cfg *config.Config, files *protoregistry.Files) bridge.Problems {
	var ps bridge.Problems
	names := make([]string, 0, len(cfg.Webhooks.Sources))
	for name := range cfg.Webhooks.Sources {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		msg := cfg.Webhooks.Sources[name].Message
		if d, err := files.FindDescriptorByName(protoreflect.FullName(msg)); err != nil || d == nil {
			ps.Add(bridge.Pos{File: cfg.File, Line: 1}, "name a message of the loaded descriptors", "webhooks.sources[%s].message %s is not in the loaded descriptors", name, msg)
		} else if _, ok := d.(protoreflect.MessageDescriptor); !ok {
			ps.Add(bridge.Pos{File: cfg.File, Line: 1}, "name a message, not another kind of declaration", "webhooks.sources[%s].message %s is not a message", name, msg)
		}
	}
	return ps
}
