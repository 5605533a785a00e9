package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"

	"gopkg.in/yaml.v3"
)

// maxKnobsBytes bounds a PUT body of the admin endpoint.
const maxKnobsBytes = 64 << 10

// Handler serves the sandbox's admin endpoints, mounted by the daemon on
// its admin listener:
//
//	GET    /sandbox                    each sandboxed upstream's mode, directory and chaos knobs (JSON)
//	PUT    /sandbox/chaos/{upstream}   replace the upstream's chaos knobs (a JSON or YAML chaos block)
//	DELETE /sandbox/chaos/{upstream}   return to the config's knobs
//
// Knobs set here last until the daemon stops, reloads included.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sandbox", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.views()) })
	mux.HandleFunc("PUT /sandbox/chaos/{upstream}", func(w http.ResponseWriter, r *http.Request) {
		ch := s.chaosOf(r.PathValue("upstream"))
		if ch == nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "no replayed or mocked upstream of that name"})
			return
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, maxKnobsBytes+1))
		if err != nil || len(b) > maxKnobsBytes {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "the body is over 64 KiB"})
			return
		}
		var k Chaos
		d := yaml.NewDecoder(bytes.NewReader(b))
		d.KnownFields(true)
		if err := d.Decode(&k); err != nil && err != io.EOF {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "the body is not a chaos block: " + err.Error()})
			return
		}
		if err := k.Check(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		ch.set(&k)
		s.log.Info("sandbox: chaos knobs set at run time", "upstream", r.PathValue("upstream"))
		writeJSON(w, http.StatusOK, s.views()[r.PathValue("upstream")])
	})
	mux.HandleFunc("DELETE /sandbox/chaos/{upstream}", func(w http.ResponseWriter, r *http.Request) {
		ch := s.chaosOf(r.PathValue("upstream"))
		if ch == nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "no replayed or mocked upstream of that name"})
			return
		}
		ch.set(nil)
		writeJSON(w, http.StatusOK, s.views()[r.PathValue("upstream")])
	})
	return mux
}

// Modes returns the mode of every recorded, replayed or mocked upstream,
// for the status page.
func (s *Sandbox) Modes() map[string]Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Mode{}
	for n, c := range s.modes {
		if c.Mode != Off {
			out[n] = c.Mode
		}
	}
	return out
}

// Answers reports whether the sandbox replays or mocks upstream's calls
// (as the table being built set it up, else the one serving), so the
// upstream is never reached.
func (s *Sandbox) Answers(upstream string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	modes := s.modes
	if s.next != nil {
		modes = s.next.modes
	}
	m := modes[upstream].Mode
	return m == Replay || m == Mock
}

func (s *Sandbox) chaosOf(upstream string) *chaosState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.modes[upstream].Mode; m != Replay && m != Mock {
		return nil
	}
	return s.chaos[upstream]
}

type view struct {
	Mode  Mode   `json:"mode"`
	Dir   string `json:"dir,omitempty"`
	Chaos any    `json:"chaos,omitempty"`
	// From says where the knobs come from: config or admin.
	From string `json:"chaos_from,omitempty"`
}

func (s *Sandbox) views() map[string]view {
	s.mu.Lock()
	names := make([]string, 0, len(s.modes))
	for n := range s.modes {
		names = append(names, n)
	}
	s.mu.Unlock()
	sort.Strings(names)
	out := map[string]view{}
	for _, n := range names {
		s.mu.Lock()
		c, ch := s.modes[n], s.chaos[n]
		s.mu.Unlock()
		if c.Mode == Off {
			continue
		}
		v := view{Mode: c.Mode, Dir: c.Dir}
		if ch != nil {
			ch.mu.Lock()
			k, from := ch.config, "config"
			if ch.override != nil {
				k, from = ch.override, "admin"
			}
			ch.mu.Unlock()
			if k != nil {
				v.Chaos, v.From = plain(k), from
			}
		}
		out[n] = v
	}
	return out
}

// plain renders knobs as their YAML keys, durations as "150ms".
func plain(k *Chaos) any {
	b, err := yaml.Marshal(k)
	if err != nil {
		return nil
	}
	var m map[string]any
	_ = yaml.Unmarshal(b, &m)
	return m
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
