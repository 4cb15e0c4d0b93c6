package main

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Peak RSS is taken by GNU time, not from our own wait4: Go starts a child
// with vfork and exec, and Linux carries the parent's high-water RSS over
// into the child's ru_maxrss at exec, so wait4 reports at least the
// benchmark's own peak (tens of MiB after the matrix) for a child that
// stays smaller, such as the action. GNU time forks from a ~1 MiB process
// and reads the child's own peak.

// gnuTime is the path of GNU time, or "" when it is missing (then wait4's
// figure is used and a note says so).
var gnuTime = sync.OnceValue(func() string {
	p, err := exec.LookPath("time")
	if err != nil {
		p = "/usr/bin/time"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "GNU") {
		return ""
	}
	return p
})

// withRSS wraps c in GNU time writing the peak RSS (KiB) to a new file, and
// returns the command to run and that file ("" when GNU time is missing).
func withRSS(c command) (command, string, error) {
	t := gnuTime()
	if t == "" {
		return c, "", nil
	}
	f, err := os.CreateTemp("", "aws-assume-deploy-bench-rss-")
	if err != nil {
		return c, "", err
	}
	f.Close()
	c.Args = append([]string{"--quiet", "-f", "%M", "-o", f.Name(), c.Path}, c.Args...)
	c.Path = t
	return c, f.Name(), nil
}

// readRSS reads and removes withRSS's file: the peak RSS in KiB, or false
// when the run was killed before GNU time wrote it.
func readRSS(path string) (int64, bool) {
	defer os.Remove(path)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	lines := strings.Fields(string(b))
	if len(lines) == 0 {
		return 0, false
	}
	kib, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	return kib, err == nil && kib > 0
}
