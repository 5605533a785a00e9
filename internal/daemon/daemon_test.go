package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/protobridge/protobridge/bridge/httpx"
	"github.com/protobridge/protobridge/internal/telemetry"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

type testDaemon struct {
	d        *Daemon
	path     string
	conn     *grpc.ClientConn
	admin    string
	cancel   context.CancelFunc
	done     chan error
	shop     protoreflect.ServiceDescriptor
	logLines *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func daemonConfig(tag string, extra string) string {
	return "server:\n  listen: 127.0.0.1:0\n  shutdown_grace: 20s\nadmin:\n  listen: 127.0.0.1:0\nauth: {open: true}\nupstreams:\n  shop:\n    kind: fake\n    base_url: http://127.0.0.1:1\n    headers: {tag: " + tag + ", X-Api-Key: not-for-eyes}\n" + extra
}

// startDaemon runs a Daemon on loopback ports until the test ends.
func startDaemon(t *testing.T, body string) *testDaemon {
	t.Helper()
	lastFake.Store(&fakeAdapter{})
	td := &testDaemon{path: writeConfig(t, body), done: make(chan error, 1), logLines: &syncBuffer{}}
	var err error
	td.d, err = New(context.Background(), td.path, td.logLines)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	td.cancel = cancel
	ready := make(chan [2]net.Addr, 1)
	go func() { td.done <- td.d.Run(ctx, func(g, a net.Addr) { ready <- [2]net.Addr{g, a} }) }()
	addrs := <-ready
	td.admin = "http://" + addrs[1].String()
	td.conn, err = grpc.NewClient(addrs[0].String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	td.shop = td.d.Router().Table().Services()["shop.v1.ShopService"]
	t.Cleanup(func() {
		_ = td.conn.Close()
		td.stop(t)
	})
	return td
}

func (td *testDaemon) stop(t *testing.T) {
	if td.cancel == nil {
		return
	}
	td.cancel()
	td.cancel = nil
	if err := <-td.done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func (td *testDaemon) call(ctx context.Context, method protoreflect.Name, field string, v int64) (string, error) {
	md := td.shop.Methods().ByName(method)
	req := dynamicpb.NewMessage(md.Input())
	req.Set(md.Input().Fields().ByName(protoreflect.Name(field)), protoreflect.ValueOfInt64(v))
	resp := dynamicpb.NewMessage(md.Output())
	err := td.conn.Invoke(ctx, "/shop.v1.ShopService/"+string(method), req, resp)
	return resp.Get(md.Output().Fields().ByName("name")).String(), err
}

func (td *testDaemon) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(td.admin + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (td *testDaemon) rewrite(t *testing.T, body string) {
	t.Helper()
	if err := os.WriteFile(td.path, []byte(strings.SplitN(readFile(t, td.path), "auth:", 2)[0]+"auth:"+strings.SplitN(body, "auth:", 2)[1]), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReloadUnderLoadLosesNoCalls(t *testing.T) {
	td := startDaemon(t, daemonConfig("v1", ""))
	ctx := context.Background()

	// A slow call that starts on v1 must finish on v1 after the reload.
	slow := make(chan string, 1)
	go func() {
		name, err := td.call(ctx, "Slow", "delay_ms", 400)
		if err != nil {
			t.Errorf("slow call: %v", err)
		}
		slow <- name
	}()
	waitFor(t, func() bool { return lastFake.Load().running.Load() == 1 })

	const workers, reloads = 4, 20
	var failed, served atomic.Int64
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				if _, err := td.call(ctx, "GetItem", "id", 1); err != nil {
					failed.Add(1)
					t.Errorf("call during reload: %v", err)
				}
				served.Add(1)
			}
		}()
	}
	for i := 0; i < reloads; i++ {
		tag := []string{"v2", "v3"}[i%2]
		td.rewrite(t, daemonConfig(tag, ""))
		if err := td.d.Reload(ctx); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		// Let some calls through on each table.
		before := served.Load()
		waitFor(t, func() bool { return served.Load() >= before+5 })
	}
	close(stopLoad)
	wg.Wait()
	if failed.Load() != 0 || served.Load() < reloads*5 {
		t.Fatalf("served %d calls, %d failed", served.Load(), failed.Load())
	}
	if got := <-slow; got != "item-7-v1" {
		t.Errorf("in-flight call finished on %q, want the old table (v1)", got)
	}
	name, err := td.call(ctx, "GetItem", "id", 2)
	if err != nil || name != "item-2-v3" {
		t.Errorf("after reloads: %q %v", name, err)
	}
	// Every retired table closed its adapter once its calls ended.
	waitFor(t, func() bool { return lastFake.Load().closed.Load() == reloads })
	_, metrics := td.get(t, "/metrics")
	if !strings.Contains(metrics, `protobridge_config_reloads_total{result="ok"} 20`) {
		t.Errorf("reload metric missing:\n%s", grepLines(metrics, "reloads"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestInvalidReloadKeepsOldConfig(t *testing.T) {
	td := startDaemon(t, daemonConfig("v1", ""))
	ctx := context.Background()
	td.rewrite(t, daemonConfig("v2", "routes:\n  - method: shop.v1.ShopService/Nope\n"))
	err := td.d.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "matches no loaded method") {
		t.Fatalf("reload accepted a bad config: %v", err)
	}
	if name, err := td.call(ctx, "GetItem", "id", 3); err != nil || name != "item-3-v1" {
		t.Fatalf("old config not serving: %q %v", name, err)
	}
	resp, err := http.Post(td.admin+"/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body["error"].(string), td.path+":") {
		t.Fatalf("POST /reload: %d %v", resp.StatusCode, body)
	}
	if !strings.Contains(td.logLines.String(), "reload rejected") {
		t.Error("rejected reload not logged")
	}
	td.rewrite(t, daemonConfig("v2", ""))
	resp, err = http.Post(td.admin+"/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("good reload: %d", resp.StatusCode)
	}
	if name, _ := td.call(ctx, "GetItem", "id", 3); name != "item-3-v2" {
		t.Fatalf("new config not serving: %q", name)
	}
}

func TestAdminEndpoints(t *testing.T) {
	td := startDaemon(t, daemonConfig("v1", ""))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := td.call(ctx, "GetItem", "id", 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := td.call(ctx, "GetItem", "id", 404); status.Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	// A stream counts one attempt when it opens.
	watch := td.shop.Methods().ByName("Watch")
	st, err := td.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/shop.v1.ShopService/Watch")
	if err != nil {
		t.Fatal(err)
	}
	req := dynamicpb.NewMessage(watch.Input())
	req.Set(watch.Input().Fields().ByName("id"), protoreflect.ValueOfInt64(1))
	if err := st.SendMsg(req); err != nil {
		t.Fatal(err)
	}
	_ = st.CloseSend()
	for {
		if err := st.RecvMsg(dynamicpb.NewMessage(watch.Output())); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}
	if code, body := td.get(t, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, _ := td.get(t, "/readyz"); code != 200 {
		t.Errorf("readyz: %d", code)
	}
	_, metrics := td.get(t, "/metrics")
	for _, want := range []string{
		`protobridge_calls_total{code="OK",front_door="grpc",method="shop.v1.ShopService/GetItem",upstream="shop"} 3`,
		`protobridge_calls_total{code="NotFound",front_door="grpc",method="shop.v1.ShopService/GetItem",upstream="shop"} 1`,
		`protobridge_upstream_attempts_total{code="OK",method="shop.v1.ShopService/GetItem",upstream="shop"} 3`,
		`protobridge_upstream_attempts_total{code="OK",method="shop.v1.ShopService/Watch",upstream="shop"} 1`,
		`protobridge_call_duration_seconds_count{front_door="grpc",method="shop.v1.ShopService/GetItem",upstream="shop"} 4`,
		`protobridge_message_bytes_total{direction="in",method="shop.v1.ShopService/GetItem"} 29`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(metrics, strings.SplitN(want, "{", 2)[0]))
		}
	}
	var routes []routeView
	_, body := td.get(t, "/routes")
	if err := json.Unmarshal([]byte(body), &routes); err != nil {
		t.Fatal(err)
	}
	if len(routes) != 3 || routes[0].Method != "shop.v1.ShopService/GetItem" || routes[0].Binding != "GET /items/{id}" || routes[0].Calls != 4 || routes[0].Errors != 1 {
		t.Errorf("routes: %+v", routes)
	}
	_, cfg := td.get(t, "/config")
	if strings.Contains(cfg, "not-for-eyes") || !strings.Contains(cfg, `"X-Api-Key": "[redacted]"`) || !strings.Contains(cfg, `"tag": "v1"`) {
		t.Errorf("config not redacted as expected:\n%s", cfg)
	}
	code, page := td.get(t, "/")
	if code != 200 || !strings.Contains(page, "<td>shop.v1.ShopService/GetItem</td>") || !strings.Contains(page, "25.0%") || !strings.Contains(page, ">SERVING<") {
		t.Errorf("status page: %d\n%s", code, page)
	}
	if strings.Contains(td.logLines.String(), "not-for-eyes") {
		t.Error("a secret header value reached the log")
	}
	lines := grepLines(td.logLines.String(), "msg=call")
	if strings.Count(lines, "\n")+1 != 5 || !strings.Contains(lines, "attempts=1") || !strings.Contains(lines, "request_id=") {
		t.Errorf("call log lines:\n%s", lines)
	}
}

func TestAdminTokenRequired(t *testing.T) {
	t.Setenv("PB_ADMIN_TOKEN", "adm1n-t0ken")
	td := startDaemon(t, strings.Replace(daemonConfig("v1", ""), "admin:\n  listen: 127.0.0.1:0\n", "admin:\n  listen: 127.0.0.1:0\n  token: {env: PB_ADMIN_TOKEN}\n", 1))
	if code, _ := td.get(t, "/routes"); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	req, _ := http.NewRequest("GET", td.admin+"/routes", nil)
	req.Header.Set("Authorization", "Bearer adm1n-t0ken")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with token: %d", resp.StatusCode)
	}
	p := writeConfig(t, strings.Replace(daemonConfig("v1", ""), "127.0.0.1:0\nauth", "0.0.0.0:9999\nauth", 1))
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), "is not loopback and has no token") {
		t.Errorf("open admin on all interfaces accepted: %v", err)
	}
}

func TestDrainFinishesInFlightCalls(t *testing.T) {
	td := startDaemon(t, daemonConfig("v1", ""))
	const calls = 8
	errs := make(chan error, calls)
	for i := 0; i < calls; i++ {
		go func() {
			_, err := td.call(context.Background(), "Slow", "delay_ms", 300)
			errs <- err
		}()
	}
	waitFor(t, func() bool { return lastFake.Load().running.Load() == calls })
	td.stop(t)
	lost := 0
	for i := 0; i < calls; i++ {
		if err := <-errs; err != nil {
			lost++
			t.Errorf("in-flight call lost: %v", err)
		}
	}
	if lost != 0 {
		t.Fatalf("%d of %d in-flight calls lost", lost, calls)
	}
	if _, err := td.call(context.Background(), "GetItem", "id", 1); status.Code(err) != codes.Unavailable {
		t.Errorf("call after drain: %v", err)
	}
}

func TestHeaderNotices(t *testing.T) {
	h := http.Header{}
	h.Set("Deprecation", "@1767225600")
	h.Set("Sunset", "Wed, 01 Jul 2026 00:00:00 GMT")
	h.Add("Warning", `299 - "Deprecated API"`)
	ns := httpx.HeaderNotices(h)
	if len(ns) != 3 || ns[0].Kind != "deprecation" || ns[0].Date != time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) ||
		ns[1].Kind != "sunset" || ns[1].Date != time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC) || ns[2].Kind != "warning" {
		t.Fatalf("notices: %+v", ns)
	}
	m := telemetry.NewMetrics()
	var logs syncBuffer
	notify := telemetry.Notifier(NewLogger("text", &logs), m)
	_, tab, _ := buildTable(t, okUpstreams+openAuth)
	r := tab.Routes()[0]
	for i := 0; i < 5; i++ {
		notify(r, ns[1])
	}
	if v := gauge(t, m, "protobridge_upstream_notice_timestamp_seconds", "notice", "sunset"); v != float64(ns[1].Date.Unix()) {
		t.Errorf("sunset metric = %v", v)
	}
	if n := strings.Count(logs.String(), "upstream notice"); n != 1 {
		t.Errorf("notice logged %d times, want 1 (rate-limited)", n)
	}
	if !strings.Contains(logs.String(), "date=2026-07-01") || !strings.Contains(logs.String(), "method=shop.v1.ShopService/GetItem") {
		t.Errorf("notice log: %s", logs.String())
	}
}

func TestAdminShowsBreakers(t *testing.T) {
	td := startDaemon(t, strings.Replace(daemonConfig("v1", ""), "    headers:", "    policies:\n      circuit_breaker: {failures: 1, open_timeout: 1h}\n    headers:", 1))
	ctx := context.Background()
	if _, err := td.call(ctx, "GetItem", "id", 500); status.Code(err) != codes.Internal {
		t.Fatalf("failing call: %v", err)
	}
	if _, err := td.call(ctx, "GetItem", "id", 1); status.Code(err) != codes.Unavailable {
		t.Fatalf("call with the breaker open: %v", err)
	}
	var bs []breakerView
	_, body := td.get(t, "/breakers")
	if err := json.Unmarshal([]byte(body), &bs); err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].Scope != "upstream:shop" || bs[0].State != "open" {
		t.Fatalf("breakers: %+v", bs)
	}
	if _, page := td.get(t, "/"); !strings.Contains(page, `<td>upstream:shop</td><td><span class="badge bad">open</span>`) {
		t.Errorf("status page lacks the open breaker:\n%s", page)
	}
}

// gauge reads the value of the metric family name whose label has value.
func gauge(t *testing.T, m *telemetry.Metrics, name, label, value string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return metric.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}

// TestProbesNeedNoAdminToken: with admin.token set, /healthz and /readyz
// (GET and HEAD) answer without it, as Kubernetes probes send none; every
// other endpoint still needs it.
func TestProbesNeedNoAdminToken(t *testing.T) {
	t.Setenv("PB_ADMIN_TOKEN", "adm1n-t0ken")
	td := startDaemon(t, strings.Replace(daemonConfig("v1", ""), "admin:\n  listen: 127.0.0.1:0\n", "admin:\n  listen: 127.0.0.1:0\n  token: {env: PB_ADMIN_TOKEN}\n", 1))
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/healthz", 200}, {"HEAD", "/healthz", 200}, {"GET", "/readyz", 200}, {"HEAD", "/readyz", 200},
		{"GET", "/metrics", 401}, {"GET", "/config", 401}, {"POST", "/healthz", 401},
	} {
		req, _ := http.NewRequest(c.method, td.admin+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s without a token: %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
	}
}

// TestDrainCutsCallsAtGrace: a call still running when the grace period
// ends is cut with UNAVAILABLE carrying ErrorInfo reason DRAINING, logged
// as such, and Run returns at the end of the grace period (the bound is
// hang detection; the overshoot is logged).
func TestDrainCutsCallsAtGrace(t *testing.T) {
	const grace = 500 * time.Millisecond
	td := startDaemon(t, strings.Replace(daemonConfig("v1", ""), "shutdown_grace: 20s", "shutdown_grace: 500ms", 1))
	errc := make(chan error, 1)
	go func() {
		_, err := td.call(context.Background(), "Slow", "delay_ms", 60_000)
		errc <- err
	}()
	waitFor(t, func() bool { return lastFake.Load().running.Load() == 1 })
	start := time.Now()
	td.stop(t)
	overshoot := time.Since(start) - grace
	t.Logf("Run returned %v after the grace period", overshoot)
	if overshoot > 5*time.Second {
		t.Errorf("Run returned %v after the grace period", overshoot)
	}
	err := <-errc
	st := status.Convert(err)
	reason := ""
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			reason = ei.GetReason()
		}
	}
	if st.Code() != codes.Unavailable || reason != "DRAINING" {
		t.Errorf("cut call: %v %q %q, want UNAVAILABLE DRAINING", st.Code(), reason, st.Message())
	}
	logs := td.logLines.String()
	var line string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "msg=call") && strings.Contains(l, "Slow") {
			line = l
		}
	}
	if !strings.Contains(line, "code=Unavailable") {
		t.Errorf("the cut call is logged as %q", line)
	}
}
