package daemon

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/protobridge/protobridge/bridge"
	"github.com/protobridge/protobridge/internal/config"
)

// AdminHandler serves the admin endpoints:
//
//	GET  /          status page (routes, health, error rates, the last
//	                hour's charts, breakers, queues, upstream notices)
//	GET  /healthz   200 while the process runs
//	GET  /readyz    200 while serving; 503 once draining, and until every
//	                JWKS has loaded (JWTs are denied meanwhile)
//	GET  /metrics   Prometheus metrics
//	GET  /routes    routes with upstream, binding and policies (JSON)
//	GET  /breakers  circuit breaker states (JSON)
//	GET  /config    the loaded config, secrets redacted (JSON)
//	POST /reload    re-read the config; 200 or 422 with the problems
//	GET  /sandbox   recorded, replayed and mocked upstreams and their chaos
//	PUT, DELETE /sandbox/chaos/{upstream}   change the chaos knobs at run time
//	GET  /jobs      async jobs (JSON; see jobsAPI), GET /jobs/{id},
//	                POST /jobs/{id}/cancel
//
// With admin.token set every endpoint but /healthz and /readyz needs
// `Authorization: Bearer <token>`; the probes reveal nothing and
// Kubernetes cannot send a token.
func (d *Daemon) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if d.srv.Draining() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		// JWTs would all be denied: not ready until the keys load.
		if why := d.router.Table().NotReady(); len(why) > 0 {
			http.Error(w, "not ready: "+strings.Join(why, "; "), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /routes", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, d.routeViews()) })
	mux.HandleFunc("GET /breakers", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, d.breakerViews())
	})
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, redactedConfig(d.cfg.Load()))
	})
	mux.HandleFunc("POST /reload", func(w http.ResponseWriter, r *http.Request) {
		if err := d.Reload(r.Context()); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"ok": false, "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "routes": len(d.router.Routes())})
	})
	d.jobsAPI(mux)
	mux.HandleFunc("GET /{$}", d.statusPage)
	sb := d.sandbox.Handler()
	mux.Handle("/sandbox", sb)
	mux.Handle("/sandbox/", sb)
	if d.adminTk == "" {
		return mux
	}
	want := []byte("Bearer " + d.adminTk)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && (r.URL.Path == "/healthz" || r.URL.Path == "/readyz") {
			mux.ServeHTTP(w, r)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="protobridge admin"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// routeView is one route as the admin endpoints show it.
type routeView struct {
	Method   string `json:"method"`
	Upstream string `json:"upstream"`
	Kind     string `json:"kind"`
	Binding  string `json:"binding,omitempty"`
	Encoding string `json:"encoding,omitempty"`
	Timeout  string `json:"timeout"`
	Open     bool   `json:"open"`
	Source   string `json:"source"`
	Calls    uint64 `json:"calls"`
	Errors   uint64 `json:"errors"`
}

func (d *Daemon) routeViews() []routeView {
	calls, errs := d.callCounts()
	var out []routeView
	t := d.router.Table()
	for _, r := range t.Routes() {
		v := routeView{Method: r.Name(), Upstream: r.Upstream.Name, Kind: r.Upstream.Kind, Encoding: r.Encoding, Open: r.Open || d.cfg.Load().Auth.Open, Source: r.Pos.String()}
		v.Binding = t.Describe(r)
		if v.Binding == "" && r.HTTP != nil {
			verb, p := bridge.HTTPMethodAndPath(r.HTTP)
			v.Binding = verb + " " + p
		}
		to := r.Timeout
		if to <= 0 {
			to = r.Upstream.Timeout
		}
		v.Timeout = to.String()
		v.Calls, v.Errors = calls[r.Name()], errs[r.Name()]
		out = append(out, v)
	}
	return out
}

// breakerView is one circuit breaker as the admin endpoints show it.
type breakerView struct {
	Scope               string `json:"scope"`
	State               string `json:"state"`
	ConsecutiveFailures uint32 `json:"consecutive_failures"`
}

func (d *Daemon) breakerViews() []breakerView {
	out := []breakerView{}
	for _, b := range d.router.Table().CircuitBreakers() {
		out = append(out, breakerView{Scope: b.Scope, State: b.State, ConsecutiveFailures: b.ConsecutiveFailures})
	}
	return out
}

// callCounts reads protobridge_calls_total per method: all calls and those
// that did not end OK.
func (d *Daemon) callCounts() (calls, errs map[string]uint64) {
	calls, errs = map[string]uint64{}, map[string]uint64{}
	mfs, err := d.metrics.Registry.Gather()
	if err != nil {
		return calls, errs
	}
	for _, mf := range mfs {
		if mf.GetName() != "protobridge_calls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var method, code string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "method":
					method = l.GetValue()
				case "code":
					code = l.GetValue()
				}
			}
			n := uint64(m.GetCounter().GetValue())
			calls[method] += n
			if code != "OK" {
				errs[method] += n
			}
		}
	}
	return calls, errs
}

// redactedConfig is the config as JSON with every secret value replaced.
// Secrets are only references (env var names, file paths) in the config,
// but API key digests and sensitive-looking header values are hidden too.
func redactedConfig(c *config.Config) map[string]any {
	const hidden = "[redacted]"
	ups := map[string]any{}
	for name, u := range c.Upstreams {
		headers := map[string]string{}
		for k, v := range u.Headers {
			if sensitiveName(k) {
				v = hidden
			}
			headers[k] = v
		}
		base := u.BaseURL
		if pu, err := url.Parse(base); err == nil && pu.User != nil {
			pu.User = url.User(hidden)
			base = pu.String()
		}
		up := map[string]any{
			"kind": u.Kind, "base_url": base, "timeout": u.Timeout.String(), "connect_timeout": u.ConnectTimeout.String(),
			"headers": headers, "forward_metadata": u.ForwardMetadata, "encoding": u.Encoding,
			"max_request_bytes": u.MaxRequestBytes, "max_response_bytes": u.MaxResponseBytes, "max_error_body_bytes": u.MaxErrorBodyBytes,
			"max_idle_conns": u.MaxIdleConns, "status_codes": u.StatusCodes, "declared_at": u.Pos.String(),
		}
		if !u.Config.IsZero() {
			up[u.Kind] = "(the adapter's block; not shown)"
		}
		if cr := u.Credentials; cr != nil {
			creds := map[string]any{}
			if cr.Basic != nil {
				creds["basic"] = map[string]any{"username": cr.Basic.Username, "password": cr.Basic.Password}
			}
			for name, set := range map[string]bool{"api_key": cr.APIKey != nil, "bearer": cr.Bearer != nil, "oauth2": cr.OAuth2 != nil, "jwt": cr.JWT != nil} {
				if set {
					creds[name] = hidden
				}
			}
			up["credentials"] = creds
		}
		if u.TLS != nil {
			up["tls"] = u.TLS
		}
		ups[name] = up
	}
	keys := make([]map[string]string, 0, len(c.Auth.APIKeys))
	for _, k := range c.Auth.APIKeys {
		keys = append(keys, map[string]string{"id": k.ID, "sha256": hidden})
	}
	routes := make([]map[string]any, 0, len(c.Routes))
	for _, r := range c.Routes {
		routes = append(routes, map[string]any{"method": r.Method, "upstream": r.Upstream, "http": r.HTTP, "encoding": r.Encoding, "timeout": r.Timeout.String(), "open": r.Open, "status_codes": r.StatusCodes})
	}
	admin := map[string]any{"listen": c.Admin.Listen, "token": c.Admin.Token != nil}
	return map[string]any{
		"file":        c.File,
		"server":      map[string]any{"listen": c.Server.Listen, "shutdown_grace": c.Server.ShutdownGrace.String(), "max_recv_bytes": c.Server.MaxRecvBytes, "max_send_bytes": c.Server.MaxSendBytes, "reflection": *c.Server.Reflection, "log_format": c.Server.LogFormat},
		"admin":       admin,
		"descriptors": map[string]any{"import_paths": c.Descriptors.ImportPaths, "protos": c.Descriptors.Protos, "sets": c.Descriptors.Sets},
		"auth":        map[string]any{"open": c.Auth.Open, "api_keys": keys},
		"upstreams":   ups,
		"routes":      routes,
	}
}

// sensitiveName reports header names whose values are likely secrets.
func sensitiveName(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"auth", "key", "token", "secret", "cookie", "password", "signature"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

var statusTmpl = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>protobridge status</title>
<style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#1b1f24}
h1{font-size:1.4rem;margin:0 0 .25rem} .sub{color:#57606a;margin-bottom:1.5rem}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:1rem;font-weight:600}
.ok{background:#dafbe1;color:#116329} .bad{background:#ffebe9;color:#a40e26} .warn{background:#fff8c5;color:#7d4e00}
h2{font-size:1.1rem;margin:2rem 0 0}
table{border-collapse:collapse;width:100%;margin-top:1rem} th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #d0d7de}
th{background:#f6f8fa} td.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:minmax(16rem,1fr) repeat(3,auto);gap:.3rem 1.2rem;align-items:center;margin-top:1rem}
.charts .head{font-weight:600;color:#57606a;font-size:.85rem} .charts .m{overflow-wrap:anywhere}
.charts .m small{display:block;color:#57606a} figure{margin:0} figcaption{font-size:.75rem;color:#57606a}
svg.chart .frame{fill:#f6f8fa;stroke:#d0d7de} svg.chart .bar{fill:#0969da}
svg.chart .line{fill:none;stroke-width:1.6;stroke-linejoin:round} svg.chart .dot{stroke:none}
.err{stroke:#cf222e;fill:#cf222e} .p50{stroke:#1a7f37;fill:#1a7f37} .p90{stroke:#bf8700;fill:#bf8700} .p99{stroke:#8250df;fill:#8250df}
.key i{display:inline-block;width:.8rem;height:.2rem;margin:0 .2rem .2rem .5rem} .key .p50{background:#1a7f37} .key .p90{background:#bf8700} .key .p99{background:#8250df}
</style></head><body>
<h1>protobridge</h1>
<div class="sub">config {{.Config}} · {{len .Routes}} routes · generated {{.Now}}</div>
<div>Health: <span id="health" class="badge {{if .Draining}}bad{{else}}ok{{end}}">{{if .Draining}}DRAINING{{else}}SERVING{{end}}</span></div>
{{if .Sandbox}}<div id="sandbox">Sandbox: {{range $name, $mode := .Sandbox}}<span class="badge warn">{{$name}}: {{$mode}}</span> {{end}}</div>{{end}}
<table id="routes"><thead><tr><th>Method</th><th>Upstream</th><th>Kind</th><th>Binding</th><th>Calls</th><th>Errors</th><th>Error rate</th></tr></thead><tbody>
{{range .Routes}}<tr><td>{{.Method}}</td><td>{{.Upstream}}</td><td>{{.Kind}}</td><td>{{.Binding}}</td><td class="num">{{.Calls}}</td><td class="num">{{.Errors}}</td><td class="num">{{.Rate}}</td></tr>
{{end}}</tbody></table>
<h2>Circuit breakers</h2>
{{if .Breakers}}<table id="breakers"><thead><tr><th>Scope</th><th>State</th><th>Consecutive failures</th></tr></thead><tbody>
{{range .Breakers}}<tr><td>{{.Scope}}</td><td><span class="badge {{if eq .State "closed"}}ok{{else if eq .State "open"}}bad{{else}}warn{{end}}">{{.State}}</span></td><td class="num">{{.ConsecutiveFailures}}</td></tr>
{{end}}</tbody></table>{{else}}<p id="breakers">No circuit breakers are configured.</p>{{end}}
<h2>Last hour</h2>
<div class="sub">One point a minute, kept in memory since the daemon started (a restart starts afresh).
<span class="key">Latency: <i class="p50"></i>p50<i class="p90"></i>p90<i class="p99"></i>p99</span></div>
<div id="charts" class="charts">
<div class="head">Method</div><div class="head">Requests per minute</div><div class="head">Error rate (0–100%)</div><div class="head">Latency</div>
{{range .Charts}}<div class="m">{{.Method}}<small>{{.Calls}} calls, {{.ErrorRate}} errors · {{.LastActive}}</small></div>
<figure>{{.Requests}}<figcaption>peak {{.PeakRate}}</figcaption></figure>
<figure>{{.Errors}}<figcaption>{{.Failed}} failed</figcaption></figure>
<figure>{{.Latency}}<figcaption>highest p50 {{.P50}} · p90 {{.P90}} · p99 {{.P99}}</figcaption></figure>
{{end}}</div>
<h2>Rate-limit queues</h2>
{{if .Queues}}<table id="queues"><thead><tr><th>Limit</th><th>Calls waiting</th></tr></thead><tbody>
{{range .Queues}}<tr><td>{{.Name}}</td><td class="num">{{.Depth}}</td></tr>
{{end}}</tbody></table>{{else}}<p id="queues">No rate limit with a queue is configured.</p>{{end}}
<h2>Upstream notices</h2>
{{if .Notices}}<table id="notices"><thead><tr><th>Method</th><th>Upstream</th><th>Notice</th><th>Date</th><th>Detail</th><th>Last seen</th></tr></thead><tbody>
{{range .Notices}}<tr><td>{{.Method}}</td><td>{{.Upstream}}</td><td><span class="badge {{if eq .Kind "sunset"}}bad{{else}}warn{{end}}">{{.Kind}}</span></td><td>{{if .Date.IsZero}}–{{else}}{{.Date.Format "2006-01-02"}}{{end}}</td><td>{{.Detail}}</td><td>{{.Seen.UTC.Format "2006-01-02 15:04"}} UTC</td></tr>
{{end}}</tbody></table>{{else}}<p id="notices">No upstream has announced a deprecation or sunset.</p>{{end}}
{{with .Jobs}}<h2>Async jobs</h2>
<table id="jobs"><thead><tr><th>Priority class</th><th>In the queue, all daemons (waiting, running, retrying)</th></tr></thead><tbody>
{{range .Queued}}<tr><td>{{.Class}}</td><td class="num">{{.Jobs}}</td></tr>
{{end}}</tbody></table>{{if .Err}}<p class="badge bad">queue depth unknown: {{.Err}}</p>{{end}}
<p id="jobs-here">This daemon: {{.Running}} running · {{.Succeeded}} succeeded · {{.Failed}} failed · {{.Cancelled}} cancelled · {{.Retried}} retries · {{.Redelivered}} redeliveries</p>{{end}}
{{with .Webhooks}}<h2>Webhook sources</h2>
<table id="webhooks"><thead><tr><th>Source</th><th>Path</th><th>Scheme</th><th>Message</th><th>Stored</th><th>Duplicates</th><th>Bad signatures</th><th>Other refusals</th></tr></thead><tbody>
{{range .}}<tr><td>{{.Name}}</td><td>{{.Path}}</td><td>{{.Scheme}}</td><td>{{.Message}}</td><td class="num">{{.Stored}}</td><td class="num">{{.Duplicate}}</td><td class="num">{{.BadSignature}}</td><td class="num">{{.Refused}}</td></tr>
{{end}}</tbody></table>{{end}}
</body></html>
`))

func (d *Daemon) statusPage(w http.ResponseWriter, _ *http.Request) {
	type row struct {
		routeView
		Rate string
	}
	views := d.routeViews()
	rows := make([]row, len(views))
	for i, v := range views {
		rows[i] = row{routeView: v, Rate: "–"}
		if v.Calls > 0 {
			rows[i].Rate = fmt.Sprintf("%.1f%%", 100*float64(v.Errors)/float64(v.Calls))
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Method < rows[j].Method })
	methods := make([]string, len(views))
	for i, v := range views {
		methods[i] = v.Method
	}
	type queue struct {
		Name  string
		Depth int64
	}
	var queues []queue
	for name, n := range d.router.Table().QueueDepths() {
		queues = append(queues, queue{name, n})
	}
	sort.Slice(queues, func(i, j int) bool { return queues[i].Name < queues[j].Name })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	data := map[string]any{
		"Config": d.cfg.Load().File, "Routes": rows, "Breakers": d.breakerViews(), "Draining": d.srv.Draining(), "Now": time.Now().UTC().Format(time.RFC3339),
		"Charts": chartViews(d.metrics.History, methods), "Queues": queues, "Notices": d.metrics.History.Notices(),
		"Sandbox": d.sandbox.Modes(),
	}
	d.asyncStatus(data)
	_ = statusTmpl.Execute(w, data)
}
