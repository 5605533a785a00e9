package grpcfront

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
)

// Jobs serves BridgeService's job methods (internal/async).
type Jobs interface {
	Submit(ctx context.Context, req *pbv1.SubmitRequest, md metadata.MD, peer bridge.Peer) (*pbv1.SubmitResponse, error)
	Get(ctx context.Context, id string, md metadata.MD, peer bridge.Peer) (*pbv1.Job, error)
	Watch(ctx context.Context, id string, md metadata.MD, peer bridge.Peer, send func(*pbv1.Job) error) error
	Cancel(ctx context.Context, id string, md metadata.MD, peer bridge.Peer) (*pbv1.Job, error)
	List(ctx context.Context, req *pbv1.ListJobsRequest, md metadata.MD, peer bridge.Peer) (*pbv1.ListJobsResponse, error)
}

// SubscribeFunc serves BridgeService Subscribe (internal/webhooks).
type SubscribeFunc func(ss grpc.BidiStreamingServer[pbv1.SubscribeRequest, pbv1.SubscribeResponse], peer bridge.Peer) error

// SetAsync serves the job methods with j and Subscribe with sub; either
// may be nil (the methods then answer UNIMPLEMENTED). Call before Serve.
func (s *Server) SetAsync(j Jobs, sub SubscribeFunc) { s.jobs, s.subscribe = j, sub }

func noJobs() error {
	return status.Error(codes.Unimplemented, "async jobs are off: add a jobs: section to the config")
}

func incomingMD(ctx context.Context) metadata.MD {
	md, _ := metadata.FromIncomingContext(ctx)
	return md
}

// Submit stores a job.
func (b *bridgeService) Submit(ctx context.Context, req *pbv1.SubmitRequest) (*pbv1.SubmitResponse, error) {
	if b.s.jobs == nil {
		return nil, noJobs()
	}
	return b.s.jobs.Submit(ctx, req, incomingMD(ctx), peerOf(ctx))
}

// GetJob returns a job.
func (b *bridgeService) GetJob(ctx context.Context, req *pbv1.GetJobRequest) (*pbv1.GetJobResponse, error) {
	if b.s.jobs == nil {
		return nil, noJobs()
	}
	j, err := b.s.jobs.Get(ctx, req.GetJobId(), incomingMD(ctx), peerOf(ctx))
	if err != nil {
		return nil, err
	}
	return &pbv1.GetJobResponse{Job: j}, nil
}

// WatchJob streams a job's changes.
func (b *bridgeService) WatchJob(req *pbv1.WatchJobRequest, ss grpc.ServerStreamingServer[pbv1.WatchJobResponse]) error {
	if b.s.jobs == nil {
		return noJobs()
	}
	ctx := ss.Context()
	return b.s.jobs.Watch(ctx, req.GetJobId(), incomingMD(ctx), peerOf(ctx), func(j *pbv1.Job) error {
		return ss.Send(&pbv1.WatchJobResponse{Job: j})
	})
}

// CancelJob cancels a job.
func (b *bridgeService) CancelJob(ctx context.Context, req *pbv1.CancelJobRequest) (*pbv1.CancelJobResponse, error) {
	if b.s.jobs == nil {
		return nil, noJobs()
	}
	j, err := b.s.jobs.Cancel(ctx, req.GetJobId(), incomingMD(ctx), peerOf(ctx))
	if err != nil {
		return nil, err
	}
	return &pbv1.CancelJobResponse{Job: j}, nil
}

// ListJobs lists jobs.
func (b *bridgeService) ListJobs(ctx context.Context, req *pbv1.ListJobsRequest) (*pbv1.ListJobsResponse, error) {
	if b.s.jobs == nil {
		return nil, noJobs()
	}
	return b.s.jobs.List(ctx, req, incomingMD(ctx), peerOf(ctx))
}

// Subscribe delivers a webhook source's events.
func (b *bridgeService) Subscribe(ss grpc.BidiStreamingServer[pbv1.SubscribeRequest, pbv1.SubscribeResponse]) error {
	if b.s.subscribe == nil {
		return status.Error(codes.Unimplemented, "webhook ingress is off: add a webhooks: section to the config")
	}
	return b.s.subscribe(ss, peerOf(ss.Context()))
}
