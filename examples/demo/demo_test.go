package demo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	_ "github.com/protobridge/protobridge/adapters/all"
	"github.com/protobridge/protobridge/internal/config"
	"github.com/protobridge/protobridge/internal/daemontest"
	"github.com/protobridge/protobridge/internal/testenv"
	"github.com/protobridge/protobridge/schema"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestCommands serves the demo config in process and runs every command the
// demo prints, pointed at the server, checking exit status and output.
func TestCommands(t *testing.T) {
	grpcurl := testenv.Tool(t, "grpcurl")
	d, err := Start(config.DefaultListen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(d.ConfigPath); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Close left %s behind (stat: %v)", d.ConfigPath, err)
		}
	})

	cfg, err := config.LoadConfig(d.ConfigPath)
	if err != nil {
		t.Fatalf("demo config: %v", err)
	}
	if cfg.Server.Listen != config.DefaultListen {
		t.Errorf("config listens on %q, want %q", cfg.Server.Listen, config.DefaultListen)
	}
	srv := daemontest.Start(t, d.ConfigPath, daemontest.Options{})
	if got, want := len(srv.Router.Routes()), 10; got != want {
		t.Errorf("demo serves %d routes, want %d", got, want)
	}
	lis := srv.Addr

	if len(d.Commands) != len(d.calls) {
		t.Fatalf("%d commands for %d calls", len(d.Commands), len(d.calls))
	}
	for i, line := range d.Commands {
		c := d.calls[i]
		// The subtest is named after the method: the word after the address.
		fields := strings.Fields(line)
		name := fields[len(fields)-1]
		for j, f := range fields[:len(fields)-1] {
			if f == config.DefaultListen {
				name = fields[j+1]
			}
		}
		t.Run(name, func(t *testing.T) {
			if !strings.HasPrefix(line, "grpcurl -plaintext ") || strings.Count(line, config.DefaultListen) != 1 {
				t.Fatalf("command %q does not call grpcurl -plaintext at %s", line, config.DefaultListen)
			}
			line = strings.Replace(line, config.DefaultListen, lis, 1)
			line = grpcurl + strings.TrimPrefix(line, "grpcurl")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "sh", "-c", line).CombinedOutput()
			exit := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if exit != c.exit {
				t.Errorf("exit status %d, want %d", exit, c.exit)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %s", w)
				}
			}
			if t.Failed() {
				t.Logf("$ %s\n%s", line, out)
			}
		})
	}
}

// TestConfigPassesTheSchema checks the written demo config against the
// config schema written beside it, which its modeline names.
func TestConfigPassesTheSchema(t *testing.T) {
	d, err := Start(config.DefaultListen)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	}()
	data, err := os.ReadFile(d.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "# yaml-language-server: $schema=protobridge.schema.json\n") {
		t.Errorf("the demo config does not start with the schema modeline")
	}
	written, err := os.ReadFile(filepath.Join(filepath.Dir(d.ConfigPath), "protobridge.schema.json"))
	if err != nil || !bytes.Equal(written, schema.JSON) {
		t.Errorf("the schema beside the config is not the embedded one (read: %v)", err)
	}
	if ps := schema.Check(d.ConfigPath, data); len(ps) > 0 {
		t.Errorf("the demo config fails the schema:\n%v", ps)
	}
}
