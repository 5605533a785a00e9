package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/protobridge/protobridge/bench/internal/ratio"
	"github.com/protobridge/protobridge/bench/internal/shop"
)

// p2Vanguards are the anchor daemons: vanguardd with the Go types generated
// from the .proto (what vanguard's users run) and with dynamicpb messages.
var p2Vanguards = []struct{ name, types string }{
	{"vanguard-generated", "generated"},
	{"vanguard-dynamicpb", "dynamicpb"},
}

// runP2 starts the upstream, the protobridge daemon and the two vanguardd
// on 127.0.0.1, checks that the bridges do the same work, then loads each
// with ghz at the same concurrency for the same time, in rotating order over
// several rounds, and reports medians.
func runP2(ctx context.Context, args []string) (err error) {
	fs := flag.NewFlagSet("p2", flag.ContinueOnError)
	pbBin := fs.String("protobridge", "", "protobridge daemon binary")
	vgBin := fs.String("vanguardd", "", "vanguardd binary")
	upBin := fs.String("upstream", "", "upstream binary")
	ghz := fs.String("ghz", "ghz", "ghz binary")
	out := fs.String("out", "results", "results folder")
	conc := fs.Int("c", 50, "ghz concurrency")
	conns := fs.Int("connections", 1, "ghz connections")
	duration := fs.Duration("duration", 8*time.Second, "measured ghz run per target and round")
	warmup := fs.Duration("warmup", 2*time.Second, "ghz warm-up before each measured run (not counted)")
	rounds := fs.Int("rounds", 3, "rounds; each loads both targets")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pbBin == "" || *vgBin == "" || *upBin == "" {
		return errors.New("p2: -protobridge, -vanguardd and -upstream are required")
	}
	if _, err := exec.LookPath(*ghz); err != nil {
		return fmt.Errorf("p2: ghz not found at %s (run `make tools` at the top level): %w", *ghz, err)
	}
	dir, err := filepath.Abs(filepath.Join(*out, "p2"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rep := report{dir: *out}
	start := time.Now()
	rep.printf("P2 load average at start: %s", loadavg())

	schema, err := shop.Compile(ctx)
	if err != nil {
		return err
	}
	pay, err := schema.NewPayloads()
	if err != nil {
		return err
	}
	protoset, err := schema.Protoset()
	if err != nil {
		return err
	}
	protosetPath, reqPath := filepath.Join(dir, "bench.protoset"), filepath.Join(dir, "request.bin")
	if err := os.WriteFile(protosetPath, protoset, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(reqPath, pay.Request, 0o644); err != nil {
		return err
	}

	ports, err := freePorts(2 + len(p2Vanguards))
	if err != nil {
		return err
	}
	upAddr, pbAddr := addr(ports[0]), addr(ports[1])
	upURL := "http://" + upAddr
	// json_int64 "string": int64s as protojson writes them, as vanguard does.
	cfgPath, err := shop.WriteProtobridgeConfig(filepath.Join(dir, "protobridge"), pbAddr, upURL, "string")
	if err != nil {
		return err
	}

	var procs []*proc
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
	}()
	type daemon struct {
		name, addr string
		argv       []string
	}
	daemons := []daemon{
		{"upstream", upAddr, []string{*upBin, "-listen", upAddr}},
		{"protobridge", pbAddr, []string{*pbBin, "serve", "--config", cfgPath}},
	}
	for i, v := range p2Vanguards {
		a := addr(ports[2+i])
		daemons = append(daemons, daemon{v.name, a, []string{*vgBin, "-listen", a, "-upstream", upURL, "-types", v.types}})
	}
	type target struct{ name, addr string }
	var targets []target
	pids := map[string]int{}
	for _, p := range daemons {
		pr, err := startProc(ctx, p.name, filepath.Join(dir, p.name+".log"), p.argv)
		if err != nil {
			return err
		}
		procs = append(procs, pr)
		if err := waitTCP(ctx, p.addr, 20*time.Second, pr); err != nil {
			return fmt.Errorf("%s did not start (see %s): %w", p.name, pr.logPath, err)
		}
		if p.name != "upstream" {
			targets = append(targets, target{p.name, p.addr})
			pids[p.name] = pr.cmd.Process.Pid
		}
	}
	up := shop.RemoteUpstream{BaseURL: upURL}
	bodies := map[string][]byte{}
	for _, t := range targets {
		cc, err := shop.Dial(t.addr)
		if err != nil {
			return err
		}
		bodies[t.name], err = shop.Check(ctx, cc, schema, pay, up)
		cc.Close()
		if err != nil {
			return fmt.Errorf("p2 same-work check, %s: %w", t.name, err)
		}
	}
	for _, v := range p2Vanguards {
		if err := shop.SameJSON(bodies["protobridge"], bodies[v.name]); err != nil {
			return fmt.Errorf("p2 same-work check: protobridge and %s send different bodies: %w", v.name, err)
		}
	}

	results := map[string][]ghzResult{}
	run := func(name, target string, d time.Duration, file string) (ghzResult, error) {
		return runGhz(ctx, *ghz, ghzArgs{
			protoset: protosetPath, request: reqPath, target: target,
			c: *conc, connections: *conns, duration: d, out: file,
		})
	}
	for r := range *rounds {
		// Each round starts one target later, so drift on a shared machine
		// hits every target alike.
		for i := range targets {
			t := targets[(i+r)%len(targets)]
			if *warmup > 0 {
				if _, err := run(t.name, t.addr, *warmup, filepath.Join(dir, fmt.Sprintf("ghz-%s-r%d-warmup.json", t.name, r+1))); err != nil {
					return fmt.Errorf("%s warm-up: %w", t.name, err)
				}
			}
			before, cpu0 := up.Hits(), processCPU(pids[t.name])
			res, err := run(t.name, t.addr, *duration, filepath.Join(dir, fmt.Sprintf("ghz-%s-r%d.json", t.name, r+1)))
			if err != nil {
				return fmt.Errorf("%s round %d: %w", t.name, r+1, err)
			}
			hits := up.Hits() - before
			res.CPUPerCall = float64(processCPU(pids[t.name])-cpu0) / float64(hits)
			if hits < res.OK {
				return fmt.Errorf("%s round %d: ghz counted %d OK calls but the upstream answered only %d", t.name, r+1, res.OK, hits)
			}
			fmt.Printf("P2 round %d %-18s rps=%.0f p50=%s p99=%s cpu/call=%s ok=%d errors=%d upstream_hits=%d\n",
				r+1, t.name, res.RPS, dur(res.P50), dur(res.P99), dur(res.CPUPerCall), res.OK, res.Errors, hits)
			results[t.name] = append(results[t.name], res)
		}
	}

	type summary struct{ rps, p50, p99, cpu float64 }
	sums := map[string]summary{}
	for _, t := range targets {
		var rps, p50, p99, cpu []float64
		var ok, errs int64
		for _, res := range results[t.name] {
			rps, p50, p99, cpu = append(rps, res.RPS), append(p50, res.P50), append(p99, res.P99), append(cpu, res.CPUPerCall)
			ok += res.OK
			errs += res.Errors
		}
		s := summary{median(rps), median(p50), median(p99), median(cpu)}
		sums[t.name] = s
		lo, hi := minMax(rps)
		rep.printf("P2 %-18s rps=%.0f p50=%s p99=%s daemon-cpu/call=%s ok=%d errors=%d  [median of %d x %s at -c %d, %d conn; rps range %.0f..%.0f]",
			t.name, s.rps, dur(s.p50), dur(s.p99), dur(s.cpu), ok, errs, len(rps), *duration, *conc, *conns, lo, hi)
	}
	for _, p := range procs {
		if p.exited() {
			return fmt.Errorf("%s exited during the run (see %s)", p.name, p.logPath)
		}
	}
	// A missing or zero denominator fails the run instead of printing 0.
	var rs ratio.Set
	get := func(name string) summary {
		if s, ok := sums[name]; ok {
			return s
		}
		return summary{ratio.Missing, ratio.Missing, ratio.Missing, ratio.Missing}
	}
	pb, gen, dyn := get("protobridge"), get("vanguard-generated"), get("vanguard-dynamicpb")
	dynLine := fmt.Sprintf("P2 vanguard-dynamicpb vs vanguard-generated: rps=%.2f p99=%.2f cpu=%.2f",
		rs.Of("P2 rps vanguard-dynamicpb/vanguard-generated", dyn.rps, gen.rps),
		rs.Of("P2 p99 vanguard-dynamicpb/vanguard-generated", dyn.p99, gen.p99),
		rs.Of("P2 daemon-cpu/call vanguard-dynamicpb/vanguard-generated", dyn.cpu, gen.cpu))
	// One BENCH line per anchor, the one users run (generated) first.
	var benchLines []string
	for _, v := range p2Vanguards {
		what, vg := "protobridge/"+v.name, get(v.name)
		benchLines = append(benchLines, fmt.Sprintf("BENCH P2 load-rps %s rps=%.2f p99=%.2f cpu=%.2f", what,
			rs.Of("P2 rps "+what, pb.rps, vg.rps), rs.Of("P2 p99 "+what, pb.p99, vg.p99),
			rs.Of("P2 daemon-cpu/call "+what, pb.cpu, vg.cpu)))
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("p2: no BENCH line (see %s): %w", dir, err)
	}
	rep.printf("%s", dynLine)
	rep.printf("P2 took %s; load average at end: %s", time.Since(start).Round(time.Second), loadavg())
	for _, l := range benchLines {
		rep.printf("%s", l)
	}
	return nil
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// freePorts reserves n distinct loopback ports and releases them for the daemons.
func freePorts(n int) ([]int, error) {
	var ports []int
	var liss []net.Listener
	defer func() {
		for _, l := range liss {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		liss = append(liss, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// proc is a daemon started by the run; stop ends it (SIGTERM, then SIGKILL).
type proc struct {
	name, logPath string
	cmd           *exec.Cmd
	cancel        context.CancelFunc
	done          chan struct{}
	once          sync.Once
}

func startProc(ctx context.Context, name, logPath string, argv []string) (*proc, error) {
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// End the daemon with the run, even if the run itself is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	lw, err := newLimitedFile(logPath, 1<<20)
	if err != nil {
		cancel()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = lw, lw
	if err := cmd.Start(); err != nil {
		cancel()
		lw.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, cancel: cancel, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		lw.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) stop() {
	p.once.Do(func() {
		p.cancel()
		<-p.done
	})
}

func waitTCP(ctx context.Context, address string, limit time.Duration, p *proc) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", address, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return errors.New("exited")
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// limitedFile keeps the first max bytes of a daemon's output (the daemon may
// log every call) and counts the rest.
type limitedFile struct {
	mu      sync.Mutex
	f       *os.File
	max     int64
	written int64
}

func newLimitedFile(path string, max int64) (*limitedFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &limitedFile{f: f, max: max}, nil
}

func (l *limitedFile) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.written; room > 0 {
		n := int64(len(b))
		if n > room {
			n = room
		}
		_, _ = l.f.Write(b[:n])
	}
	l.written += int64(len(b))
	return len(b), nil
}

func (l *limitedFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written > l.max {
		fmt.Fprintf(l.f, "\n[... %d more bytes of output not kept]\n", l.written-l.max)
	}
	return l.f.Close()
}

type ghzArgs struct {
	protoset, request, target, out string
	c, connections                 int
	duration                       time.Duration
}

// ghzResult is what the run reads from ghz's JSON report.
type ghzResult struct {
	RPS      float64
	P50, P99 float64 // nanoseconds
	OK       int64
	Errors   int64
	// CPUPerCall is the daemon's CPU time (user+system, nanoseconds) per
	// call the upstream answered during the run.
	CPUPerCall float64
}

func runGhz(ctx context.Context, ghz string, a ghzArgs) (ghzResult, error) {
	cmd := exec.CommandContext(ctx, ghz,
		"--insecure",
		"--protoset", a.protoset,
		"--call", shop.Method,
		"--binary-file", a.request,
		"--concurrency", strconv.Itoa(a.c),
		"--connections", strconv.Itoa(a.connections),
		"--duration", a.duration.String(),
		"--duration-stop", "wait",
		"--format", "json",
		"--output", a.out,
		a.target,
	)
	if b, err := cmd.CombinedOutput(); err != nil {
		return ghzResult{}, fmt.Errorf("ghz: %w: %s", err, b)
	}
	data, err := os.ReadFile(a.out)
	if err != nil {
		return ghzResult{}, err
	}
	var rep struct {
		RPS                 float64 `json:"rps"`
		LatencyDistribution []struct {
			Percentage int     `json:"percentage"`
			Latency    float64 `json:"latency"`
		} `json:"latencyDistribution"`
		StatusCodeDistribution map[string]int64 `json:"statusCodeDistribution"`
		ErrorDistribution      map[string]int64 `json:"errorDistribution"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return ghzResult{}, fmt.Errorf("ghz report %s: %w", a.out, err)
	}
	res := ghzResult{RPS: rep.RPS}
	for _, l := range rep.LatencyDistribution {
		switch l.Percentage {
		case 50:
			res.P50 = l.Latency
		case 99:
			res.P99 = l.Latency
		}
	}
	for code, n := range rep.StatusCodeDistribution {
		if code == "OK" {
			res.OK += n
		} else {
			res.Errors += n
		}
	}
	if res.OK == 0 {
		return res, fmt.Errorf("ghz report %s: no successful call (errors: %v)", a.out, rep.ErrorDistribution)
	}
	return res, nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

// processCPU returns the CPU time (user+system, all threads) a process has
// used, read from /proc/PID/stat; 0 where that is not available.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}
