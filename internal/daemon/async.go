package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/protobridge/protobridge/bridge"
	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/internal/async"
	"github.com/protobridge/protobridge/internal/broker"
	"github.com/protobridge/protobridge/internal/config"
	grpcfront "github.com/protobridge/protobridge/internal/frontdoor/grpc"
	"github.com/protobridge/protobridge/internal/webhooks"
)

// asyncParts are the daemon's jobs and webhook ingress, on JetStream.
type asyncParts struct {
	broker *broker.Broker
	jobs   *async.Service    // nil without jobs:
	hooks  *webhooks.Ingress // nil without webhooks.listen
}

// openAsync connects to JetStream and builds the jobs and the webhook
// ingress when the config asks for either.
func (d *Daemon) openAsync(ctx context.Context, cfg *config.Config) error {
	if cfg.Jobs == nil && cfg.Webhooks.Listen == "" {
		return nil
	}
	host, _ := os.Hostname()
	name := fmt.Sprintf("protobridge-%s-%d", host, os.Getpid())
	b, err := broker.Open(ctx, cfg.NATS, name, d.log)
	if err != nil {
		return err
	}
	a := &asyncParts{broker: b}
	var jobs grpcfront.Jobs
	var sub grpcfront.SubscribeFunc
	if cfg.Jobs != nil {
		if a.jobs, err = async.New(ctx, b, cfg, d.router, d.log, d.metrics, name); err != nil {
			b.Close()
			return err
		}
		jobs = a.jobs
	}
	if cfg.Webhooks.Listen != "" {
		if a.hooks, err = webhooks.New(ctx, b, cfg, d.router, d.log, d.metrics); err != nil {
			b.Close()
			return err
		}
		sub = func(ss grpc.BidiStreamingServer[pbv1.SubscribeRequest, pbv1.SubscribeResponse], peer bridge.Peer) error {
			return a.hooks.Subscribe(ss, peer)
		}
	}
	d.srv.SetAsync(jobs, sub)
	d.async = a
	return nil
}

// startAsync starts the job workers and the webhook listener; stop
// drains them: no new deliveries or jobs are taken, running jobs get
// grace and are then handed back to the queue.
func (d *Daemon) startAsync(cfg *config.Config) (webhookAddr net.Addr, stop func(grace time.Duration), err error) {
	a := d.async
	if a == nil {
		return nil, func(time.Duration) {}, nil
	}
	var hs *http.Server
	if a.hooks != nil {
		lis, err := net.Listen("tcp", cfg.Webhooks.Listen)
		if err != nil {
			return nil, nil, listenError(cfg, "webhooks.listen", err)
		}
		webhookAddr = lis.Addr()
		d.log.Info("webhooks listening", "address", webhookAddr.String(), "sources", len(cfg.Webhooks.Sources))
		hs = &http.Server{Handler: a.hooks, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
		go func() {
			if err := hs.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("webhook listener", "error", err)
			}
		}()
	}
	if a.jobs != nil {
		d.log.Info("job workers", "workers", cfg.Jobs.Workers, "jetstream", natsWhere(cfg.NATS))
		if err := a.jobs.Start(); err != nil {
			if hs != nil {
				_ = hs.Close()
			}
			return nil, nil, fmt.Errorf("starting job workers: %w", err)
		}
	}
	return webhookAddr, func(grace time.Duration) {
		if hs != nil {
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			_ = hs.Shutdown(ctx) // deliveries being stored finish
			cancel()
		}
		if a.jobs != nil {
			a.jobs.Drain(grace)
		}
		a.broker.Close()
	}, nil
}

// jobsAPI serves the admin job endpoints the `protobridge jobs` command
// uses; the admin token stands for every caller.
//
//	GET  /jobs                 ?state=RUNNING&method=pkg.S/M&page_size=&page_token=
//	GET  /jobs/{id}
//	POST /jobs/{id}/cancel
func (d *Daemon) jobsAPI(mux *http.ServeMux) {
	off := func(w http.ResponseWriter) bool {
		if d.async == nil || d.async.jobs == nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "async jobs are off: add a jobs: section to the config"})
			return true
		}
		return false
	}
	send := func(w http.ResponseWriter, b []byte, err error) {
		if err != nil {
			code, msg := httpStatusOf(err)
			writeJSON(w, code, map[string]any{"error": msg})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
	// protojson's own indentation varies on purpose; json.Indent's does not.
	mo := indented{}
	mux.HandleFunc("GET /jobs", func(w http.ResponseWriter, r *http.Request) {
		if off(w) {
			return
		}
		q := r.URL.Query()
		req := &pbv1.ListJobsRequest{Method: q.Get("method"), PageToken: q.Get("page_token")}
		if s := q.Get("state"); s != "" {
			v, ok := pbv1.JobState_value["JOB_STATE_"+s]
			if !ok {
				v, ok = pbv1.JobState_value[s]
			}
			if !ok {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "state " + s + " is not known (QUEUED, RUNNING, RETRYING, SUCCEEDED, FAILED, CANCELLED)"})
				return
			}
			req.State = pbv1.JobState(v)
		}
		if s := q.Get("page_size"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]any{"error": "page_size is not a number"})
				return
			}
			req.PageSize = int32(n)
		}
		resp, err := d.async.jobs.List(async.AsAdmin(r.Context()), req, nil, bridge.Peer{})
		var b []byte
		if err == nil {
			b, err = mo.Marshal(resp)
		}
		send(w, b, err)
	})
	mux.HandleFunc("GET /jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		if off(w) {
			return
		}
		j, err := d.async.jobs.Get(async.AsAdmin(r.Context()), r.PathValue("id"), nil, bridge.Peer{})
		var b []byte
		if err == nil {
			b, err = mo.Marshal(j)
		}
		send(w, b, err)
	})
	mux.HandleFunc("POST /jobs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		if off(w) {
			return
		}
		j, err := d.async.jobs.Cancel(async.AsAdmin(r.Context()), r.PathValue("id"), nil, bridge.Peer{})
		var b []byte
		if err == nil {
			b, err = mo.Marshal(j)
		}
		send(w, b, err)
	})
}

// httpStatusOf maps a job API status to an HTTP status and message.
func httpStatusOf(err error) (int, string) {
	st := status.Convert(err)
	// google.rpc.Code's HTTP mapping (google/rpc/code.proto).
	code := map[codes.Code]int{
		codes.Canceled:           499,
		codes.InvalidArgument:    http.StatusBadRequest,
		codes.OutOfRange:         http.StatusBadRequest,
		codes.FailedPrecondition: http.StatusBadRequest,
		codes.DeadlineExceeded:   http.StatusGatewayTimeout,
		codes.NotFound:           http.StatusNotFound,
		codes.AlreadyExists:      http.StatusConflict,
		codes.Aborted:            http.StatusConflict,
		codes.PermissionDenied:   http.StatusForbidden,
		codes.Unauthenticated:    http.StatusUnauthorized,
		codes.ResourceExhausted:  http.StatusTooManyRequests,
		codes.Unimplemented:      http.StatusNotImplemented,
		codes.Unavailable:        http.StatusServiceUnavailable,
	}[st.Code()]
	if code == 0 {
		code = http.StatusInternalServerError
	}
	return code, st.Message()
}

// natsWhere says where JetStream runs, for the log.
func natsWhere(n config.NATSConfig) string {
	if n.URL != "" {
		return "external"
	}
	return "embedded in " + n.StateDir
}

// asyncStatus adds the jobs and webhook sources to the status page's data.
func (d *Daemon) asyncStatus(data map[string]any) {
	if d.async == nil {
		return
	}
	if d.async.jobs != nil {
		data["Jobs"] = d.async.jobs.Status()
	}
	if d.async.hooks != nil {
		data["Webhooks"] = d.async.hooks.Status()
	}
}

// indented marshals a message as protojson indented by encoding/json.
type indented struct{}

func (indented) Marshal(m proto.Message) ([]byte, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
