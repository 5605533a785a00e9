package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/protobridge/protobridge/schema"
	"github.com/protobridge/protobridge/test/internal/proc"
)

// readmeBlock returns the first fenced block of the given language after
// the README line starting with marker.
func readmeBlock(t *testing.T, marker, lang string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "\n"+marker)
	if i < 0 {
		t.Fatalf("README has no line starting %q", marker)
	}
	rest := text[i:]
	open := "```" + lang + "\n"
	j := strings.Index(rest, open)
	if j < 0 {
		t.Fatalf("README has no ```%s block after %q", lang, marker)
	}
	rest = rest[j+len(open):]
	return rest[:strings.Index(rest, "```")]
}

// TestReadmePetstoreConfig pastes the README's trimmed Petstore config
// (step 3) next to the example's protos, serves it against Prism and
// makes the README's call (step 5): it must answer the spec's pet, not
// 401, and pass the config schema.
func TestReadmePetstoreConfig(t *testing.T) {
	t.Parallel()
	prism := startPrism(t)
	text := readmeBlock(t, "**3. Point a config at it**", "yaml")
	if ps := schema.Check("README.md", []byte(text)); len(ps) > 0 {
		t.Errorf("the README's config fails the schema:\n%v", ps)
	}
	for _, r := range [][2]string{
		{"listen: 127.0.0.1:50051", "listen: 127.0.0.1:0"},
		{"base_url: http://127.0.0.1:4010", "base_url: " + prism},
		{"import_paths: [proto]", "import_paths: [" + filepath.Join(root, "examples", "petstore", "proto") + "]"},
	} {
		if strings.Count(text, r[0]) != 1 {
			t.Fatalf("the README's config has no single %q:\n%s", r[0], text)
		}
		text = strings.Replace(text, r[0], r[1], 1)
	}
	d := startDaemon(t, proc.WriteFile(t, t.TempDir(), "petstore.yaml", text))
	resp, err := call(callCtx(t), t, d.conn, "GetPetById", `{"pet_id":10}`)
	if err != nil {
		t.Fatal(err)
	}
	wantMessage(t, resp, prismDoggie)
}

// TestPetstoreXMLFromTheMock: the Petstore example's XML method, which
// Prism cannot answer (TestPrism), answered by `serve --mock` as the
// README says: an XML <pet> made from the reply type, decoded OK.
func TestPetstoreXMLFromTheMock(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(root, "examples", "petstore", "petstore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "listen: 127.0.0.1:50051", "listen: 127.0.0.1:0", 1)
	text = strings.Replace(text, "import_paths: [proto]", "import_paths: ["+filepath.Join(root, "examples", "petstore", "proto")+"]", 1)
	d := startDaemon(t, proc.WriteFile(t, t.TempDir(), "petstore.yaml", text), "--mock")
	resp, err := call(callCtx(t), t, d.conn, "GetPetByIdXml", `{"pet_id":10}`)
	if err != nil {
		t.Fatalf("GetPetByIdXml from the mock: %v\n%s", err, d.Out)
	}
	got := protojson.Format(resp)
	if !strings.Contains(got, `"name"`) || !strings.Contains(got, `"photoUrls"`) {
		t.Errorf("the mock's pet lacks the required name and photoUrls: %s", got)
	}
}

// TestReadmeAIStream serves the README's streaming AI section as written
// (its .proto and config, base_url pointed at an OpenAI-style peer) and
// makes its call: the chunks arrive and [DONE] ends the call with OK.
func TestReadmeAIStream(t *testing.T) {
	t.Parallel()
	peer := startAIPeer(t)
	dir := t.TempDir()
	proc.WriteFile(t, filepath.Join(dir, "proto", "ai", "v1"), "ai.proto", readmeBlock(t, "## A streaming AI API", "proto"))
	text := readmeBlock(t, "## A streaming AI API", "yaml")
	for _, r := range [][2]string{
		{"listen: 127.0.0.1:50051", "listen: 127.0.0.1:0"},
		{"base_url: http://127.0.0.1:8080", "base_url: " + peer.URL},
	} {
		if strings.Count(text, r[0]) != 1 {
			t.Fatalf("the README's config has no single %q:\n%s", r[0], text)
		}
		text = strings.Replace(text, r[0], r[1], 1)
	}
	d := startDaemonEnv(t, proc.WriteFile(t, dir, "ai.yaml", text), []string{"AI_API_KEY=k"})
	fd, err := compileProto(filepath.Join(dir, "proto"), "ai/v1/ai.proto")
	if err != nil {
		t.Fatal(err)
	}
	chat := fd.Services().ByName("ChatService").Methods().ByName("CreateCompletion")
	got, err := serverStream(t, d.conn, chat, `{"model":"m","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if err != nil {
		t.Fatalf("status %v after %v", err, got)
	}
	if strings.Join(got, "|") != `{"choices":[{"delta":{"content":"Hello"}}],"id":"c1"}|{"choices":[{"delta":{"content":" world"}}],"id":"c1"}` {
		t.Errorf("chunks %v", got)
	}
}
