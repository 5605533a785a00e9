package webhooks

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// TestDeepXMLRefusedBeforeParsing: an XML payload nested deeper than the
// ingress maps is refused by a token scan before a tree is built (a
// signed 1 MiB body of 150k levels cost hundreds of MB in mxj), while a
// payload within the limit decodes.
func TestDeepXMLRefusedBeforeParsing(t *testing.T) {
	md := (&structpb.Struct{}).ProtoReflect().Descriptor() // any message: nothing is kept
	deep := strings.Repeat("<a>", 100_000) + strings.Repeat("</a>", 100_000)
	if _, err := decode("application/xml", []byte(deep), md, nil); err == nil || !strings.Contains(err.Error(), "nest deeper than 33") {
		t.Fatalf("deep XML: %v", err)
	}
	if err := xmlDepthWithin([]byte(strings.Repeat("<a>", 33)+strings.Repeat("</a>", 33)), maxDepth+1); err != nil {
		t.Errorf("33 levels: %v", err)
	}
	if _, err := decode("application/xml", []byte("<a><b></a>"), md, nil); err == nil {
		t.Error("malformed XML decoded")
	}
}

// silentStream is a Subscribe stream whose caller never sends.
type silentStream struct{ ctx context.Context }

func (s silentStream) Context() context.Context              { return s.ctx }
func (s silentStream) Send(*pbv1.SubscribeResponse) error    { return nil }
func (s silentStream) Recv() (*pbv1.SubscribeRequest, error) { <-s.ctx.Done(); return nil, s.ctx.Err() }

// TestSubscribeWaitsForStartBriefly: a Subscribe stream that never sends
// its start message is ended with INVALID_ARGUMENT after startWait.
func TestSubscribeWaitsForStartBriefly(t *testing.T) {
	defer func(d time.Duration) { startWait = d }(startWait)
	startWait = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := (&Ingress{}).Subscribe(silentStream{ctx}, bridge.Peer{})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "no start message") {
		t.Fatalf("got %v", err)
	}
}
