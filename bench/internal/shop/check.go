package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
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
// path and JSON body (as a message) for every bridge, and the upstream's
// order as the reply. It returns the body the upstream received, for
// SameJSON.
func Check(ctx context.Context, cc *grpc.ClientConn, s *Schema, pay *Payloads, up Recorder) ([]byte, error) {
	up.Record(true)
	defer up.Record(false)
	before := up.Hits()
	var resp []byte
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cc.Invoke(ctx, FullMethod, &pay.Request, &resp, grpc.WaitForReady(true)); err != nil {
		return nil, err
	}
	if n := up.Hits() - before; n != 1 {
		return nil, fmt.Errorf("the call reached the upstream %d times, want once", n)
	}
	got := up.Last()
	if got.Method != http.MethodPost || got.Path != RESTPath {
		return nil, fmt.Errorf("upstream got %s %s, want POST %s", got.Method, got.Path, RESTPath)
	}
	if !strings.HasPrefix(got.ContentType, "application/json") {
		return nil, fmt.Errorf("upstream got Content-Type %q, want application/json", got.ContentType)
	}
	order, err := s.DecodeOrderJSON(got.Body)
	if err != nil {
		return nil, fmt.Errorf("upstream body is not the order as JSON: %w", err)
	}
	if !proto.Equal(order, pay.RequestOrder) {
		return nil, errors.New("upstream body differs from the request's order")
	}
	out, err := s.DecodeOrder(resp)
	if err != nil {
		return nil, fmt.Errorf("reply is not an order: %w", err)
	}
	if !proto.Equal(out, pay.Response) {
		return nil, errors.New("reply differs from the upstream's order")
	}
	return got.Body, nil
}

// SameJSON reports whether two JSON documents are equal as data (object key
// order and whitespace aside; numbers and strings stay distinct), so two
// bridges can be shown to send the upstream the same body.
func SameJSON(a, b []byte) error {
	va, err := decodeJSON(a)
	if err != nil {
		return err
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return err
	}
	return jsonDiff("$", va, vb)
}

// jsonDiff names the first place where two decoded JSON values differ.
func jsonDiff(path string, a, b any) error {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: object vs %T", path, b)
		}
		keys := make([]string, 0, len(a)+len(bm))
		for k := range a {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := a[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := jsonDiff(path+"."+k, a[k], bm[k]); err != nil {
				return err
			}
		}
		return nil
	case []any:
		bl, ok := b.([]any)
		if !ok || len(a) != len(bl) {
			return fmt.Errorf("%s: %d-element array vs %#v", path, len(a), b)
		}
		for i := range a {
			if err := jsonDiff(fmt.Sprintf("%s[%d]", path, i), a[i], bl[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if !reflect.DeepEqual(a, b) {
		return fmt.Errorf("%s: %#v vs %#v", path, a, b)
	}
	return nil
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	return v, dec.Decode(&v)
}
