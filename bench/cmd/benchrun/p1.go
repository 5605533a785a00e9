package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/protobridge/protobridge/bench/internal/ratio"
)

// The sub-benchmarks of BenchmarkUnary: protobridge and the two vanguards
// that do the same work (with the Go types generated from the .proto, what
// vanguard's users run, and with dynamicpb messages), then protobridge with
// its default json_int64 (informational).
var p1Targets = []string{"protobridge", "vanguard-generated", "vanguard-dynamicpb", "protobridge-default"}

var (
	benchLineRE = regexp.MustCompile(`^BenchmarkUnary/([\w-]+?)(?:-\d+)?\s+\d+\s+(.*)$`)
	metricRE    = regexp.MustCompile(`([\d.]+) (\S+/op)`)
)

// p1Samples are the metrics of one sub-benchmark, by unit ("ns/op", ...).
type p1Samples map[string][]float64

// p1Units are the metrics reported, in order.
var p1Units = []string{"ns/op", "cpu-ns/op", "B/op", "allocs/op"}

// runP1 runs the compiled p1 test binary: the same-work check once, then
// rounds of BenchmarkUnary with the two sub-benchmarks in alternating order,
// so drift on a shared machine hits both alike.
func runP1(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("p1", flag.ContinueOnError)
	testBin := fs.String("test", "", "compiled p1 test binary (go test -c ./p1)")
	out := fs.String("out", "results", "results folder")
	rounds := fs.Int("rounds", 5, "rounds; each runs both sub-benchmarks")
	count := fs.Int("count", 2, "-test.count per sub-benchmark and round")
	benchtime := fs.String("benchtime", "1s", "-test.benchtime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *testBin == "" {
		return fmt.Errorf("p1: -test is required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	rep := report{dir: *out}
	raw, err := os.Create(filepath.Join(*out, "p1-bench.txt"))
	if err != nil {
		return err
	}
	defer raw.Close()

	start := time.Now()
	rep.printf("P1 load average at start: %s", loadavg())
	check := exec.CommandContext(ctx, *testBin, "-test.run", "^TestSameWork$", "-test.count", "1", "-test.v")
	check.Stdout, check.Stderr = raw, raw
	if err := check.Run(); err != nil {
		return fmt.Errorf("p1 same-work check failed (see %s): %w", raw.Name(), err)
	}

	samples := map[string]p1Samples{}
	for r := range *rounds {
		order := append([]string(nil), p1Targets...)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, name := range order {
			cmd := exec.CommandContext(ctx, *testBin,
				"-test.run", "^$",
				"-test.bench", "^BenchmarkUnary$/^"+name+"$",
				"-test.benchmem",
				"-test.count", strconv.Itoa(*count),
				"-test.benchtime", *benchtime,
			)
			pr, pw := io.Pipe()
			cmd.Stdout, cmd.Stderr = pw, pw
			if err := cmd.Start(); err != nil {
				return err
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				sc := bufio.NewScanner(pr)
				for sc.Scan() {
					line := sc.Text()
					fmt.Fprintln(raw, line)
					m := benchLineRE.FindStringSubmatch(line)
					if m == nil {
						continue
					}
					s := samples[m[1]]
					if s == nil {
						s = p1Samples{}
						samples[m[1]] = s
					}
					for _, mm := range metricRE.FindAllStringSubmatch(m[2], -1) {
						s[mm[2]] = append(s[mm[2]], atof(mm[1]))
					}
				}
				_, _ = io.Copy(io.Discard, pr)
			}()
			err := cmd.Wait()
			pw.Close()
			<-done
			if err != nil {
				return fmt.Errorf("p1 %s round %d failed (see %s): %w", name, r+1, raw.Name(), err)
			}
		}
	}

	med := map[string]map[string]float64{}
	for _, name := range p1Targets {
		s := samples[name]
		if len(s["ns/op"]) == 0 {
			return fmt.Errorf("p1: no results for %s (see %s)", name, raw.Name())
		}
		m := map[string]float64{}
		for _, u := range p1Units {
			m[u] = median(s[u])
		}
		med[name] = m
		lo, hi := minMax(s["ns/op"])
		rep.printf("P1 %-19s ns/op=%.0f (%s) cpu-ns/op=%.0f (%s) B/op=%.0f allocs/op=%.0f  [median of %d; ns/op range %s..%s]",
			name, m["ns/op"], dur(m["ns/op"]), m["cpu-ns/op"], dur(m["cpu-ns/op"]), m["B/op"], m["allocs/op"],
			len(s["ns/op"]), dur(lo), dur(hi))
	}
	// Every ratio is checked before anything is printed: a missing or zero
	// denominator fails the run instead of printing a ratio nobody measured.
	var rs ratio.Set
	pb, gen, dyn, def := med["protobridge"], med["vanguard-generated"], med["vanguard-dynamicpb"], med["protobridge-default"]
	of := func(what, unit string, num, den map[string]float64) float64 {
		return rs.Of("P1 "+what+" ("+unit+")", ratio.Get(num, unit), ratio.Get(den, unit))
	}
	defLine := fmt.Sprintf("P1 protobridge-default (json_int64: number, not offered by vanguard) vs protobridge (json_int64: string): time=%.2f cpu=%.2f allocs=%.2f",
		of("protobridge-default/protobridge", "ns/op", def, pb), of("protobridge-default/protobridge", "cpu-ns/op", def, pb),
		of("protobridge-default/protobridge", "allocs/op", def, pb))
	dynLine := fmt.Sprintf("P1 vanguard-dynamicpb vs vanguard-generated: time=%.2f cpu=%.2f allocs=%.2f",
		of("vanguard-dynamicpb/vanguard-generated", "ns/op", dyn, gen), of("vanguard-dynamicpb/vanguard-generated", "cpu-ns/op", dyn, gen),
		of("vanguard-dynamicpb/vanguard-generated", "allocs/op", dyn, gen))
	// One BENCH line per anchor, the one users run (generated) first.
	var benchLines []string
	for _, vg := range []string{"vanguard-generated", "vanguard-dynamicpb"} {
		what, den := "protobridge/"+vg, med[vg]
		benchLines = append(benchLines, fmt.Sprintf("BENCH P1 grpc->rest-json %s time=%.2f allocs=%.2f cpu=%.2f bytes=%.2f", what,
			of(what, "ns/op", pb, den), of(what, "allocs/op", pb, den), of(what, "cpu-ns/op", pb, den), of(what, "B/op", pb, den)))
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("p1: no BENCH line (see %s): %w", raw.Name(), err)
	}
	rep.printf("%s", defLine)
	rep.printf("%s", dynLine)
	rep.printf("P1 took %s; load average at end: %s", time.Since(start).Round(time.Second), loadavg())
	for _, l := range benchLines {
		rep.printf("%s", l)
	}
	return nil
}

func atof(s string) float64 {
	f, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f
}

// dur formats nanoseconds as a rounded duration.
func dur(ns float64) string {
	if math.IsNaN(ns) {
		return "missing"
	}
	d := time.Duration(ns)
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d >= time.Microsecond:
		return d.Round(100 * time.Nanosecond).String()
	}
	return d.String()
}
