package descriptors

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/config"
)

// TestMissingOptionImportSaysWhatToDo: an option used without its import
// is reported at its line with the import to add.
func TestMissingOptionImportSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	proto := `syntax = "proto3";
package x.v1;
import "google/api/annotations.proto";
service S {
  rpc Get(R) returns (R) {
    option (google.api.http) = {get: "/r"};
    option (protobridge.v1.route) = {timeout: "1s"};
  }
  rpc Put(R) returns (R) {
    option (google.api.http) = {put: "/r" body: "*"};
  }
}
message R { string id = 1 [(buf.validate.field).string.min_len = 1]; }
`
	if err := os.WriteFile(filepath.Join(dir, "x.proto"), []byte(proto), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{File: filepath.Join(dir, "c.yaml"), BaseDir: dir, Descriptors: config.DescriptorConfig{ImportPaths: []string{dir}, Protos: []string{"x.proto"}}}
	_, err := Load(context.Background(), cfg)
	var ps bridge.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want problems, got %v", err)
	}
	want := map[int]string{
		7:  `unknown extension protobridge.v1.route (add import "protobridge/v1/options.proto"; to the .proto`,
		13: `unknown extension buf.validate.field (add import "buf/validate/validate.proto"; to the .proto`,
	}
	for _, p := range ps {
		if w, ok := want[p.Pos.Line]; ok && strings.Contains(p.String(), w) && strings.HasSuffix(p.Pos.File, "x.proto") {
			delete(want, p.Pos.Line)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing %v in:\n%v", want, ps)
	}
}
