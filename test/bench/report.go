package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// row is one line of the results table.
type row struct {
	Item    string // "1" ... "5"
	Measure string
	Action  string // this action's result
	Peer    string // the peer's result, naming the peer
	Ratio   string // peer / action, pair by pair in the same run
	Target  string
	Met     string // "met", "**not met**", or "–" where there is no target
	// Why explains a target that is not met and what would fix it; it is
	// printed only then.
	Why string
}

func (b *bench) add(r row) {
	b.rows = append(b.rows, r)
	fmt.Printf("  [%s] %s: %s | %s | %s | target %s: %s\n", r.Item, r.Measure, r.Action, r.Peer, r.Ratio, r.Target, r.Met)
}

func (b *bench) table() string {
	rows := slices.Clone(b.rows)
	slices.SortStableFunc(rows, func(x, y row) int { return strings.Compare(x.Item, y.Item) })
	var s strings.Builder
	s.WriteString("| # | Measure | This action | Peer | Ratio (peer ÷ action) | Target | Result |\n")
	s.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s | %s | %s |\n", r.Item, cell(r.Measure), cell(r.Action), cell(r.Peer), cell(r.Ratio), cell(r.Target), cell(r.Met))
	}
	return s.String()
}

func cell(s string) string {
	if s == "" {
		return "–"
	}
	return strings.ReplaceAll(s, "|", "\\|")
}

func (b *bench) report() error {
	elapsed := time.Since(b.start)
	mode := "full"
	if b.quick {
		mode = "quick (scaled down: fewer rounds, 25 jobs, deploy durations ×0.1; timings are not judged)"
	}
	var s strings.Builder
	s.WriteString("# Benchmark results\n\n")
	s.WriteString("<!-- Written by `go run ./test/bench`; do not edit by hand. -->\n\n")
	fmt.Fprintf(&s, "Run on %s in %s mode; the run took %s.\n\n", b.start.UTC().Format("2006-01-02 15:04 MST"), mode, elapsed.Round(time.Second))
	machine := b.machine
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(la)); len(f) >= 3 {
			machine = append(slices.Clone(machine), "at the end "+strings.Join(f[:3], " ")+" (other work on the machine adds noise; ratios are taken pair by pair to cancel most of it)")
		}
	}
	s.WriteString("- **Machine:** " + strings.Join(machine, "; ") + "\n")
	fmt.Fprintf(&s, "- **Go:** %s\n", runtime.Version())
	var vs []string
	for _, t := range []tool{b.tools.cliV1, b.tools.cliV2, b.tools.jq, b.tools.node, b.tools.moto, b.tools.bash} {
		if t.ok() {
			vs = append(vs, fmt.Sprintf("%s `%s` (%s)", t.Name, t.Version, t.Path))
		} else {
			vs = append(vs, t.Name+": missing")
		}
	}
	for _, a := range []jsAction{jsCAC, jsDeploy} {
		if a.ok() {
			vs = append(vs, fmt.Sprintf("%s `%s` (%s, run with node)", a.Name, a.Version, a.Bundle))
		}
	}
	s.WriteString("- **Peers:** " + strings.Join(vs, "; ") + "\n")
	s.WriteString("- **Reproduce:** `go run ./test/bench` (full, a few minutes) or `go run ./test/bench -quick` (CI); see [test/bench](.) for the method.\n\n")
	s.WriteString(b.table())
	if why := b.whyNotMet(); why != "" {
		s.WriteString("\n## Targets not met: why, and what would fix them\n\n" + why)
	}
	s.WriteString("\n## How it was measured\n\n")
	for _, l := range method {
		s.WriteString("- " + l + "\n")
	}
	if b.microOut != "" {
		s.WriteString("\n## Microbenchmarks\n\nOne run each (`go test -bench . -benchtime 300ms`); compare commits with [micro.sh](micro.sh) and benchstat.\n\n```\n")
		s.WriteString(b.microOut + "\n```\n")
	}
	if len(b.notes) > 0 {
		s.WriteString("\n## Notes from this run\n\n")
		for _, n := range b.notes {
			s.WriteString("- " + n + "\n")
		}
	}
	fmt.Println()
	fmt.Println(b.table())
	fmt.Printf("benchmark finished in %s\n", elapsed.Round(time.Second))
	if b.out != "" {
		if err := os.WriteFile(b.out, []byte(s.String()), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", b.out, err)
		}
		fmt.Printf("wrote %s\n", b.out)
	}
	return nil
}

// whyNotMet lists the explanations of the targets missed in this run, once each.
func (b *bench) whyNotMet() string {
	var s strings.Builder
	seen := map[string]bool{}
	for _, r := range b.rows {
		if r.Met != yesNo(false) || r.Why == "" || seen[r.Why] {
			continue
		}
		seen[r.Why] = true
		fmt.Fprintf(&s, "- **%s** (item %s): %s\n", r.Measure, r.Item, r.Why)
	}
	return s.String()
}

// method explains the measurements once, under the table.
var method = []string{
	"Every process is started the way GitHub's runner starts a Docker action (inputs as `INPUT_<NAME>` with hyphens kept, `GITHUB_ENV`/`GITHUB_OUTPUT` as existing files, `AWS_CONFIG_FILE=/dev/null`, AWS behind `AWS_ENDPOINT_URL`). The action is the binary built as the Dockerfile builds it (`CGO_ENABLED=0 -trimpath -ldflags \"-s -w\"`), run directly (no container).",
	"Wall time is process start to exit (for the credentials step: until the credentials are in `GITHUB_ENV`), measured in Go; peak RSS is GNU time's `%M` for the child, which covers the largest of its descendants too (the AWS CLI under the seed script). Not `wait4` in the benchmark itself: Go starts children with vfork and exec, and Linux then counts the parent's own high-water RSS in the child's `ru_maxrss`, which put a floor of the benchmark's size (13–23 MiB) under the action's figure until 2026-11-29.",
	"Tools are run interleaved: each round runs every tool once, in an order rotated per round, and ratios are taken pair by pair within a round; the table shows medians. One warm-up run per tool is not counted.",
	"The seed script is [seed-assume.sh](seed-assume.sh) (`aws sts assume-role` + `jq` writing `GITHUB_ENV`), run with each CLI. The AWS CLI v1 is run from its real path, not pyenv's shim.",
	"The action makes one STS call (AssumeRole; the account and role are confirmed from its answer), as the seed script does.",
	"Item 6 runs the JavaScript actions users switch from, unmodified, from shared/peers: configure-aws-credentials and aws-cloudformation-github-deploy, each `node dist/index.js` with the job's environment and every input (with action.yml's defaults) as `INPUT_<NAME>`, as the runner runs a JavaScript action (they declare node24; node 20 runs them). All tools of item 6 share one moto behind a counting proxy on 127.0.0.1, which gives the STS and CloudFormation calls per run; the OIDC token comes from the fake's GitHub issuer (moto accepts any web identity token). In the deploy rows this action's time includes its credentials step (one STS call), the peer's is its deploy step alone, with keys in the environment. Detection latency uses the fake CloudFormation's scripted stacks as in item 3.",
	"Time to fail: AccessDenied is an OIDC token whose `sub` the role's trust policy does not match (AssumeRoleWithWebIdentity); for the seed script, a role that does not trust the IAM user. Unreachable STS is a closed port on 127.0.0.1 (connection refused) and a server that accepts and never answers.",
	"Deploy: the fake CloudFormation runs change sets and stack operations on a scripted real-time timeline; detection latency is the process exit minus the moment the fake's stack reached its terminal state (`TerminalAt`). Each run has its own fake, so its calls are its own. Calls/min counts CloudFormation calls from ExecuteChangeSet to exit. The CLI is `aws cloudformation deploy` v1, whose waiters poll the change set every 5 s and the stack every 30 s.",
	"Matrix: N processes start at once against one fake STS; each makes AssumeRole, retried by the action with the SDK's full-jitter exponential backoff. Retry delays are the gaps between a job's failed call and its next call.",
	"Image size is an estimate: the stripped binary + `/etc/ssl/certs/ca-certificates.crt` + ~2 MB for the distroless/static base (which already carries certificates, so this overstates it a little). No image is built here.",
}
