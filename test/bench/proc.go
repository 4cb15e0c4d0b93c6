package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/runnerfile"
)

// proc is one finished child process.
type proc struct {
	Start, End time.Time
	Wall       time.Duration
	RSSKiB     int64 // peak RSS of the child and its reaped descendants (GNU time; rss.go)
	Code       int   // exit code; -1 when killed
	TimedOut   bool
	Out        string // stdout and stderr, interleaved
}

// OK reports a zero exit.
func (p proc) OK() bool { return p.Code == 0 && !p.TimedOut }

// command is what to run.
type command struct {
	Path    string
	Args    []string
	Dir     string
	Env     []string
	Timeout time.Duration // 0: none beyond ctx
}

// run executes c in its own process group; on timeout or cancellation the
// whole group (a script and the CLI it started) is killed.
func run(ctx context.Context, c command) (proc, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	name := filepath.Base(c.Path)
	c, rssFile, err := withRSS(c)
	if err != nil {
		return proc{}, err
	}
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Dir, cmd.Env = c.Dir, c.Env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	p := proc{Start: time.Now()}
	if err := cmd.Start(); err != nil {
		if rssFile != "" {
			os.Remove(rssFile)
		}
		return p, fmt.Errorf("starting %s: %w", name, err)
	}
	err = cmd.Wait()
	p.End = time.Now()
	p.Wall = p.End.Sub(p.Start)
	p.Out = out.String()
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			p.RSSKiB = ru.Maxrss
		}
		p.Code = cmd.ProcessState.ExitCode()
	}
	if rssFile != "" {
		if kib, ok := readRSS(rssFile); ok {
			p.RSSKiB = kib
		}
	}
	p.TimedOut = ctx.Err() != nil
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && !p.TimedOut {
		return p, fmt.Errorf("running %s: %w", name, err)
	}
	return p, nil
}

// job is one simulated job step's directory: workspace, HOME and the
// runner's file-command files, laid out by actionrun as in the tests.
type job struct {
	*actionrun.Step
}

func newJob(root, name string) (*job, error) {
	s, err := actionrun.NewStep("", filepath.Join(root, name), "")
	if err != nil {
		return nil, err
	}
	return &job{Step: s}, nil
}

// reset empties the file commands, as a fresh step would see them.
func (j *job) reset() error { return j.Reset() }

// env is the environment the runner gives a Docker action (and a script
// step), with the developer's AWS setup kept out.
func (j *job) env(endpoint string) map[string]string {
	m := maps.Clone(j.Env)
	m["GITHUB_WORKFLOW"], m["AWS_PAGER"] = "bench", ""
	if endpoint != "" {
		m["AWS_ENDPOINT_URL"] = endpoint
	}
	return m
}

// exported reads GITHUB_ENV back as the runner would.
func (j *job) exported() (map[string]string, error) {
	b, err := os.ReadFile(j.EnvFile)
	if err != nil {
		return nil, err
	}
	m, err := runnerfile.Map(string(b))
	if err != nil {
		return nil, fmt.Errorf("the runner would reject GITHUB_ENV: %w", err)
	}
	return m, nil
}

// hasCredentials reports whether GITHUB_ENV holds a session.
func (j *job) hasCredentials() bool {
	m, err := j.exported()
	return err == nil && m["AWS_ACCESS_KEY_ID"] != "" && m["AWS_SESSION_TOKEN"] != ""
}

// actionCommand runs the action binary with inputs encoded by actionrun,
// exactly as the runner passes them to a Docker action.
func actionCommand(bin string, j *job, env, inputs map[string]string, timeout time.Duration) command {
	c := command{Path: bin, Dir: j.Workspace, Timeout: timeout}
	c.Env = append(environ(env), actionrun.InputEnv(inputs)...)
	return c
}

func environ(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// Statistics.

func durations(ps []proc) []time.Duration {
	out := make([]time.Duration, len(ps))
	for i, p := range ps {
		out[i] = p.Wall
	}
	return out
}

// percentile is the nearest-rank percentile (p in 0-100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// median is the middle value (the mean of the two middle ones for an even count).
func median[T time.Duration | float64 | int64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func medianRSS(ps []proc) int64 {
	var xs []int64
	for _, p := range ps {
		xs = append(xs, p.RSSKiB)
	}
	return median(xs)
}

// runAll runs every command at once and waits for all; for processes that
// mostly wait on the network or a timer, and for the matrix.
func runAll(ctx context.Context, cmds []command) ([]proc, error) {
	ps := make([]proc, len(cmds))
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ps[i], errs[i] = run(ctx, c)
		}()
	}
	wg.Wait()
	return ps, errors.Join(errs...)
}

func maxRSS(ps []proc) int64 {
	var m int64
	for _, p := range ps {
		m = max(m, p.RSSKiB)
	}
	return m
}

// Formatting.

func ms(d time.Duration) string {
	switch {
	case d <= 0:
		return "0 ms"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func ratio(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	switch {
	case x >= 10:
		return fmt.Sprintf("%.0f×", x)
	case x >= 1:
		return fmt.Sprintf("%.1f×", x)
	}
	return fmt.Sprintf("%.2g×", x)
}

func yesNo(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// tail returns the last n lines of s, for error messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
