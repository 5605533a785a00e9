package webhooks

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/bridge/reason"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// EventStream is the server side of a Subscribe call.
type EventStream interface {
	Context() context.Context
	Send(*pbv1.SubscribeResponse) error
	Recv() (*pbv1.SubscribeRequest, error)
}

var consumerNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// maxUnacked bounds the events a subscriber holds unacknowledged.
const maxUnacked = 1000

// startWait bounds the wait for a Subscribe stream's start message (a
// variable for tests).
var startWait = 10 * time.Second

// Subscribe serves one subscriber: the first message opens the
// subscription, later ones acknowledge events.
func (in *Ingress) Subscribe(ss EventStream, peer bridge.Peer) error {
	ctx := ss.Context()
	// The start message is awaited for startWait at most: a stream that
	// never says what it subscribes to holds nothing for long.
	type recvd struct {
		m   *pbv1.SubscribeRequest
		err error
	}
	got := make(chan recvd, 1)
	go func() {
		m, err := ss.Recv()
		got <- recvd{m, err}
	}()
	var first *pbv1.SubscribeRequest
	select {
	case r := <-got:
		if r.err != nil {
			return r.err
		}
		first = r.m
	case <-time.After(startWait):
		return bridge.Errorf(codes.InvalidArgument, reason.BadPayload, nil, "no start message within %s of opening Subscribe", startWait)
	case <-ctx.Done():
		return ctx.Err()
	}
	start := first.GetStart()
	if start == nil {
		return bridge.Error(codes.InvalidArgument, reason.BadPayload, nil, "the first Subscribe message must be start")
	}
	src := in.sources[start.GetSource()]
	if src == nil {
		return bridge.Errorf(codes.NotFound, reason.UnknownSource, map[string]string{"source": start.GetSource()}, "no webhook source %q", start.GetSource())
	}
	if !src.cfg.Open {
		g, err := in.router.Table().Authenticator().Guard(false, src.cfg.Allow)
		if err != nil {
			return bridge.Errorf(codes.Internal, reason.Internal, nil, "source guard: %v", err)
		}
		md, _ := metadata.FromIncomingContext(ctx)
		if err := g.Allows(ctx, &bridge.Call{Metadata: md, Peer: peer, FrontDoor: "subscribe"}); err != nil {
			return err
		}
	}
	cc := jetstream.ConsumerConfig{
		FilterSubject: subjectPrefix + src.name, AckPolicy: jetstream.AckExplicitPolicy, AckWait: in.cfg.AckWait,
		MaxDeliver: -1, MaxAckPending: maxUnacked, DeliverPolicy: jetstream.DeliverNewPolicy,
	}
	switch {
	case start.GetStartSequence() > 0:
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start.GetStartSequence()
	case start.GetStartTime() != nil:
		t := start.GetStartTime().AsTime()
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	case start.GetAll():
		cc.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	var (
		cons jetstream.Consumer
		err  error
	)
	if name := start.GetConsumer(); name != "" {
		if !consumerNameRE.MatchString(name) {
			return bridge.Errorf(codes.InvalidArgument, reason.BadPayload, nil, "consumer name %q: use 1-64 letters, digits, _ or -", name)
		}
		cc.Durable = src.name + "_" + name
		// A durable nobody resumes within the retention is removed: its
		// events would be gone by then anyway.
		cc.InactiveThreshold = in.cfg.Retention
		cons, err = in.stream.Consumer(ctx, cc.Durable)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			cons, err = in.stream.CreateConsumer(ctx, cc)
			if errors.Is(err, jetstream.ErrConsumerExists) {
				cons, err = in.stream.Consumer(ctx, cc.Durable)
			}
		}
		// Source and consumer names may both hold "_": "a" + "b_c" and
		// "a_b" + "c" name one durable, which must not hand one source's
		// events to a caller allowed on the other.
		if err == nil && cons.CachedInfo().Config.FilterSubject != cc.FilterSubject {
			return bridge.Errorf(codes.FailedPrecondition, reason.BadPayload, map[string]string{"source": src.name, "consumer": name},
				"consumer name %q is taken by a subscription of another source (its stored name %q is shared); choose another", name, cc.Durable)
		}
		// A durable made before it had an inactivity limit (or under another
		// retention) gets this one, so that it too is removed once unused.
		if err == nil {
			if stored := cons.CachedInfo().Config; stored.InactiveThreshold != cc.InactiveThreshold {
				stored.InactiveThreshold = cc.InactiveThreshold
				if updated, uerr := in.stream.UpdateConsumer(ctx, stored); uerr == nil {
					cons = updated
				} else {
					in.log.Warn("webhook subscription: the durable's inactivity limit could not be updated", "source", src.name, "consumer", name, "error", uerr)
				}
			}
		}
	} else {
		cc.InactiveThreshold = time.Minute
		cons, err = in.stream.CreateConsumer(ctx, cc)
	}
	if err != nil {
		return bridge.Wrap(err, codes.Unavailable, reason.JobStore, nil, "cannot open the subscription: the event store is unavailable")
	}
	if start.GetConsumer() == "" {
		defer func() {
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = in.stream.DeleteConsumer(dctx, cons.CachedInfo().Name)
			cancel()
		}()
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(64))
	if err != nil {
		return bridge.Wrap(err, codes.Unavailable, reason.JobStore, nil, "cannot open the subscription: the event store is unavailable")
	}
	defer it.Stop()
	stopIt := context.AfterFunc(ctx, it.Stop)
	defer stopIt()

	var mu sync.Mutex
	pending := map[uint64]jetstream.Msg{}
	recvErr := make(chan error, 1)
	go func() {
		for {
			req, err := ss.Recv()
			if err != nil {
				recvErr <- err
				it.Stop()
				return
			}
			for _, seq := range req.GetAck().GetSequences() {
				mu.Lock()
				m := pending[seq]
				delete(pending, seq)
				mu.Unlock()
				if m != nil {
					_ = m.Ack()
				}
			}
		}
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			select {
			case e := <-recvErr:
				if errors.Is(e, io.EOF) {
					return nil
				}
				return e
			default:
			}
			if ctx.Err() != nil {
				return bridge.Wrap(ctx.Err(), codes.Canceled, reason.Cancelled, nil, "subscription ended")
			}
			return bridge.Wrap(err, codes.Unavailable, reason.JobStore, nil, "the event store ended the subscription; subscribe again")
		}
		meta, err := msg.Metadata()
		if err != nil {
			_ = msg.Term()
			continue
		}
		ev := &pbv1.WebhookEvent{Source: src.name, Sequence: meta.Sequence.Stream, EventId: msg.Headers().Get(hdrEventID),
			ReceiveTime: timestamppb.New(meta.Timestamp), Delivery: meta.NumDelivered,
			Payload: &anypb.Any{TypeUrl: "type.googleapis.com/" + msg.Headers().Get(hdrMessage), Value: msg.Data()}}
		mu.Lock()
		pending[ev.Sequence] = msg
		mu.Unlock()
		if err := ss.Send(&pbv1.SubscribeResponse{Event: ev}); err != nil {
			return err
		}
		in.m.delivered.WithLabelValues(src.name, strconv.FormatBool(meta.NumDelivered > 1)).Inc()
	}
}
