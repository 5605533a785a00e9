package shop

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Control paths of the upstream daemon (cmd/upstream), outside the REST API.
const (
	ControlHits   = "/_bench/hits"
	ControlRecord = "/_bench/record"
	ControlLast   = "/_bench/last"
)

// ControlHandler serves u's REST API plus the control paths the load run
// uses to check that every bridge reached it.
func ControlHandler(u *Upstream) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/_bench/") {
			u.ServeHTTP(w, r)
			return
		}
		switch r.URL.Path {
		case ControlHits:
			_, _ = w.Write([]byte(strconv.FormatInt(u.Hits(), 10)))
		case ControlRecord:
			u.Record(r.URL.Query().Get("on") == "1")
		case ControlLast:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(u.Last())
		default:
			http.NotFound(w, r)
		}
	})
}

// RemoteUpstream is the upstream daemon at BaseURL, seen through its
// control paths. Failures read as zero values, which fail the check.
type RemoteUpstream struct {
	BaseURL string
}

var _ Recorder = RemoteUpstream{}

// Hits implements Recorder.
func (r RemoteUpstream) Hits() int64 {
	resp, err := http.Get(r.BaseURL + ControlHits)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var n int64
	if err := json.NewDecoder(resp.Body).Decode(&n); err != nil {
		return -1
	}
	return n
}

// Record implements Recorder.
func (r RemoteUpstream) Record(on bool) {
	v := "0"
	if on {
		v = "1"
	}
	resp, err := http.Post(r.BaseURL+ControlRecord+"?on="+v, "text/plain", nil)
	if err == nil {
		resp.Body.Close()
	}
}

// Last implements Recorder.
func (r RemoteUpstream) Last() Request {
	var req Request
	resp, err := http.Get(r.BaseURL + ControlLast)
	if err != nil {
		return req
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&req)
	return req
}
