// Package async tests jobs and webhooks end to end: the protobridge
// binary (built once) with embedded JetStream or a 3-node nats-server
// cluster, a counting upstream that applies each idempotency key once,
// grpc-go clients of BridgeService, and kill -9 of the daemon mid-run.
package async

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pbv1 "github.com/protobridge/protobridge/gen/protobridge/v1"
	"github.com/protobridge/protobridge/test/internal/proc"
)

var (
	root   string
	binary string
)

// lifetime bounds any single wait (a start, a call, a drain).
const lifetime = 60 * time.Second

func TestMain(m *testing.M) { os.Exit(proc.Main(m, &root, &binary, nil)) }

// freePort returns a loopback port free a moment ago, so that a daemon
// restarted with the same config listens where its clients expect.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// upstream is a counting order service: POST /orders applies an
// Idempotency-Key's effect once and answers a replay with the same order.
type upstream struct {
	*httptest.Server
	mu      sync.Mutex
	effects map[string]int // key → times applied (must stay 1)
	sends   map[string]int // key → requests seen
	fail    atomic.Int32   // answer 503 to this many requests first
	hold    chan struct{}  // when set, requests wait on it
	applied atomic.Int64
	order   []string // keys in the order first seen
	delay   time.Duration
	// inFlight and maxInFlight count concurrent requests.
	inFlight, maxInFlight atomic.Int32
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{effects: map[string]int{}, sends: map[string]int{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/orders" {
			http.NotFound(w, r)
			return
		}
		u.mu.Lock()
		h := u.hold
		u.mu.Unlock()
		if h != nil {
			select {
			case <-h:
			case <-r.Context().Done():
				return
			}
		}
		var req struct {
			Sku      string `json:"sku"`
			Quantity int    `json:"quantity"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			http.Error(w, "Idempotency-Key is required", http.StatusBadRequest)
			return
		}
		n := u.inFlight.Add(1)
		defer u.inFlight.Add(-1)
		for m := u.maxInFlight.Load(); n > m && !u.maxInFlight.CompareAndSwap(m, n); m = u.maxInFlight.Load() {
		}
		if u.delay > 0 {
			time.Sleep(u.delay)
		}
		if u.fail.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		u.mu.Lock()
		u.sends[key]++
		if u.sends[key] == 1 {
			u.order = append(u.order, req.Sku)
		}
		if u.effects[key] == 0 {
			u.effects[key] = 1
			u.applied.Add(1)
		}
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"id":"order-%s","sku":%q,"quantity":%d}`, key, req.Sku, req.Quantity)
	}))
	t.Cleanup(u.Close)
	return u
}

// daemon is a `protobridge serve` child process.
type daemon struct {
	*proc.Process
	t      *testing.T
	config string
	grpc   string
	hooks  string
	admin  string
	conn   *grpc.ClientConn
}

var (
	servingRE  = regexp.MustCompile(`msg=serving address=(\S+) admin=(\S+)`)
	webhooksRE = regexp.MustCompile(`msg="webhooks listening" address=(\S+)`)
)

// startDaemon runs the config and waits until it serves.
func startDaemon(t *testing.T, config string, env ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, config: config}
	d.start(env...)
	t.Cleanup(func() {
		select {
		case <-d.Done():
		default:
			if code := d.SignalAndWait(t, syscall.SIGTERM, lifetime); code != 0 {
				t.Errorf("daemon exited with %d after SIGTERM; output:\n%s", code, d.Out)
			}
		}
		_ = d.conn.Close()
	})
	return d
}

func (d *daemon) start(env ...string) {
	t := d.t
	t.Helper()
	d.Process = proc.Start(t, "", env, binary, "serve", "--config", d.config)
	m, ok := d.Out.Wait(servingRE)
	if !ok {
		t.Fatalf("daemon exited before serving: %v\n%s", d.Err(), d.Out)
	}
	d.grpc, d.admin = m[1], m[2]
	if m, ok := d.Out.Wait(webhooksRE); ok && len(m) > 1 {
		d.hooks = m[1]
	}
	if d.conn == nil {
		conn, err := grpc.NewClient(d.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		d.conn = conn
	}
	ctx, cancel := context.WithTimeout(context.Background(), lifetime)
	defer cancel()
	if _, err := healthpb.NewHealthClient(d.conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Fatalf("health: %v\n%s", err, d.Out)
	}
}

// kill9 kills the daemon with SIGKILL and starts it again on the same
// config (ports and state directory).
func (d *daemon) kill9Restart(env ...string) {
	d.t.Helper()
	d.SignalAndWait(d.t, syscall.SIGKILL, lifetime)
	d.start(env...)
}

func (d *daemon) bridge() pbv1.BridgeServiceClient { return pbv1.NewBridgeServiceClient(d.conn) }

// writeConfig writes the daemon config of these tests, with embedded
// JetStream under dir; extra is appended.
func writeConfig(t *testing.T, dir, up, grpcAddr, hooksAddr, extra string) string {
	t.Helper()
	return writeConfigNATS(t, dir, up, grpcAddr, hooksAddr, "state_dir: "+filepath.Join(dir, "state"), extra)
}

// writeConfigNATS is writeConfig with the given nats: block.
func writeConfigNATS(t *testing.T, dir, up, grpcAddr, hooksAddr, nats, extra string) string {
	t.Helper()
	return proc.WriteFile(t, dir, "protobridge.yaml", fmt.Sprintf(`server:
  listen: %s
  shutdown_grace: 2s
admin:
  listen: 127.0.0.1:0
descriptors:
  import_paths: [%q]
  protos: [orders/v1/orders.proto]
auth:
  api_keys:
    - {id: alice, sha256: 5d684145ad289893399e490dc70a6d32dabda79c6409496648ebeeb949abf5d3}
    - {id: bob, sha256: 547fdab116c31e05fbbf60d4fbd1ebc1d70de45df7bed07f3d3bf800f9caa87a}
upstreams:
  orders:
    kind: rest
    base_url: %s
    forward_metadata: [idempotency-key]
nats: {%s}
webhooks:
  listen: %s
  ack_wait: 2s
  sources:
    payments:
      path: /hooks/payments
      message: orders.v1.PaymentEvent
      verify: {scheme: standard, secret: {env: PB_TEST_WHSEC}}
      allow: [{identities: [alice]}]
    stripe:
      path: /hooks/stripe
      message: orders.v1.PaymentEvent
      open: true
      verify: {scheme: stripe, secret: {env: PB_TEST_STRIPE}}
    github:
      path: /hooks/github
      message: orders.v1.PaymentEvent
      open: true
      verify: {scheme: github, secret: {env: PB_TEST_GITHUB}}
    legacy:
      path: /hooks/legacy
      message: orders.v1.PaymentEvent
      open: true
      verify:
        scheme: hmac
        secret: {env: PB_TEST_LEGACY}
        header: X-Signature
        timestamp_header: X-Timestamp
        id_header: X-Event-Id
%s`, grpcAddr, filepath.Join(root, "test", "async", "testdata"), up, nats, hooksAddr, extra))
}

// testEnv is the secrets the configs read.
var testEnv = []string{"PB_TEST_WHSEC=" + whsec, "PB_TEST_STRIPE=" + stripeSecret, "PB_TEST_GITHUB=" + githubSecret, "PB_TEST_LEGACY=" + legacySecret}

// Secrets of the other sources.
const (
	stripeSecret = "whsec_stripe_test_secret"
	githubSecret = "github-test-secret"
	legacySecret = "legacy-test-secret"
)

// whsec is the webhook secret of the payments source and of job callbacks.
const whsec = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM="

// Callers' API keys (their digests are in the config).
const (
	aliceKey = "alice-key-123"
	bobKey   = "bob-key-456"
)

func itoa(n int) string { return strconv.Itoa(n) }
