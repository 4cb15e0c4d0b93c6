package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// tool is a peer program; Path is empty when it is missing.
type tool struct {
	Name, Path, Version, Missing string
}

func (t tool) ok() bool { return t.Path != "" }

type tools struct {
	cliV1, cliV2, jq, node, bash, moto tool
}

// findTools looks for the peers without installing anything. The AWS CLI v1
// is resolved past pyenv's shim (a bash script that would add its own start
// cost to the peer's time).
func findTools(ctx context.Context, b *bench) tools {
	var t tools
	t.bash = lookTool(ctx, "bash", "bash", "--version")
	t.jq = lookTool(ctx, "jq", "jq", "--version")
	if !t.jq.ok() {
		t.jq.Missing = "jq is missing (Debian: apt-get install -y jq)"
	}
	t.node = lookTool(ctx, "node", "node", "--version")
	if !t.node.ok() {
		t.node.Missing = "node is missing (Debian: apt-get install -y nodejs)"
	}

	t.cliV1 = tool{Name: "AWS CLI v1"}
	t.cliV2 = tool{Name: "AWS CLI v2"}
	var candidates []string
	if pyenv, err := exec.LookPath("pyenv"); err == nil {
		if out, err := exec.CommandContext(ctx, pyenv, "which", "aws").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
	}
	if p, err := exec.LookPath("aws"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/aws", "/usr/local/bin/aws")
	for _, p := range candidates {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		v := version(ctx, p, "--version")
		switch {
		case strings.HasPrefix(v, "aws-cli/1.") && !t.cliV1.ok():
			t.cliV1.Path, t.cliV1.Version = p, firstField(v)
		case strings.HasPrefix(v, "aws-cli/2.") && !t.cliV2.ok():
			t.cliV2.Path, t.cliV2.Version = p, firstField(v)
		}
	}
	if !t.cliV1.ok() {
		t.cliV1.Missing = "AWS CLI v1 is missing (it comes with the image's Python; PyPI is not reachable here to install it)"
	}
	if !t.cliV2.ok() {
		t.cliV2.Missing = "AWS CLI v2 is missing (Debian: apt-get install -y awscli)"
	}

	t.moto = tool{Name: "moto"}
	if py, err := exec.LookPath("python3"); err == nil {
		out, err := exec.CommandContext(ctx, py, "-c", "import moto; print(moto.__version__)").Output()
		if err == nil {
			t.moto.Path, t.moto.Version = py, "moto "+strings.TrimSpace(string(out))
		}
	}
	if !t.moto.ok() {
		t.moto.Missing = "moto is missing from python3 (it is preinstalled in the image's Python; PyPI is not reachable here)"
	}
	if gnuTime() == "" {
		b.note("GNU time is missing (Debian: apt-get install -y time), so peak RSS is wait4's, which also counts the benchmark's own peak (rss.go)")
	}
	for _, x := range []tool{t.cliV1, t.cliV2, t.jq, t.node, t.moto} {
		if x.Missing != "" {
			b.note("%s: its measurements are skipped", x.Missing)
		}
	}
	return t
}

func lookTool(ctx context.Context, name, bin string, args ...string) tool {
	p, err := exec.LookPath(bin)
	if err != nil {
		return tool{Name: name}
	}
	return tool{Name: name, Path: p, Version: firstLine(version(ctx, p, args...))}
}

func version(ctx context.Context, path string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

// machine describes the host for the results file.
func machine() []string {
	var out []string
	if b, err := exec.Command("uname", "-srmo").Output(); err == nil {
		out = append(out, strings.TrimSpace(string(b)))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, v, _ := strings.Cut(l, ":")
				out = append(out, strings.TrimSpace(v))
				break
			}
		}
	}
	out = append(out, strconv.Itoa(runtime.NumCPU())+" CPUs")
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				f := strings.Fields(l)
				if len(f) >= 2 {
					if kib, err := strconv.ParseInt(f[1], 10, 64); err == nil {
						out = append(out, fmt.Sprintf("%.0f GiB RAM", float64(kib)/(1<<20)))
					}
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			out = append(out, "load average at start "+strings.Join(f[:3], " "))
		}
	}
	return out
}
