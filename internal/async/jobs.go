// Package async runs unary routes as durable jobs on NATS JetStream:
// Submit stores a job (its state in a key-value bucket, its id in a
// work-queue stream with one subject per priority class) and returns;
// workers in every daemon sharing the stream take jobs, run them through
// the router's Invoker with the identity recorded at submit, retry
// retryable failures with backoff for up to jobs.max_age, keep the result
// for jobs.result_ttl and POST completion callbacks signed the Standard
// Webhooks way. A job whose daemon dies is taken again by another worker
// when its lease runs out; the idempotency-key sent on every attempt lets
// the upstream see its effect once.
package async

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/auth"
	"github.com/protobridge/protobridge/internal/broker"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/router"
	"github.com/protobridge/protobridge/internal/telemetry"
)

// Names of what the jobs keep in JetStream.
const (
	streamName    = "PB_JOBS"
	subjectPrefix = "pb.jobs."
	bucketName    = "pb-job-state"
	cancelSubject = "pb.jobs-cancel"
	// FrontDoor labels job calls in logs, metrics and traces.
	FrontDoor = "async"
	// maxKeyLen bounds a caller's idempotency key.
	maxKeyLen = 256
)

// classes are the priority classes, in the order workers take them.
var classes = []pbv1.JobPriority{pbv1.JobPriority_JOB_PRIORITY_HIGH, pbv1.JobPriority_JOB_PRIORITY_NORMAL, pbv1.JobPriority_JOB_PRIORITY_BULK}

func className(p pbv1.JobPriority) string {
	switch p {
	case pbv1.JobPriority_JOB_PRIORITY_HIGH:
		return "high"
	case pbv1.JobPriority_JOB_PRIORITY_BULK:
		return "bulk"
	}
	return "normal"
}

// Service is the jobs of one daemon: the API behind BridgeService's job
// methods and the workers.
type Service struct {
	cfg    config.JobsConfig
	b      *broker.Broker
	stream jetstream.Stream
	kv     jetstream.KeyValue
	router *router.Router
	log    *slog.Logger
	m      *jobMetrics
	name   string // this daemon, recorded as a running job's runner
	secret []byte // callback signing key
	// callbacks posts completion callbacks (callbackClient).
	callbacks *http.Client

	draining atomic.Bool
	stop     context.CancelFunc // ends the fetch loops
	fetchers sync.WaitGroup
	jobs     sync.WaitGroup // running jobs
	slots    chan struct{}  // jobs.workers
	mu       sync.Mutex
	sems     map[string]chan struct{}           // per upstream
	running  map[string]context.CancelCauseFunc // by job id
	cancelSb *nats.Subscription
}

// errCancelled and errDraining end a running job's context.
var (
	errCancelled = errors.New("job cancelled")
	errDraining  = errors.New("daemon draining")
)

// New creates (or updates) the jobs' stream, consumers and bucket and
// returns the service; Start begins taking jobs. name identifies this
// daemon in job records.
func New(ctx context.Context, b *broker.Broker, cfg *config.Config, r *router.Router, log *slog.Logger, m *telemetry.Metrics, name string) (*Service, error) {
	jc := *cfg.Jobs
	s := &Service{cfg: jc, b: b, router: r, log: log, name: name, slots: make(chan struct{}, jc.Workers),
		sems: map[string]chan struct{}{}, running: map[string]context.CancelCauseFunc{}, callbacks: callbackClient(jc.CallbackHosts)}
	if jc.CallbackSecret != nil {
		v, err := jc.CallbackSecret.Resolve(cfg.BaseDir)
		if err != nil {
			return nil, fmt.Errorf("jobs.callback_secret: %w", err)
		}
		if s.secret, err = webhookKey(v); err != nil {
			return nil, fmt.Errorf("jobs.callback_secret: %w", err)
		}
	}
	var err error
	s.stream, err = b.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: streamName, Subjects: []string{subjectPrefix + "*"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Replicas: b.Replicas, Duplicates: 2 * time.Minute,
		Description: "protobridge async jobs: ids by priority class",
	})
	if err != nil {
		return nil, fmt.Errorf("jobs stream: %w", err)
	}
	s.kv, err = b.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucketName, History: 1, Storage: jetstream.FileStorage, Replicas: b.Replicas,
		LimitMarkerTTL: time.Minute, MaxValueSize: broker.MaxPayload - 4096,
		Description: "protobridge async jobs: state and results",
	})
	if err != nil {
		return nil, fmt.Errorf("jobs bucket: %w", err)
	}
	for _, c := range classes {
		_, err := s.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable: "pb-jobs-" + className(c), FilterSubject: subjectPrefix + className(c),
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: jc.Lease, MaxDeliver: -1, MaxAckPending: 100000,
		})
		if err != nil {
			return nil, fmt.Errorf("jobs consumer: %w", err)
		}
	}
	s.m = newJobMetrics(m, s)
	return s, nil
}

// Start begins taking jobs from the queue.
func (s *Service) Start() error {
	sub, err := s.b.NC.Subscribe(cancelSubject, func(msg *nats.Msg) { s.cancelLocal(string(msg.Data), errCancelled) })
	if err != nil {
		return err
	}
	s.cancelSb = sub
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	var ch [3]chan jetstream.Msg
	for i, c := range classes {
		ch[i] = make(chan jetstream.Msg)
		cons, err := s.stream.Consumer(ctx, "pb-jobs-"+className(c))
		if err != nil {
			cancel()
			return err
		}
		s.fetchers.Go(func() { s.fetch(ctx, cons, ch[i]) })
	}
	s.fetchers.Go(func() { s.dispatch(ctx, ch) })
	return nil
}

// Drain stops taking jobs and waits up to grace for the running ones;
// those still running then are cut and handed back to the queue, to be
// resumed by another daemon or this one's next start.
func (s *Service) Drain(grace time.Duration) {
	if s.draining.Swap(true) {
		return
	}
	defer s.callbacks.CloseIdleConnections()
	if s.cancelSb != nil {
		_ = s.cancelSb.Unsubscribe()
	}
	if s.stop != nil {
		s.stop()
	}
	s.fetchers.Wait()
	done := make(chan struct{})
	go func() { s.jobs.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	s.mu.Lock()
	n := len(s.running)
	for _, cancel := range s.running {
		cancel(errDraining)
	}
	s.mu.Unlock()
	s.log.Info("jobs still running at the end of the grace period go back to the queue", "jobs", n)
	<-done
}

// Submit stores a job and returns its id.
func (s *Service) Submit(ctx context.Context, req *pbv1.SubmitRequest, md metadata.MD, peer bridge.Peer) (*pbv1.SubmitResponse, error) {
	if s.draining.Load() {
		return nil, bridge.Error(codes.Unavailable, reason.Draining, nil, "the daemon is shutting down; submit to another replica or retry")
	}
	route, ok := s.router.Route(req.GetMethod())
	if !ok {
		return nil, s.router.Unknown(req.GetMethod(), FrontDoor)
	}
	meta := map[string]string{"method": route.Name()}
	if m := route.Method; m.IsStreamingClient() || m.IsStreamingServer() {
		return nil, bridge.Errorf(codes.InvalidArgument, reason.StreamingMethod, meta, "jobs run unary methods only; %s streams", route.Name())
	}
	// Authenticate first, before the request is looked at: the job runs
	// later as this identity, and a caller the route refuses learns
	// nothing about what it would have accepted.
	call := &bridge.Call{Route: route, Metadata: md, FrontDoor: FrontDoor, Peer: peer}
	if g := s.router.Table().Guard(route); g != nil {
		if err := g.Allows(ctx, call); err != nil {
			return nil, err
		}
	}
	switch req.GetPriority() {
	case pbv1.JobPriority_JOB_PRIORITY_UNSPECIFIED, pbv1.JobPriority_JOB_PRIORITY_HIGH,
		pbv1.JobPriority_JOB_PRIORITY_NORMAL, pbv1.JobPriority_JOB_PRIORITY_BULK:
	default:
		return nil, bridge.Errorf(codes.InvalidArgument, reason.BadPriority, meta, "priority %d is not a JobPriority: use HIGH, NORMAL or BULK", req.GetPriority())
	}
	in := dynamicpb.NewMessage(route.Method.Input())
	var wire []byte
	switch p := req.GetRequest().(type) {
	case *pbv1.SubmitRequest_PayloadBytes:
		if err := proto.Unmarshal(p.PayloadBytes, in); err != nil {
			return nil, bridge.Errorf(codes.InvalidArgument, reason.BadPayload, meta, "payload_bytes is not a %s: %v", route.Method.Input().FullName(), err)
		}
		wire = p.PayloadBytes
	case *pbv1.SubmitRequest_Payload:
		raw, err := protojson.Marshal(p.Payload)
		if err == nil {
			err = protojson.UnmarshalOptions{Resolver: dynamicpb.NewTypes(s.router.Table().Files())}.Unmarshal(raw, in)
		}
		if err != nil {
			return nil, bridge.Errorf(codes.InvalidArgument, reason.BadPayload, meta, "payload does not fit %s: %v", route.Method.Input().FullName(), err)
		}
		if wire, err = (proto.MarshalOptions{Deterministic: true}).Marshal(in); err != nil {
			return nil, bridge.Errorf(codes.InvalidArgument, reason.BadPayload, meta, "payload cannot be encoded: %v", err)
		}
	}
	// Half of what one record may hold (the server's max_payload when it is
	// smaller than the bucket's limit): the rest is for the job's state.
	if limit := s.valueLimit() / 2; len(wire) > limit {
		return nil, bridge.Errorf(codes.InvalidArgument, reason.BadPayload, meta, "the request is %d bytes; jobs take at most %d", len(wire), limit)
	}
	if len(req.GetIdempotencyKey()) > maxKeyLen {
		return nil, bridge.Errorf(codes.InvalidArgument, reason.BadIdempotencyKey, meta, "idempotency_key is over %d characters", maxKeyLen)
	}
	var cb *pbv1.JobCallback
	if u := req.GetCallbackUrl(); u != "" {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, bridge.Errorf(codes.InvalidArgument, reason.BadCallbackURL, meta, "callback_url must be an absolute http or https URL")
		}
		if s.secret == nil {
			return nil, bridge.Errorf(codes.FailedPrecondition, reason.CallbacksOff, meta, "callbacks are off: the daemon has no jobs.callback_secret to sign them with")
		}
		if !hostAllowed(s.cfg.CallbackHosts, p.Hostname()) {
			return nil, bridge.Errorf(codes.PermissionDenied, reason.BadCallbackURL, meta, "callback_url host %q is not in jobs.callback_hosts", p.Hostname())
		}
		cb = &pbv1.JobCallback{Url: u}
	}
	now := time.Now().UTC()
	rec := &record{Method: route.Name(), State: pbv1.JobState_JOB_STATE_QUEUED, Priority: req.GetPriority(),
		Identity: call.Identity, Claims: call.Claims, Key: req.GetIdempotencyKey(), Request: wire,
		Created: now, Updated: now, Callback: cb}
	if rec.Priority == pbv1.JobPriority_JOB_PRIORITY_UNSPECIFIED {
		rec.Priority = pbv1.JobPriority_JOB_PRIORITY_NORMAL
	}
	if rec.Key != "" {
		sum := sha256.Sum256([]byte(call.Identity + "\x00" + rec.Method + "\x00" + rec.Key))
		rec.ID = "k" + hex.EncodeToString(sum[:16])
	} else {
		var b [16]byte
		_, _ = rand.Read(b[:])
		rec.ID = "j" + hex.EncodeToString(b[:])
		rec.Key = rec.ID
	}
	// The record and the queue entry are written at once: the entry alone
	// (the record failed) is dropped by the worker that finds no record,
	// and a second entry for an existing job is deduplicated by its id,
	// or, past the dedup window, deleted below (and, should a worker take
	// it first, finds the job running, due later or finished).
	pub, err := s.b.JS.PublishAsync(subjectPrefix+className(rec.Priority), []byte(rec.ID), jetstream.WithMsgID(rec.ID))
	if err != nil {
		return nil, s.unavailable(err)
	}
	existing, orphan := false, false
	if _, err := s.kv.Create(ctx, rec.ID, rec.encode()); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, s.unavailable(err)
		}
		existing = true
		if prev, _, err := s.load(ctx, rec.ID); err == nil {
			if !bytes.Equal(prev.Request, rec.Request) {
				return nil, bridge.Errorf(codes.FailedPrecondition, reason.IdempotencyKeyReused, map[string]string{"method": rec.Method, "job_id": rec.ID},
					"idempotency_key was used with a different request (job %s)", rec.ID)
			}
			// Never started and old: its queue entry was lost (its
			// Submit failed after the record); the new entry repairs it.
			orphan = prev.State == pbv1.JobState_JOB_STATE_QUEUED && prev.Attempts == 0 && now.Sub(prev.Created) > recordGrace
		}
	}
	select {
	case ack := <-pub.Ok():
		if existing && !orphan && !ack.Duplicate {
			// Past the queue's dedup window: the job has its entry, or
			// had it and ran; a second one would only be skipped (so the
			// caller's deadline may cut this short).
			dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
			if err := s.stream.DeleteMsg(dctx, ack.Sequence); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				s.log.Warn("dropping a resubmitted job's second queue entry", "job", rec.ID, "error", err)
			}
			dcancel()
		}
	case err := <-pub.Err():
		return nil, s.unavailable(err)
	case <-ctx.Done():
		return nil, bridge.Wrap(ctx.Err(), codes.DeadlineExceeded, reason.DeadlineExceeded, nil, "the job was not confirmed stored before the deadline")
	}
	if !existing {
		s.m.submitted.WithLabelValues(className(rec.Priority)).Inc()
	}
	return &pbv1.SubmitResponse{JobId: rec.ID, Existing: existing}, nil
}

// unavailable is the status of a JetStream failure.
func (s *Service) unavailable(err error) error {
	s.log.Warn("job store", "error", err)
	return bridge.Wrap(err, codes.Unavailable, reason.JobStore, nil, "the job store is unavailable")
}

// load reads a job by id.
func (s *Service) load(ctx context.Context, id string) (*record, uint64, error) {
	if id == "" || len(id) > 64 || !validID(id) {
		return nil, 0, bridge.Errorf(codes.InvalidArgument, reason.JobNotFound, nil, "job_id %q is not a job id", id)
	}
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, bridge.Errorf(codes.NotFound, reason.JobNotFound, map[string]string{"job_id": id}, "job %s does not exist (or its result expired)", id)
	}
	if err != nil {
		return nil, 0, s.unavailable(err)
	}
	r, err := decodeRecord(e.Value())
	if err != nil {
		return nil, 0, s.unavailable(err)
	}
	return r, e.Revision(), nil
}

func validID(id string) bool {
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

type adminKey struct{}

// AsAdmin marks ctx as the admin API's: every job is visible and
// cancellable (the admin listener has its own token).
func AsAdmin(ctx context.Context) context.Context { return context.WithValue(ctx, adminKey{}, true) }

// authorize lets the job's submitter (or anyone, on an open route, or the
// admin API) see and cancel a job, also after a reload removed its method.
func (s *Service) authorize(ctx context.Context, r *record, md metadata.MD, peer bridge.Peer) error {
	if ctx.Value(adminKey{}) != nil {
		return nil
	}
	route, ok := s.router.Route(r.Method)
	var g *auth.Guard
	if ok {
		g = s.router.Table().Guard(route)
	}
	switch {
	case ok && g != nil && !g.Open():
	case r.Identity == "":
		return nil // submitted on an open route: anyone could see it then
	default:
		// A reload removed the method or opened it: the submitter is
		// still the only one who may see or cancel the job, identified
		// as on any route.
		var err error
		if g, err = s.router.Table().Authenticator().Guard(false, nil); err != nil {
			return err
		}
	}
	call := &bridge.Call{Route: route, Metadata: md, FrontDoor: FrontDoor, Peer: peer}
	if err := g.Allows(ctx, call); err != nil {
		return err
	}
	if call.Identity != r.Identity {
		return bridge.Errorf(codes.NotFound, reason.JobNotFound, map[string]string{"job_id": r.ID}, "job %s does not exist (or its result expired)", r.ID)
	}
	return nil
}

// view is the job with its result as JSON too.
func (s *Service) view(r *record) *pbv1.Job {
	j := r.proto()
	if len(r.Result) == 0 {
		return j
	}
	route, ok := s.router.Route(r.Method)
	if !ok {
		return j
	}
	out := dynamicpb.NewMessage(route.Method.Output())
	if proto.Unmarshal(r.Result, out) != nil {
		return j
	}
	raw, err := protojson.MarshalOptions{Resolver: dynamicpb.NewTypes(s.router.Table().Files())}.Marshal(out)
	if err != nil {
		return j
	}
	st := &structpb.Struct{}
	if protojson.Unmarshal(raw, st) == nil {
		j.Result = st
	}
	return j
}

// Get returns a job.
func (s *Service) Get(ctx context.Context, id string, md metadata.MD, peer bridge.Peer) (*pbv1.Job, error) {
	r, _, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, md, peer); err != nil {
		return nil, err
	}
	return s.view(r), nil
}

// Watch sends the job now and after every change until it is final (and
// its callback, if any, settled) or ctx ends.
func (s *Service) Watch(ctx context.Context, id string, md metadata.MD, peer bridge.Peer, send func(*pbv1.Job) error) error {
	r, _, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, r, md, peer); err != nil {
		return err
	}
	w, err := s.kv.Watch(ctx, id)
	if err != nil {
		return s.unavailable(err)
	}
	defer func() { _ = w.Stop() }()
	var (
		last uint64
		sent *pbv1.Job
	)
	for {
		select {
		case <-ctx.Done():
			return bridge.Wrap(ctx.Err(), codes.Canceled, reason.Cancelled, nil, "watch ended")
		case e, ok := <-w.Updates():
			if !ok {
				return bridge.Error(codes.Unavailable, reason.JobStore, nil, "the job store ended the watch; watch again")
			}
			if e == nil {
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				return bridge.Errorf(codes.NotFound, reason.JobNotFound, map[string]string{"job_id": id}, "job %s expired", id)
			}
			if e.Revision() <= last {
				continue
			}
			last = e.Revision()
			r, err := decodeRecord(e.Value())
			if err != nil {
				return s.unavailable(err)
			}
			// A lease renewal writes the record without changing the job:
			// watchers see changes only.
			if j := s.view(r); !proto.Equal(j, sent) {
				if err := send(j); err != nil {
					return err
				}
				sent = j
			}
			if terminal(r.State) && !r.callbackDue(s.cfg.CallbackAttempts) {
				return nil
			}
		}
	}
}

// Cancel cancels a job that has not finished: a queued one never runs, a
// running one has its call cut. A finished job is returned unchanged.
func (s *Service) Cancel(ctx context.Context, id string, md metadata.MD, peer bridge.Peer) (*pbv1.Job, error) {
	for range 10 {
		r, rev, err := s.load(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := s.authorize(ctx, r, md, peer); err != nil {
			return nil, err
		}
		if terminal(r.State) {
			return s.view(r), nil
		}
		wasRunning := r.State == pbv1.JobState_JOB_STATE_RUNNING
		now := time.Now().UTC()
		r.State, r.Updated, r.Finished, r.Next = pbv1.JobState_JOB_STATE_CANCELLED, now, now, time.Time{}
		r.Err = &pbv1.JobError{Code: codes.Canceled.String(), Message: "cancelled by CancelJob", Reason: reason.Cancelled}
		if _, err := s.finalWrite(ctx, r, rev); err != nil {
			if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				continue // changed meanwhile: look again
			}
			return nil, s.unavailable(err)
		}
		s.m.finished.WithLabelValues("cancelled").Inc()
		if wasRunning {
			_ = s.b.NC.Publish(cancelSubject, []byte(id))
		}
		return s.view(r), nil
	}
	return nil, bridge.Error(codes.Aborted, reason.JobStore, nil, "the job kept changing; cancel again")
}

// finalWrite stores a final state, kept for jobs.result_ttl, and returns
// the record's new revision.
func (s *Service) finalWrite(ctx context.Context, r *record, rev uint64) (uint64, error) {
	ack, err := s.b.JS.PublishMsg(ctx, &nats.Msg{Subject: "$KV." + bucketName + "." + r.ID, Data: r.encode()},
		jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(s.cfg.ResultTTL))
	if err != nil {
		if isWrongLastSeq(err) {
			return 0, fmt.Errorf("%w: %w", err, jetstream.ErrKeyRevisionMismatch)
		}
		return 0, err
	}
	return ack.Sequence, nil
}

func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// List lists jobs newest first, filtered by state and method.
func (s *Service) List(ctx context.Context, req *pbv1.ListJobsRequest, md metadata.MD, peer bridge.Peer) (*pbv1.ListJobsResponse, error) {
	size := int(req.GetPageSize())
	if size <= 0 {
		size = 100
	}
	size = min(size, 1000)
	offset := 0
	if t := req.GetPageToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return nil, bridge.Errorf(codes.InvalidArgument, reason.BadPayload, nil, "page_token is not one this daemon returned")
		}
		offset = n
	}
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, s.unavailable(err)
	}
	defer func() { _ = w.Stop() }()
	var all []*record
	allowed := map[string]bool{}
	for e := range w.Updates() {
		if e == nil {
			break
		}
		r, err := decodeRecord(e.Value())
		if err != nil {
			continue
		}
		if (req.GetState() != 0 && r.State != req.GetState()) || (req.GetMethod() != "" && r.Method != req.GetMethod()) {
			continue
		}
		k := r.Method + "\x00" + r.Identity
		ok, seen := allowed[k]
		if !seen {
			ok = s.authorize(ctx, r, md, peer) == nil
			allowed[k] = ok
		}
		if ok {
			r.Request, r.Result = nil, nil
			all = append(all, r)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Created.After(all[j].Created) })
	out := &pbv1.ListJobsResponse{}
	for i := offset; i < len(all) && len(out.Jobs) < size; i++ {
		out.Jobs = append(out.Jobs, all[i].proto())
	}
	if offset+size < len(all) {
		out.NextPageToken = strconv.Itoa(offset + size)
	}
	return out, nil
}

// cancelLocal cuts a job running in this daemon.
func (s *Service) cancelLocal(id string, cause error) {
	s.mu.Lock()
	if c := s.running[id]; c != nil {
		c(cause)
	}
	s.mu.Unlock()
}

// hostAllowed reports whether host matches one of the callback_hosts
// entries: equal (case-insensitively), or under a "*.domain" entry.
func hostAllowed(allowed []string, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, a := range allowed {
		a = strings.ToLower(a)
		if suffix, ok := strings.CutPrefix(a, "*"); ok {
			if strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
				return true
			}
		} else if host == a {
			return true
		}
	}
	return false
}
