package shop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Recorder is the upstream as the same-work check sees it: in process
// (*Upstream) or in another process (RemoteUpstream).
type Recorder interface {
	Hits() int64
	Record(on bool)
	Last() Request
}

var _ Recorder = (*Upstream)(nil)

// Check makes one call through cc and compares what the upstream received and
// what the caller got back with the expected messages: the same HTTP method,
// path and JSON body for every bridge, and the upstream's order as the reply.
func Check(ctx context.Context, cc *grpc.ClientConn, s *Schema, pay *Payloads, up Recorder) error {
	up.Record(true)
	defer up.Record(false)
	before := up.Hits()
	var resp []byte
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cc.Invoke(ctx, FullMethod, &pay.Request, &resp, grpc.WaitForReady(true)); err != nil {
		return err
	}
	if n := up.Hits() - before; n != 1 {
		return fmt.Errorf("the call reached the upstream %d times, want once", n)
	}
	got := up.Last()
	if got.Method != http.MethodPost || got.Path != RESTPath {
		return fmt.Errorf("upstream got %s %s, want POST %s", got.Method, got.Path, RESTPath)
	}
	if !strings.HasPrefix(got.ContentType, "application/json") {
		return fmt.Errorf("upstream got Content-Type %q, want application/json", got.ContentType)
	}
	body, err := s.DecodeOrderJSON(got.Body)
	if err != nil {
		return fmt.Errorf("upstream body is not the order as JSON: %w", err)
	}
	if !proto.Equal(body, pay.RequestOrder) {
		return errors.New("upstream body differs from the request's order")
	}
	out, err := s.DecodeOrder(resp)
	if err != nil {
		return fmt.Errorf("reply is not an order: %w", err)
	}
	if !proto.Equal(out, pay.Response) {
		return errors.New("reply differs from the upstream's order")
	}
	return nil
}
