package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// options say what to build and where to write it.
type options struct {
	Binary, Dockerfile, CACerts, Arch string
	Layout, Tar, Tag                  string
	Time                              time.Time
}

// stage is what the image config takes from the Dockerfile's final stage.
type stage struct {
	User, WorkDir   string
	Entrypoint, Cmd []string
	Expose          []string
	Env             []string
}

// readStage reads the final stage of a Dockerfile: USER, WORKDIR, EXPOSE,
// ENV (KEY=VALUE form), and ENTRYPOINT and CMD in their JSON (exec) form.
func readStage(file string) (stage, error) {
	f, err := os.Open(file)
	if err != nil {
		return stage{}, err
	}
	defer f.Close()
	var st stage
	sc := bufio.NewScanner(f)
	line := ""
	for sc.Scan() {
		t := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(t, "#") || (t == "" && line == "") {
			continue
		}
		if cont, ok := strings.CutSuffix(t, "\\"); ok {
			line += cont + " "
			continue
		}
		line += t
		instr, args, _ := strings.Cut(line, " ")
		args = strings.TrimSpace(args)
		line = ""
		switch strings.ToUpper(instr) {
		case "FROM":
			st = stage{}
		case "USER":
			st.User = args
		case "WORKDIR":
			st.WorkDir = args
		case "EXPOSE":
			st.Expose = strings.Fields(args)
		case "ENV":
			st.Env = append(st.Env, strings.Fields(args)...)
		case "ENTRYPOINT", "CMD":
			var v []string
			if err := json.Unmarshal([]byte(args), &v); err != nil {
				return stage{}, fmt.Errorf("%s: %s must be in JSON form: %w", file, instr, err)
			}
			if strings.EqualFold(instr, "CMD") {
				st.Cmd = v
			} else {
				st.Entrypoint = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return stage{}, err
	}
	if st.User == "" || len(st.Entrypoint) == 0 {
		return stage{}, fmt.Errorf("%s: the final stage has no USER or ENTRYPOINT", file)
	}
	return st, nil
}

// build assembles the image.
func build(o options) (v1.Image, error) {
	st, err := readStage(o.Dockerfile)
	if err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, err
	}
	certs, err := os.ReadFile(o.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	uid, gid, _ := strings.Cut(st.User, ":")
	if gid == "" {
		gid = uid
	}
	files := []file{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:" + gid + ":\n")},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:" + uid + ":" + gid + ":nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: certs},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, dir: true, owner: uid},
		{name: "tmp/", mode: 0o1777, dir: true},
	}
	if st.WorkDir != "" {
		files = append(files, dirs(st.WorkDir)...)
	}
	files = append(files, dirs(path.Dir(st.Entrypoint[0]))...)
	files = append(files, file{name: strings.TrimPrefix(st.Entrypoint[0], "/"), mode: 0o755, data: bin})
	layer, err := tarLayer(files, o.Time)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	ports := map[string]struct{}{}
	for _, p := range st.Expose {
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		ports[p] = struct{}{}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", o.Arch
	cf.Created = v1.Time{Time: o.Time}
	cf.Config = v1.Config{
		User: st.User, WorkingDir: st.WorkDir, Entrypoint: st.Entrypoint, Cmd: st.Cmd, ExposedPorts: ports,
		Env: append([]string{"PATH=/usr/local/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}, st.Env...),
	}
	return mutate.ConfigFile(img, cf)
}

// dirs lists a directory and its parents as tar entries.
func dirs(dir string) []file {
	var out []file
	for d := strings.Trim(dir, "/"); d != "" && d != "."; d = path.Dir(d) {
		out = append([]file{{name: d + "/", mode: 0o755, dir: true}}, out...)
	}
	return out
}

// file is one tar entry; owner is its uid and gid (root when empty).
type file struct {
	name  string
	mode  int64
	dir   bool
	data  []byte
	owner string
}

// tarLayer writes files (first of each name wins) with one fixed time.
func tarLayer(files []file, t time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f.name] {
			continue
		}
		seen[f.name] = true
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: t, Format: tar.FormatPAX, Typeflag: tar.TypeReg, Size: int64(len(f.data))}
		if f.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if f.owner != "" {
			var id int
			if _, err := fmt.Sscanf(f.owner, "%d", &id); err != nil {
				return nil, fmt.Errorf("user %q is not numeric", f.owner)
			}
			h.Uid, h.Gid = id, id
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// write builds the image and writes the layout and tarball asked for.
func write(o options) (v1.Hash, error) {
	img, err := build(o)
	if err != nil {
		return v1.Hash{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	ref, err := name.NewTag(o.Tag)
	if err != nil {
		return v1.Hash{}, err
	}
	if o.Tar != "" {
		if err := tarball.WriteToFile(o.Tar, ref, img); err != nil {
			return v1.Hash{}, err
		}
	}
	if o.Layout != "" {
		if err := os.RemoveAll(o.Layout); err != nil && !errors.Is(err, os.ErrNotExist) {
			return v1.Hash{}, err
		}
		p, err := layout.Write(o.Layout, empty.Index)
		if err != nil {
			return v1.Hash{}, err
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref.String()})); err != nil {
			return v1.Hash{}, err
		}
	}
	return digest, nil
}
