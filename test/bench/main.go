// Command bench measures the action side by side with the tools users would
// otherwise pick (the seed's `aws sts assume-role | jq` script with AWS CLI v1
// and v2, `aws cloudformation deploy`, and the JavaScript actions
// configure-aws-credentials and aws-cloudformation-github-deploy run with node
// from shared/peers) on the same work in one run, against the embedded fakes and moto.
// It prints a table of medians and pair-wise ratios with the targets
// and, in full mode, writes it to test/bench/RESULTS.md.
//
//	go run ./test/bench           # full mode, a few minutes
//	go run ./test/bench -quick    # scaled down, under a minute; CI runs it and does not judge timings
//
// It installs nothing: a missing peer is reported and its column skipped.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
)

// settings are the knobs of one run; quick mode scales everything down.
type settings struct {
	quick        bool
	rounds       int     // interleaved rounds for the credentials step
	startRounds  int     // rounds for the start-cost comparison
	failRounds   int     // AccessDenied rounds
	jobs         int     // matrix size
	deployScale  float64 // multiplies the scripted CloudFormation durations
	deployRuns   int     // action runs per deploy case
	peerCap      time.Duration
	only         map[string]bool
	out          string
	prebuilt     string
	unreachTries int
}

func main() {
	quick := flag.Bool("quick", false, "scaled-down run that only checks the benchmark still works (CI); timings are not judged")
	rounds := flag.Int("rounds", 0, "interleaved rounds per tool for the credentials step (default 11, quick 3)")
	jobs := flag.Int("jobs", 0, "concurrent jobs for the matrix test (default 100, quick 25)")
	scale := flag.Float64("deploy-scale", 0, "scale of the scripted deploy durations (change set 3 s, stack 20 s and 120 s); default 1, quick 0.1")
	only := flag.String("only", "", "comma-separated items to run (1-6); default all")
	bin := flag.String("bin", "", "benchmark this prebuilt action binary instead of building one (e.g. a patched build)")
	out := flag.String("out", "", "write the table here (default test/bench/RESULTS.md in full mode, nothing in quick mode)")
	flag.Parse()

	s := settings{quick: *quick, rounds: 11, startRounds: 21, failRounds: 7, jobs: 100, deployScale: 1, deployRuns: 5,
		peerCap: 150 * time.Second, unreachTries: 3}
	if s.quick {
		s = settings{quick: true, rounds: 3, startRounds: 5, failRounds: 3, jobs: 25, deployScale: 0.1, deployRuns: 1,
			peerCap: 20 * time.Second, unreachTries: 1}
	}
	if *rounds > 0 {
		s.rounds = *rounds
	}
	if *jobs > 0 {
		s.jobs = *jobs
	}
	if *scale > 0 {
		s.deployScale = *scale
	}
	if *only != "" {
		s.only = map[string]bool{}
		for _, it := range strings.Split(*only, ",") {
			s.only[strings.TrimSpace(it)] = true
		}
	}
	s.out, s.prebuilt = *out, *bin

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx, s); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is one benchmark run: the built action, the peers found, the rows.
type bench struct {
	settings
	root  string // repository root
	tmp   string
	bin   string
	tools tools
	rows  []row
	notes []string
	start time.Time
	// machine is captured before any load is added.
	machine []string
	// microOut is the Go microbenchmarks' output (full mode).
	microOut string
}

func (b *bench) want(item string) bool { return b.only == nil || b.only[item] }

// notesMu guards bench.notes: the slow phase's items note from their own goroutines.
var notesMu sync.Mutex

func (b *bench) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	notesMu.Lock()
	defer notesMu.Unlock()
	b.notes = append(b.notes, msg)
	fmt.Println("  note:", msg)
}

func realMain(ctx context.Context, s settings) error {
	root, err := actionrun.RepoRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "aws-assume-deploy-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b := &bench{settings: s, root: root, tmp: tmp, start: time.Now(), machine: machine()}
	if b.out == "" && !b.quick {
		b.out = filepath.Join(root, "test", "bench", "RESULTS.md")
	}
	mode := "full"
	if b.quick {
		mode = "quick (scaled down; timings are not judged)"
	}
	fmt.Printf("aws-assume-deploy benchmark, %s mode\n", mode)

	if b.bin, err = b.build(ctx); err != nil {
		return err
	}
	b.tools = findTools(ctx, b)

	// CPU-sensitive measurements run alone; the long, mostly idle waits
	// (deploys, unreachable STS) run side by side at the end.
	if b.want("5") {
		if err := b.footprint(ctx); err != nil {
			return fmt.Errorf("item 5 (footprint): %w", err)
		}
	}
	if b.want("1") {
		if err := b.credentials(ctx); err != nil {
			return fmt.Errorf("item 1 (credentials step): %w", err)
		}
	}
	if b.want("4") {
		if err := b.matrix(ctx); err != nil {
			return fmt.Errorf("item 4 (matrix): %w", err)
		}
	}
	if b.want("6") {
		if err := b.peers(ctx); err != nil {
			return fmt.Errorf("item 6 (JavaScript actions on moto): %w", err)
		}
	}
	if err := b.slowPhase(ctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// Not in quick mode: CI already compiles them (go vet) and runs the tests.
	if !b.quick && b.only == nil {
		if err := b.micro(ctx); err != nil {
			return err
		}
	}
	return b.report()
}

// build compiles the action as the Dockerfile does, unless -bin names one.
func (b *bench) build(ctx context.Context) (string, error) {
	if b.prebuilt != "" {
		b.note("benchmarked the prebuilt binary %s, not a build of this tree", b.prebuilt)
		return filepath.Abs(b.prebuilt)
	}
	fmt.Println("Building the action as the Dockerfile does (CGO_ENABLED=0, -trimpath, -ldflags \"-s -w\") ...")
	bin := filepath.Join(b.tmp, "aws-assume-deploy")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Dir, build.Stdout, build.Stderr = b.root, os.Stderr, os.Stderr
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building the action: %w", err)
	}
	return bin, nil
}

// slowPhase runs items 3, 2 and the waiting part of 6 concurrently: they wait
// on timers and servers, so they barely compete for the CPU.
func (b *bench) slowPhase(ctx context.Context) error {
	type result struct {
		item string
		rows []row
		err  error
	}
	var chans []chan result
	spawn := func(item string, fn func(context.Context) ([]row, error)) {
		if !b.want(item) {
			return
		}
		ch := make(chan result, 1)
		chans = append(chans, ch)
		go func() {
			rows, err := fn(ctx)
			ch <- result{item, rows, err}
		}()
	}
	spawn("2", b.timeToFail)
	spawn("3", b.deploy)
	spawn("6", b.peersSlow)
	var errs []error
	got := map[string][]row{}
	for _, ch := range chans {
		r := <-ch
		if r.err != nil {
			errs = append(errs, fmt.Errorf("item %s: %w", r.item, r.err))
		}
		got[r.item] = r.rows
	}
	// Keep the table in item order.
	b.rows = append(b.rows, got["2"]...)
	b.rows = append(b.rows, got["3"]...)
	b.rows = append(b.rows, got["6"]...)
	return errors.Join(errs...)
}
