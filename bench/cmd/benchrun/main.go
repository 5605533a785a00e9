// Command benchrun drives `make bench` in bench/: it runs the in-process
// benchmark (p1) and the loopback load run (p2), keeps raw output in the
// results folder, and prints absolute figures followed by one
// "BENCH ..." ratio line (protobridge ÷ vanguard) per vanguard set-up
// (generated Go types, dynamicpb).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/protobridge/protobridge/bench/internal/ratio"
)

// median is the median of xs, ratio.Missing (NaN) when there are none.
var median = ratio.Median

const usage = `usage:
  benchrun p1 -test P1.TEST [-out DIR] [-rounds N] [-count N] [-benchtime D]
  benchrun p2 -protobridge BIN -vanguardd BIN -upstream BIN -ghz BIN [-out DIR] [-c N] [-duration D] [-warmup D] [-rounds N]
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "p1":
		err = runP1(ctx, os.Args[2:])
	case "p2":
		err = runP2(ctx, os.Args[2:])
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

// report prints a line and appends it to DIR/summary.txt.
type report struct{ dir string }

func (r report) printf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Println(line)
	f, err := os.OpenFile(filepath.Join(r.dir, "summary.txt"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err == nil {
		fmt.Fprintln(f, line)
		f.Close()
	}
}

// loadavg returns the 1-minute load average, to flag a busy machine.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func minMax(xs []float64) (lo, hi float64) {
	for i, x := range xs {
		if i == 0 || x < lo {
			lo = x
		}
		if i == 0 || x > hi {
			hi = x
		}
	}
	return lo, hi
}
