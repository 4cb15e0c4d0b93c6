package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// microPackages hold the hot paths' Go benchmarks (see micro.sh).
var microPackages = []string{"./internal/gha", "./internal/config", "./internal/cfn"}

// micro runs the Go microbenchmarks once each, for the results file; the
// benchstat-ready way to compare two commits is micro.sh.
func (b *bench) micro(ctx context.Context) error {
	fmt.Println("\n== Microbenchmarks (go test -bench) ==")
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1", "-benchtime", "300ms"}, microPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = b.root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go test -bench: %w\n%s", err, tail(out.String(), 20))
	}
	var keep []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "pkg:") || strings.HasPrefix(l, "cpu:") && len(keep) == 0 {
			keep = append(keep, l)
			fmt.Println(" ", l)
		}
	}
	b.microOut = strings.Join(keep, "\n")
	return nil
}
