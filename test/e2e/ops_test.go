package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc/codes"

	"github.com/protobridge/protobridge/internal/testenv"
)

var adminRE = regexp.MustCompile(`msg=serving address=\S+ admin=(\S+)`)

// opsConfig is petstoreConfig with an admin listener and a route override
// naming tag, so a reload can be observed from outside.
func opsConfig(t *testing.T, path, baseURL, extra string) string {
	t.Helper()
	text := fmt.Sprintf(`server:
  listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
descriptors:
  import_paths: [%q]
  protos: [petstore/v1/petstore.proto]
auth:
  open: true
upstreams:
  petstore:
    kind: rest
    base_url: %s
%s`, filepath.Join(root, "examples", "petstore", "proto"), baseURL, extra)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStatusPageInChromium renders the admin status page in headless
// Chromium and reads what a person would see: the health badge and, per
// route, calls, errors and error rate.
func TestStatusPageInChromium(t *testing.T) {
	chromium := testenv.LookPath(t, "/usr/bin/chromium")
	up := newFakePetstore(t)
	d := startDaemon(t, opsConfig(t, filepath.Join(t.TempDir(), "c.yaml"), up.URL, ""))
	m, ok := d.Out.Wait(adminRE)
	if !ok {
		t.Fatalf("no admin address in the log:\n%s", d.Out)
	}
	admin := "http://" + m[1]
	for i := 0; i < 3; i++ {
		if _, err := call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":"10"}`); err != nil {
			t.Fatal(err)
		}
	}
	_, err := call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":"404"}`)
	wantStatus(t, err, codes.NotFound)

	ctx := browser(t, chromium, 800)
	if err := chromedp.Do(ctx, chromedp.Navigate(admin+"/"), chromedp.WaitVisible("#routes")); err != nil {
		t.Fatal(err)
	}
	health, err := chromedp.Run(ctx, chromedp.Text("#health"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := chromedp.Run(ctx, chromedp.Text("#routes"))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if health != "SERVING" {
		t.Errorf("health badge reads %q", health)
	}
	var row string
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "petstore.v1.PetService/GetPetById\t") {
			row = line
		}
	}
	// method, upstream, kind, binding, calls, errors, error rate
	want := "petstore.v1.PetService/GetPetById\tpetstore\trest\tGET /pet/{pet_id} (json)\t4\t1\t25.0%"
	if row != want {
		t.Errorf("GetPetById row reads\n%q\nwant\n%q\nwhole table:\n%s", row, want, table)
	}
	if strings.Count(table, "\tpetstore\trest\t") != 5 {
		t.Errorf("want 5 petstore routes on the page:\n%s", table)
	}
	if len(shot) < 1000 {
		t.Errorf("screenshot is %d bytes", len(shot))
	}
	if dir := os.Getenv("PROTOBRIDGE_SCREENSHOTS"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "status.png"), shot, 0o644)
	}
}

// TestReloadBySignal sends SIGHUP after the config changes: a valid change
// takes effect for new calls, an invalid one is rejected and logged while
// the old config keeps serving, and POST /reload does the same.
func TestReloadBySignal(t *testing.T) {
	up := newFakePetstore(t)
	path := filepath.Join(t.TempDir(), "c.yaml")
	d := startDaemon(t, opsConfig(t, path, up.URL, ""))
	m, ok := d.Out.Wait(adminRE)
	if !ok {
		t.Fatalf("no admin address in the log:\n%s", d.Out)
	}
	admin := "http://" + m[1]
	if _, err := call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":"10"}`); err != nil {
		t.Fatal(err)
	}

	// Override GetPetById's binding to a path the fake answers with 404.
	opsConfig(t, path, up.URL, "routes:\n  - method: petstore.v1.PetService/GetPetById\n    http: {get: \"/nowhere/{pet_id}\"}\n")
	if err := d.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Out.Wait(regexp.MustCompile(`msg=reloaded`)); !ok {
		t.Fatalf("no reload logged:\n%s", d.Out)
	}
	_, err := call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":"10"}`)
	wantStatus(t, err, codes.NotFound)

	// A broken config is rejected; the reloaded one keeps serving.
	opsConfig(t, path, up.URL, "    colour: red\n")
	if err := d.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Out.Wait(regexp.MustCompile(`msg="reload rejected; the previous config keeps serving".*unknown key \\"colour\\"`)); !ok {
		t.Fatalf("no rejected reload logged:\n%s", d.Out)
	}
	_, err = call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":"10"}`)
	wantStatus(t, err, codes.NotFound)

	// Back to the original over the admin endpoint.
	opsConfig(t, path, up.URL, "")
	resp, err := http.Post(admin+"/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /reload: %d", resp.StatusCode)
	}
	if _, err := call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":"10"}`); err != nil {
		t.Fatalf("after reload back: %v", err)
	}
}

// browser is a headless Chromium tab of the given height (1280 wide),
// bounded by lifetime and closed when the test ends.
func browser(t *testing.T, chromium string, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.WindowSize(1280, height),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, lifetime)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	return ctx
}
