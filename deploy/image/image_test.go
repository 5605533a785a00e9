package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// buildBinary builds cmd/protobridge as `make image` does: static, trimmed.
func buildBinary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "protobridge")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, "./cmd/protobridge")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// TestImage builds the image from the real binary and checks what a
// cluster runs: its config (non-root user, entrypoint, command, exposed
// ports), its files (a static binary, no shell, no config or protos, CA
// certificates and the user in /etc/passwd), that the same binary gives
// the same digest, and that the tarball and layout written read back.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	o := options{Binary: buildBinary(t), Dockerfile: "../../Dockerfile", CACerts: "/etc/ssl/certs/ca-certificates.crt",
		Arch: runtime.GOARCH, Tag: "protobridge:test", Time: time.Unix(0, 0).UTC(),
		Layout: filepath.Join(dir, "oci"), Tar: filepath.Join(dir, "image.tar")}
	if _, err := os.Stat(o.CACerts); err != nil {
		t.Skip("no CA bundle on this machine:", err)
	}
	digest, err := write(o)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(o.Tar, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A docker tarball keeps the config (the image ID), not the manifest.
	built, err := build(o)
	if err != nil {
		t.Fatal(err)
	}
	wantID, _ := built.ConfigName()
	if id, err := img.ConfigName(); err != nil || id != wantID {
		t.Errorf("the tarball's image ID is %s (%v), built %s", id, err, wantID)
	}
	idx, err := layout.ImageIndexFromPath(o.Layout)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 || im.Manifests[0].Digest != digest {
		t.Fatalf("the layout holds %+v (%v), want the one image %s", im, err, digest)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("user %q, want the non-root 65532:65532", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/protobridge"}) {
		t.Errorf("entrypoint %q", c.Entrypoint)
	}
	if !slices.Equal(c.Cmd, []string{"serve", "--config", "/etc/protobridge/protobridge.yaml"}) {
		t.Errorf("cmd %q", c.Cmd)
	}
	var ports []string
	for p := range c.ExposedPorts {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	if want := []string{"50051/tcp", "8765/tcp", "9090/tcp"}; !slices.Equal(ports, want) {
		t.Errorf("exposed ports %v, want %v (gRPC, MCP, admin)", ports, want)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("os %s arch %s created %s", cf.OS, cf.Architecture, cf.Created)
	}

	files := map[string]*tar.Header{}
	contents := map[string][]byte{}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := "/" + strings.TrimSuffix(h.Name, "/")
		files[name] = h
		if h.Typeflag == tar.TypeReg && (name == "/usr/local/bin/protobridge" || name == "/etc/passwd") {
			contents[name], _ = io.ReadAll(tr)
		}
		base := path.Base(name)
		if slices.Contains([]string{"sh", "bash", "ash", "dash", "busybox"}, base) {
			t.Errorf("the image holds a shell: %s", name)
		}
		if ext := path.Ext(name); ext == ".proto" || ext == ".yaml" || ext == ".binpb" {
			t.Errorf("the image bakes in %s: config and protos are mounted", name)
		}
	}
	for _, want := range []string{"/etc/ssl/certs/ca-certificates.crt", "/tmp", "/etc/protobridge", "/usr/local/bin/protobridge"} {
		if files[want] == nil {
			t.Errorf("the image has no %s", want)
		}
	}
	if h := files["/tmp"]; h != nil && h.Mode&0o1777 != 0o1777 {
		t.Errorf("/tmp mode %o", h.Mode)
	}
	if !bytes.Contains(contents["/etc/passwd"], []byte("nonroot:x:65532:65532:")) {
		t.Errorf("/etc/passwd does not name user 65532:\n%s", contents["/etc/passwd"])
	}
	bin := contents["/usr/local/bin/protobridge"]
	if h := files["/usr/local/bin/protobridge"]; h == nil || h.Mode&0o111 == 0 {
		t.Fatalf("the binary is missing or not executable")
	}
	ef, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary is dynamically linked (it has an interpreter): it needs CGO_ENABLED=0")
		}
	}
	if libs, _ := ef.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}

	// The same binary and time give the same image.
	if d, _ := built.Digest(); d != digest {
		t.Errorf("a second build gives %s, the first %s: the image is not reproducible", d, digest)
	}
}

// TestDockerfile checks what `docker build` would do that the daemon-less
// build cannot show: a static build in the first stage and a final stage
// on distroless (no shell) that copies only the binary.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	stages := strings.Split(text, "\nFROM ")
	if len(stages) != 3 {
		t.Fatalf("want a build stage and a final stage, got %d FROM lines", len(stages)-1)
	}
	if !strings.Contains(stages[1], "CGO_ENABLED=0") || !strings.Contains(stages[1], "-trimpath") {
		t.Errorf("the build stage does not build a static, trimmed binary")
	}
	final := stages[2]
	if base := strings.Fields(final)[0]; base != "scratch" && !strings.HasPrefix(base, "gcr.io/distroless/static") {
		t.Errorf("the final stage is based on %s, want distroless static or scratch (no shell)", base)
	}
	for _, l := range strings.Split(final, "\n") {
		if strings.HasPrefix(l, "COPY") && !strings.Contains(l, "--from=build /out/protobridge ") {
			t.Errorf("the final stage copies more than the binary: %s", l)
		}
		if strings.HasPrefix(l, "RUN") {
			t.Errorf("the final stage runs a command (it has no shell): %s", l)
		}
	}
	st, err := readStage("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if st.User == "" || strings.HasPrefix(st.User, "0") || st.User == "root" {
		t.Errorf("the final stage runs as %q", st.User)
	}
}
