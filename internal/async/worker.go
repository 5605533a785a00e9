package async

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/bridge/reason"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/broker"
	"github.com/protobridge/protobridge/internal/policy"
)

// fetch pulls one priority class's job ids into ch until ctx ends.
func (s *Service) fetch(ctx context.Context, cons jetstream.Consumer, ch chan<- jetstream.Msg) {
	for ctx.Err() == nil {
		// Only what free workers can start: a fetched job waits with its
		// lease unrenewed.
		batch, err := cons.Fetch(max(1, cap(s.slots)-len(s.slots)), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("taking jobs", "error", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		for msg := range batch.Messages() {
			select {
			case ch <- msg:
			case <-ctx.Done():
				// Not started: back to the queue at once.
				_ = msg.Nak()
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn("taking jobs", "error", err)
			sleep(ctx, time.Second)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// dispatch runs jobs, up to jobs.workers at once, a higher class first
// whenever jobs of several classes wait.
func (s *Service) dispatch(ctx context.Context, ch [3]chan jetstream.Msg) {
	var held [3]jetstream.Msg // taken from a fetcher, not yet started
	defer func() {
		for _, m := range held {
			if m != nil {
				_ = m.Nak()
			}
		}
	}()
	for {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		msg := s.next(ctx, ch, &held)
		if msg == nil {
			<-s.slots
			return
		}
		s.jobs.Go(func() {
			defer func() { <-s.slots }()
			s.handle(msg)
		})
	}
}

// next picks the job to start: the highest class in hand; a lower one
// waits while jobs of a higher class are stored that their fetcher has
// not brought yet.
func (s *Service) next(ctx context.Context, ch [3]chan jetstream.Msg, held *[3]jetstream.Msg) jetstream.Msg {
	take := func(i int) jetstream.Msg {
		m := held[i]
		held[i] = nil
		return m
	}
	for {
		for i := range ch {
			if held[i] == nil {
				select {
				case held[i] = <-ch[i]:
				default:
				}
			}
		}
		low := -1
		for i := range held {
			if held[i] != nil {
				low = i
				break
			}
		}
		if low == 0 || (low > 0 && !s.waitingAbove(low)) {
			return take(low)
		}
		// Nothing in hand, or a lower class while a higher one waits:
		// wait for a fetcher (briefly, in the second case).
		var wait <-chan time.Time
		if low > 0 {
			t := time.NewTimer(50 * time.Millisecond)
			defer t.Stop()
			wait = t.C
		}
		recv := func(i int) chan jetstream.Msg {
			if held[i] != nil {
				return nil
			}
			return ch[i]
		}
		select {
		case held[0] = <-recv(0):
		case held[1] = <-recv(1):
		case held[2] = <-recv(2):
		case <-wait:
			return take(low)
		case <-ctx.Done():
			return nil
		}
	}
}

// waitingAbove says whether jobs of a class higher than c are stored and
// not yet taken.
func (s *Service) waitingAbove(c int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for i := range c {
		cons, err := s.stream.Consumer(ctx, "pb-jobs-"+className(classes[i]))
		if err != nil {
			return false
		}
		info, err := cons.Info(ctx)
		if err == nil && info.NumPending > 0 {
			return true
		}
	}
	return false
}

// recordGrace is how long a queue entry waits for its job record.
const recordGrace = 30 * time.Second

// handle takes one delivery of a job id: runs the job, or its callback,
// and settles the delivery.
func (s *Service) handle(msg jetstream.Msg) {
	id := string(msg.Data())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	e, err := s.kv.Get(ctx, id)
	cancel()
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		// Submit writes the record beside the queue entry: a young entry's
		// record may be on its way. An old one's expired or was never
		// stored (its Submit failed).
		if md, merr := msg.Metadata(); merr == nil && time.Since(md.Timestamp) < recordGrace {
			_ = msg.NakWithDelay(50 * time.Millisecond)
			return
		}
		_ = msg.Term()
		return
	}
	if err != nil {
		s.log.Warn("reading a job", "job", id, "error", err)
		_ = msg.NakWithDelay(time.Second)
		return
	}
	r, err := decodeRecord(e.Value())
	if err != nil {
		s.log.Error("a job record does not decode; dropping it", "job", id, "error", err)
		_ = msg.Term()
		return
	}
	if md, err := msg.Metadata(); err == nil && md.NumDelivered > 1 {
		s.m.redelivered.Inc()
	}
	if terminal(r.State) {
		s.settleCallback(msg, r, e.Revision())
		return
	}
	s.run(msg, r, e.Revision())
}

// lease keeps a delivery ours while f runs, calling renew (if not nil)
// at each renewal too.
func (s *Service) lease(msg jetstream.Msg, renew func(), f func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(s.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
				if renew != nil {
					renew()
				}
			}
		}
	})
	f()
	close(done)
	wg.Wait()
}

// sem is the per-upstream bound.
func (s *Service) sem(upstream string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.sems[upstream]
	if c == nil {
		n := s.cfg.DefaultConcurrency
		if v, ok := s.cfg.Concurrency[upstream]; ok {
			n = v
		}
		c = make(chan struct{}, n)
		s.sems[upstream] = c
	}
	return c
}

// run calls the job's route and records what came of it.
func (s *Service) run(msg jetstream.Msg, r *record, rev uint64) {
	// The record is the lock: another delivery of the job (a stale fetch,
	// a resubmit) waits while its runner holds the lease or its retry is
	// not due.
	now := time.Now().UTC()
	if r.State == pbv1.JobState_JOB_STATE_RUNNING && r.LeaseUntil.After(now) {
		_ = msg.NakWithDelay(r.LeaseUntil.Sub(now))
		return
	}
	if r.State == pbv1.JobState_JOB_STATE_RETRYING && r.Next.After(now) {
		_ = msg.NakWithDelay(r.Next.Sub(now))
		return
	}
	route, ok := s.router.Route(r.Method)
	if !ok {
		s.finish(msg, r, rev, nil, s.router.Unknown(r.Method, FrontDoor))
		return
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	s.mu.Lock()
	s.running[r.ID] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, r.ID)
		s.mu.Unlock()
	}()
	var resp proto.Message
	var callErr error
	started := false
	var lk sync.Mutex // r, rev and started, against renew
	renew := func() {
		lk.Lock()
		defer lk.Unlock()
		if !started {
			return
		}
		r.LeaseUntil = time.Now().UTC().Add(s.cfg.Lease)
		wctx, wcancel := context.WithTimeout(ctx, s.cfg.Lease/3)
		defer wcancel()
		if nrev, err := s.kv.Update(wctx, r.ID, r.encode(), rev); err == nil {
			rev = nrev
		} // else changed (cancelled) or unreachable: finish finds out
	}
	s.lease(msg, renew, func() {
		sem := s.sem(route.Upstream.Name)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-sem }()
		lk.Lock()
		now := time.Now().UTC()
		r.State, r.Attempts, r.Updated, r.Next, r.Runner = pbv1.JobState_JOB_STATE_RUNNING, r.Attempts+1, now, time.Time{}, s.name
		r.LeaseUntil = now.Add(s.cfg.Lease)
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		nrev, err := s.kv.Update(wctx, r.ID, r.encode(), rev)
		wcancel()
		if err != nil {
			lk.Unlock()
			if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				s.log.Warn("recording a job's start", "job", r.ID, "error", err)
			}
			return // changed meanwhile (cancelled, started elsewhere): handled on redelivery
		}
		rev, started = nrev, true
		lk.Unlock()
		s.m.queueAge.Observe(now.Sub(r.Created).Seconds())
		md := metadata.Pairs("idempotency-key", r.Key, "x-request-id", r.ID)
		call := &bridge.Call{Route: route, Request: bridge.NewWireMessage(route.Method.Input(), r.Request), Metadata: md,
			FrontDoor: FrontDoor, Identity: r.Identity, Claims: r.Claims, Preauthenticated: true, RequestID: r.ID}
		s.m.running.Inc()
		resp, callErr = s.router.Unary(ctx, call)
		s.m.running.Dec()
	})
	if !started {
		if cause := context.Cause(ctx); errors.Is(cause, errDraining) {
			_ = msg.Nak()
		} else {
			_ = msg.NakWithDelay(100 * time.Millisecond)
		}
		return
	}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errCancelled):
		// CancelJob recorded the final state; the redelivery finds it
		// terminal and settles the callback it owes.
		_ = msg.Nak()
		return
	case errors.Is(cause, errDraining) && callErr != nil && cutByDrain(callErr):
		// Cut by the drain: back to the queue; the next worker runs it
		// again with the same idempotency key. (A call that completed as
		// the grace ended, with a result or a final error, is finished
		// below.)
		r.State, r.Updated = pbv1.JobState_JOB_STATE_QUEUED, time.Now().UTC()
		wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = s.kv.Update(wctx, r.ID, r.encode(), rev)
		wcancel()
		_ = msg.Nak()
		return
	}
	s.finish(msg, r, rev, resp, callErr)
}

// cutByDrain reports whether a call that failed while the drain cut its
// context failed because of the cut (CANCELLED) or could succeed later; a
// final error it met first is the job's outcome.
func cutByDrain(err error) bool {
	code, why := statusOf(err)
	return code == codes.Canceled || retryable(code, why)
}

// statusOf is a call error's code and ErrorInfo reason.
func statusOf(err error) (codes.Code, string) {
	st := status.Convert(policy.StatusError(context.Background(), err))
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return st.Code(), info.GetReason()
		}
	}
	return st.Code(), ""
}

// retryable says whether a failed attempt may succeed later: not when a
// size limit refused the request or the reply, which the next attempt
// meets again.
func retryable(code codes.Code, why string) bool {
	switch why {
	case reason.RequestTooLarge, reason.ResponseTooLarge, reason.StreamEventTooLarge, reason.WSFrameTooLarge,
		reason.UpstreamWSClose(1009), reason.UpstreamHTTP(http.StatusRequestEntityTooLarge):
		return false
	}
	switch code {
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.DeadlineExceeded:
		return true
	}
	return false
}

// finish records an attempt's outcome: final, or a retry after a backoff.
func (s *Service) finish(msg jetstream.Msg, r *record, rev uint64, resp proto.Message, callErr error) {
	now := time.Now().UTC()
	r.Updated = now
	if callErr == nil {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
		if err != nil {
			callErr = bridge.Errorf(codes.Internal, reason.Encode, nil, "the reply cannot be encoded: %v", err)
		} else {
			r.State, r.Result, r.Err, r.Finished = pbv1.JobState_JOB_STATE_SUCCEEDED, b, nil, now
		}
	}
	var delay time.Duration
	if callErr != nil {
		st := status.Convert(policy.StatusError(context.Background(), callErr))
		r.Err = &pbv1.JobError{Code: st.Code().String(), Message: st.Message()}
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				r.Err.Reason = d.GetReason()
			case *errdetails.RetryInfo:
				delay = d.GetRetryDelay().AsDuration()
			}
		}
		retry := retryable(st.Code(), r.Err.Reason)
		if retry {
			b := httpx.Backoff(s.cfg.InitialBackoff, s.cfg.MaxBackoff, 2)
			next := time.Duration(0)
			for range r.Attempts {
				next = b.NextBackOff()
			}
			delay = max(delay, next)
		}
		// A retry is due before max_age or not at all: an upstream's
		// Retry-After past it fails the job now, with the upstream's error.
		if retry && now.Add(delay).Sub(r.Created) < s.cfg.MaxAge {
			r.State, r.Next = pbv1.JobState_JOB_STATE_RETRYING, now.Add(delay)
		} else {
			r.State, r.Finished = pbv1.JobState_JOB_STATE_FAILED, now
		}
	}
	if r.State == pbv1.JobState_JOB_STATE_SUCCEEDED {
		if n, limit := len(r.encode()), s.valueLimit(); n > limit {
			// Stored, it would fail every time and the job run again.
			r.State, r.Result = pbv1.JobState_JOB_STATE_FAILED, nil
			r.Err = &pbv1.JobError{Code: codes.OutOfRange.String(), Reason: reason.ResultTooLarge,
				Message: fmt.Sprintf("the job's record with its result is %d bytes; the job store keeps at most %d", n, limit)}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r.State == pbv1.JobState_JOB_STATE_RETRYING {
		if _, err := s.kv.Update(ctx, r.ID, r.encode(), rev); err != nil {
			s.log.Warn("recording a job's retry", "job", r.ID, "error", err)
		}
		s.m.retried.Inc()
		_ = msg.NakWithDelay(delay)
		return
	}
	nrev, err := s.finalWrite(ctx, r, rev)
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		s.log.Warn("recording a job's result", "job", r.ID, "error", err)
		if now.Sub(r.Created) < s.cfg.MaxAge {
			_ = msg.NakWithDelay(time.Second) // runs again, with the same key
			return
		}
		// Past max_age: record a failure without the result instead.
		r.State, r.Result, r.Finished = pbv1.JobState_JOB_STATE_FAILED, nil, now
		r.Err = &pbv1.JobError{Code: codes.Unavailable.String(), Reason: reason.JobStore,
			Message: "the job's outcome could not be recorded before max_age"}
		if nrev, err = s.finalWrite(ctx, r, rev); err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			s.log.Error("recording a job's failure; the job is dropped from the queue", "job", r.ID, "error", err)
			_ = msg.Term()
			return
		}
	}
	if err != nil {
		// Cancelled meanwhile: the redelivery finds the job terminal and
		// settles the callback it owes.
		_ = msg.Nak()
		return
	}
	outcome := "succeeded"
	if r.State == pbv1.JobState_JOB_STATE_FAILED {
		outcome = "failed"
	}
	s.m.finished.WithLabelValues(outcome).Inc()
	s.m.runAge.Observe(now.Sub(r.Created).Seconds())
	s.settleCallback(msg, r, nrev)
}

// valueLimit is the largest job record the bucket and the server take.
func (s *Service) valueLimit() int {
	limit := broker.MaxPayload - 4096 // the bucket's MaxValueSize
	if mp := int(s.b.NC.MaxPayload()); mp > 0 {
		limit = min(limit, mp-4096) // room for the subject and headers
	}
	return limit
}
