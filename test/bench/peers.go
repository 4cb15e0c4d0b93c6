package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Item 6: the two JavaScript actions users switch from, run with node exactly
// as the runner runs a JavaScript action, side by side with this action on one
// moto (and, for detection latency, on the fake CloudFormation's slow stacks):
// configure-aws-credentials for the credentials step and
// aws-cloudformation-github-deploy for the deploy. Their unmodified bundles are
// in shared/peers beside the repository (shared/peers/README.md).

// motoTemplate is the stack item 6 deploys on moto.
const motoTemplate = "test/image/testdata/stack.yaml"

// peerPollPeriod is aws-cloudformation-github-deploy's fixed DescribeStacks
// interval while a stack operation runs.
const peerPollPeriod = 10 * time.Second

// jsAction is a peer JavaScript action's bundle; Bundle is empty when missing.
type jsAction struct {
	Name, Version, Bundle, Missing string
	// Defaults are the action.yml defaults the runner passes as INPUT_ variables
	// whether or not the workflow sets them (read from the peer's action.yml at
	// the version in shared/peers/README.md).
	Defaults map[string]string
}

func (a jsAction) ok() bool { return a.Bundle != "" }

func (a jsAction) label() string { return a.Name + " " + a.Version }

var (
	jsPeersOnce     sync.Once
	jsCAC, jsDeploy jsAction
)

// jsPeers finds the two bundles once: in $BENCH_PEERS_DIR, or in shared/peers
// beside the repository (where CI and the developers' machines have it).
func (b *bench) jsPeers() (cac, deploy jsAction) {
	jsPeersOnce.Do(func() {
		dir := os.Getenv("BENCH_PEERS_DIR")
		if dir == "" {
			dir = filepath.Join(filepath.Dir(b.root), "shared", "peers")
		}
		jsCAC = findJSAction(dir, "configure-aws-credentials", map[string]string{"audience": "sts.amazonaws.com"})
		jsDeploy = findJSAction(dir, "aws-cloudformation-github-deploy", map[string]string{
			"mode": "create-and-execute", "capabilities": "CAPABILITY_IAM", "no-execute-changeset": "false",
			"no-delete-failed-changeset": "false", "fail-on-empty-changeset": "false", "disable-rollback": "false",
			"termination-protection": "false", "include-nested-stacks-change-set": "0"})
		for _, a := range []jsAction{jsCAC, jsDeploy} {
			switch {
			case !a.ok():
				b.note("%s: its item 6 measurements are skipped", a.Missing)
			case !b.tools.node.ok():
				b.note("%s needs node, which is missing: its item 6 measurements are skipped", a.Name)
			default:
				fmt.Printf("  peer %s: node %s\n", a.label(), a.Bundle)
			}
		}
	})
	return jsCAC, jsDeploy
}

func findJSAction(dir, name string, defaults map[string]string) jsAction {
	a := jsAction{Name: name, Defaults: defaults}
	bundle := filepath.Join(dir, name, "dist", "index.js")
	if _, err := os.Stat(bundle); err != nil {
		a.Missing = fmt.Sprintf("%s's bundle is missing (%s)", name, bundle)
		return a
	}
	a.Bundle, a.Version = bundle, "(version unknown)"
	if raw, err := os.ReadFile(filepath.Join(dir, name, "package.json")); err == nil {
		var pkg struct{ Version string }
		if json.Unmarshal(raw, &pkg) == nil && pkg.Version != "" {
			a.Version = "v" + pkg.Version
		}
	}
	return a
}

// jsCommand runs a peer's bundle with node as the runner runs a JavaScript
// action: the job's environment plus every input as INPUT_<NAME> (hyphens
// kept), defaults first.
func (b *bench) jsCommand(a jsAction, j *job, env, inputs map[string]string, timeout time.Duration) command {
	e := merge(env)
	for k, v := range merge(a.Defaults, inputs) {
		e["INPUT_"+strings.ToUpper(k)] = v
	}
	return command{Path: b.tools.node.Path, Args: []string{a.Bundle}, Dir: j.Workspace, Env: environ(e), Timeout: timeout}
}

// peerDeployCommand is aws-cloudformation-github-deploy deploying template as
// stack with the user's keys in the environment, as a configure-aws-credentials
// step before it would leave them.
func (b *bench) peerDeployCommand(j *job, endpoint, template, stack, params string, timeout time.Duration) command {
	_, dep := b.jsPeers()
	env := merge(j.env(endpoint), map[string]string{"AWS_ACCESS_KEY_ID": userKeyID, "AWS_SECRET_ACCESS_KEY": userSecret,
		"AWS_REGION": region, "AWS_DEFAULT_REGION": region})
	return b.jsCommand(dep, j, env, map[string]string{"name": stack, "template": template,
		"parameter-overrides": params, "role-arn": roleARN(cfnRole)}, timeout)
}

// peers runs the CPU-sensitive parts of item 6 (credentials steps and deploys
// on moto), one process at a time.
func (b *bench) peers(ctx context.Context) error {
	fmt.Println("\n== 6. Against the JavaScript actions (configure-aws-credentials, aws-cloudformation-github-deploy) on moto ==")
	cac, dep := b.jsPeers()
	if !b.tools.moto.ok() {
		b.add(row{Item: "6", Measure: "credentials steps and deploys on moto", Action: "not run: moto missing"})
		return nil
	}
	motoURL, stop, err := startMoto(ctx, b.tools.moto.Path, b.tmp)
	if err != nil {
		b.note("moto did not start for item 6 (%v); its moto rows are skipped", err)
		return nil
	}
	defer stop()
	counter, err := startCounter(motoURL)
	if err != nil {
		return err
	}
	defer counter.Close()

	usable := func(a jsAction) bool { return a.ok() && b.tools.node.ok() }
	if err := b.peerCredentials(ctx, counter, "stored keys", usable(cac), cac); err != nil {
		return err
	}
	if err := b.peerCredentials(ctx, counter, "GitHub OIDC", usable(cac), cac); err != nil {
		return err
	}
	return b.peerDeploys(ctx, counter, usable(dep), dep)
}

// peerEventsNote explains the deploy peer's figures on moto and the fake.
const peerEventsNote = "aws-cloudformation-github-deploy streams events with DescribeEvents, which neither moto 5.2.1 nor the fake " +
	"CloudFormation serves (the rows count those calls as failed); after each failure its event monitor sleeps 5 s, then 10 s, 15 s, and " +
	"node exits only when that timer has fired. So part of its deploy time on moto and of its exit latency on the fake would not occur " +
	"against CloudFormation, where the monitor polls every 2 s, growing to 30 s while no events come (node waits for that timer too). Its stack waiter calls " +
	"DescribeStacks every 10 s: the latency rows also give when that call saw the end."

// Explanations for missed item 6 targets.
const (
	whyPeerSpeed = "The action's time on moto is its start-up (~10 ms, item 5) and one STS call; the peer's is node starting and loading " +
		"a 3 MB bundle with the AWS SDK for JavaScript, then its own STS calls (the row counts them). The two run back to back in each " +
		"round and the ratio is taken per round, but other work on the machine slows the short runs of the action the most."
)

// peerCredentials measures one credential source on moto: this action,
// configure-aws-credentials and (stored keys only) the seed script, in
// interleaved rounds, with the STS calls each run made.
func (b *bench) peerCredentials(ctx context.Context, counter *awsCounter, source string, peerOK bool, cac jsAction) error {
	j, err := newJob(b.tmp, "peers-"+strings.ReplaceAll(source, " ", "-"))
	if err != nil {
		return err
	}
	env := j.env(counter.URL())
	var cs []contender
	var oidcCount func() int
	var tokenWait time.Duration
	switch source {
	case "stored keys":
		cs = append(cs, contender{"this action", actionCommand(b.bin, j, env, keysInputs(deployRole), 60*time.Second)})
		if peerOK {
			cs = append(cs, contender{cac.label(), b.jsCommand(cac, j, env, map[string]string{"aws-region": region,
				"aws-access-key-id": userKeyID, "aws-secret-access-key": userSecret, "role-to-assume": roleARN(deployRole)}, b.peerCap)})
		}
		cs = append(cs, b.contenders(j, counter.URL(), deployRole, 60*time.Second)[1:]...)
	default:
		// The fake's GitHub OIDC issuer mints the token; moto accepts any web identity token.
		issuer := newFakeSTS()
		defer issuer.Close()
		oidcCount = func() int { return issuer.Count("oidc", "") }
		tokenWait = tokenLatency(ctx, issuer.OIDCRequestURL(), issuer.OIDCRequestToken())
		b.note("item 6: the fake GitHub OIDC issuer answers a token request in %s (median of 5; it signs each RS256 token in the benchmark's process)", ms(tokenWait))
		env = merge(env, map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": issuer.OIDCRequestURL(),
			"ACTIONS_ID_TOKEN_REQUEST_TOKEN": issuer.OIDCRequestToken()})
		in := map[string]string{"aws-region": region, "role-to-assume": roleARN(deployRole)}
		cs = append(cs, contender{"this action", actionCommand(b.bin, j, env, in, 60*time.Second)})
		if peerOK {
			cs = append(cs, contender{cac.label(), b.jsCommand(cac, j, env, in, b.peerCap)})
		}
	}

	type tally struct {
		runs   []proc
		calls  string // the STS calls of the last run, e.g. "3 (GetCallerIdentity×2, AssumeRole×1)"
		tokens int
		failed bool
	}
	t := make([]tally, len(cs))
	ratios := make([][]float64, len(cs))
	rounds := b.rounds
	if b.quick {
		rounds = 2 // the peers still run: CI proves the path works
	}
	for round := -1; round < rounds; round++ {
		walls := make([]time.Duration, len(cs))
		for k := range cs {
			i := (k + max(round, 0)) % len(cs)
			if t[i].failed {
				continue
			}
			if err := j.reset(); err != nil {
				return err
			}
			before, tokensBefore := counter.snapshot(), 0
			if oidcCount != nil {
				tokensBefore = oidcCount()
			}
			p, err := run(ctx, cs[i].cmd)
			if err != nil {
				return err
			}
			if !p.OK() || !j.hasCredentials() {
				if i == 0 {
					return fmt.Errorf("the action failed with %s on moto (exit %d):\n%s", source, p.Code, tail(p.Out, 15))
				}
				b.note("item 6: %s failed with %s on moto (exit %d, timed out %v), so it is left out: %s", cs[i].name, source, p.Code, p.TimedOut,
					strings.ReplaceAll(tail(p.Out, 3), "\n", " / "))
				t[i].failed = true
				continue
			}
			t[i].calls = counter.since(before, "sts")
			if oidcCount != nil {
				t[i].tokens = oidcCount() - tokensBefore
			}
			walls[i] = p.Wall
			if round >= 0 {
				t[i].runs = append(t[i].runs, p)
			}
		}
		if round >= 0 {
			for i := 1; i < len(cs); i++ {
				if !t[i].failed && walls[i] > 0 && walls[0] > 0 {
					ratios[i] = append(ratios[i], float64(walls[i])/float64(walls[0]))
				}
			}
		}
	}

	describe := func(i int) string {
		s := fmt.Sprintf("%s, %s peak; STS calls: %s", ms(median(durations(t[i].runs))), mib(maxRSS(t[i].runs)), t[i].calls)
		if oidcCount != nil {
			s += fmt.Sprintf("; %d OIDC token request(s)", t[i].tokens)
		}
		return s
	}
	call := "AssumeRoleWithWebIdentity"
	if oidcCount == nil {
		call = "AssumeRole"
	}
	measure := fmt.Sprintf("credentials step, %s → %s on moto: start to `GITHUB_ENV`, median of %d", source, call, len(t[0].runs))
	action := describe(0)
	if !peerOK {
		missing := cac.Missing
		if missing == "" {
			missing = "node is missing"
		}
		b.add(row{Item: "6", Measure: measure, Action: action, Peer: "configure-aws-credentials: not run (" + missing + ")"})
	}
	for i := 1; i < len(cs); i++ {
		isCAC := peerOK && i == 1
		target, want := "≥ 25× faster", 25.0
		if isCAC {
			target, want = "≥ 10× faster", 10.0
		}
		if t[i].failed {
			b.add(row{Item: "6", Measure: measure, Action: action, Peer: cs[i].name + ": failed (see the notes)", Target: target, Met: "–"})
			continue
		}
		rt := median(ratios[i])
		why := whyPeerSpeed
		if oidcCount != nil {
			why += fmt.Sprintf(" With OIDC both also wait for the same token request to the fake issuer (%s each here). The OIDC ratio "+
				"moved between 9.0× and 11× over three full runs on 2026-11-29, so a miss is within this machine's run-to-run spread; "+
				"dropping the confirming GetCallerIdentity would save one moto call (~7 ms) at the cost of the identity check the action "+
				"keeps (SECURITY.md, guarantee 7).", ms(tokenWait))
		}
		b.add(row{Item: "6", Measure: measure, Action: action, Peer: cs[i].name + ": " + describe(i), Ratio: ratio(rt),
			Target: target, Met: yesNo(rt >= want), Why: why})
		if isCAC {
			act, peer := maxRSS(t[0].runs), maxRSS(t[i].runs)
			b.add(row{Item: "6", Measure: fmt.Sprintf("credentials step, %s on moto: peak RSS (largest run)", source),
				Action: mib(act), Peer: cs[i].name + ": " + mib(peer), Ratio: ratio(float64(peer) / float64(act)),
				Target: "≤ ⅓ of its peak", Met: yesNo(act*3 <= peer)})
		}
	}
	return nil
}

// tokenLatency is the median time of 5 ID-token requests to the issuer.
func tokenLatency(ctx context.Context, url, bearer string) time.Duration {
	var ds []time.Duration
	for range 5 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"&audience=sts.amazonaws.com", nil)
		if err != nil {
			return 0
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // only the time matters
		resp.Body.Close()
		ds = append(ds, time.Since(start))
	}
	return median(ds)
}

// peerDeploys: create, update and no-op of a stack on moto, this action (its
// credentials step included) against aws-cloudformation-github-deploy (its
// deploy step alone), in rounds, each on stacks of its own.
func (b *bench) peerDeploys(ctx context.Context, counter *awsCounter, peerOK bool, dep jsAction) error {
	// The image test's queue stack: moto creates, updates and replaces it
	// cleanly (on examples/templates/app.yaml's bucket, moto's UpdateStack
	// fails with a 500 that both tools' SDKs then retry).
	const template = "stack.yaml"
	body, err := os.ReadFile(filepath.Join(b.root, motoTemplate))
	if err != nil {
		return err
	}
	rounds := 3
	if b.quick {
		rounds = 1
	}
	phases := []string{"create", "update", "no-op"}
	type tally struct {
		runs   []proc
		calls  string
		failed string // the first failure, noted once
	}
	// [phase][0 = action, 1 = peer]
	res := make([][2]tally, len(phases))
	ratios := make([][]float64, len(phases))
	j, err := newJob(b.tmp, "peers-deploy")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(j.Workspace, template), body, 0o644); err != nil {
		return err
	}
	timeout := 5 * time.Minute
	for r := 0; r < rounds; r++ {
		for pi, phase := range phases {
			tag := fmt.Sprintf("r%d-%s", r, map[bool]string{true: "a", false: "b"}[phase == "create"])
			// Each tool's stack names its own queue.
			cmds := []command{actionCommand(b.bin, j, j.env(counter.URL()), merge(keysInputs(deployRole), map[string]string{
				"stack-name": fmt.Sprintf("bench-action-%d", r), "template": template,
				"cloudformation-role-arn": roleARN(cfnRole), "parameter-overrides": "QueueSuffix=action-" + tag}), timeout)}
			if peerOK {
				cmds = append(cmds, b.peerDeployCommand(j, counter.URL(), template, fmt.Sprintf("bench-peer-%d", r), "QueueSuffix=peer-"+tag, timeout))
			}
			walls := [2]time.Duration{}
			for k := range cmds {
				i := (k + r) % len(cmds) // alternate who goes first
				if res[pi][i].failed != "" {
					continue
				}
				if err := j.reset(); err != nil {
					return err
				}
				before := counter.snapshot()
				p, err := run(ctx, cmds[i])
				if err != nil {
					return err
				}
				if !p.OK() {
					if i == 0 {
						return fmt.Errorf("the action failed the %s deploy on moto (exit %d):\n%s", phase, p.Code, tail(p.Out, 20))
					}
					res[pi][i].failed = firstLine(errorLine(p.Out))
					b.note("item 6: %s failed the %s deploy on moto (exit %d, timed out %v): %s", dep.label(), phase, p.Code, p.TimedOut,
						strings.ReplaceAll(tail(p.Out, 4), "\n", " / "))
					continue
				}
				res[pi][i].calls = counter.since(before, "cloudformation")
				res[pi][i].runs = append(res[pi][i].runs, p)
				walls[i] = p.Wall
			}
			if walls[0] > 0 && walls[1] > 0 {
				ratios[pi] = append(ratios[pi], float64(walls[1])/float64(walls[0]))
			}
		}
	}
	for pi, phase := range phases {
		a := res[pi][0]
		measure := fmt.Sprintf("deploy on moto, %s (an SQS queue stack): start to exit, median of %d; this action includes its credentials step", phase, len(a.runs))
		action := fmt.Sprintf("%s, %s peak; CloudFormation calls: %s", ms(median(durations(a.runs))), mib(maxRSS(a.runs)), a.calls)
		r := row{Item: "6", Measure: measure, Action: action}
		switch p := res[pi][1]; {
		case !peerOK:
			missing := dep.Missing
			if missing == "" {
				missing = "node is missing"
			}
			r.Peer = "aws-cloudformation-github-deploy: not run (" + missing + ")"
		case p.failed != "":
			r.Peer = fmt.Sprintf("%s: failed on moto: %s", dep.label(), p.failed)
		default:
			rt := median(ratios[pi])
			r.Peer = fmt.Sprintf("%s (deploy step only): %s, %s peak; CloudFormation calls: %s", dep.label(),
				ms(median(durations(p.runs))), mib(maxRSS(p.runs)), p.calls)
			r.Ratio = ratio(rt)
		}
		b.add(r)
	}
	return nil
}

// errorLine is the first ::error:: line of a run's output, or its last line.
func errorLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "::error::") {
			return strings.TrimPrefix(l, "::error::")
		}
	}
	return tail(out, 1)
}

// peersSlow runs the waiting parts of item 6 side by side: detection latency
// on the fake CloudFormation's scripted slow stacks, and time to fail on an
// unreachable STS.
func (b *bench) peersSlow(ctx context.Context) ([]row, error) {
	cac, dep := b.jsPeers()
	var (
		wg          sync.WaitGroup
		latRows     []row
		failRows    []row
		latErr, err error
	)
	wg.Add(2)
	go func() { defer wg.Done(); latRows, latErr = b.peerLatency(ctx, dep) }()
	go func() { defer wg.Done(); failRows, err = b.peerTimeToFail(ctx, cac, dep) }()
	wg.Wait()
	rows := append(latRows, failRows...)
	for _, r := range rows {
		fmt.Printf("  [6] %s: %s | %s | %s | target %s: %s\n", r.Measure, r.Action, r.Peer, r.Ratio, r.Target, r.Met)
	}
	if latErr != nil {
		return rows, latErr
	}
	return rows, err
}

// peerLatency: detection latency on the fake's scripted timelines, this action
// against aws-cloudformation-github-deploy, each run with fakes of its own.
func (b *bench) peerLatency(ctx context.Context, dep jsAction) ([]row, error) {
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * b.deployScale) }
	cases := []deployCase{{scale(3 * time.Second), scale(20 * time.Second)}}
	runs := 1
	if !b.quick {
		cases = append(cases, deployCase{scale(3 * time.Second), scale(120 * time.Second)})
		runs = 3
	}
	peerOK := dep.ok() && b.tools.node.ok()
	type lane struct {
		caseIdx int
		who     deployer
		dc      deployCase
		res     deployResult
		err     error
	}
	// The peer polls DescribeStacks every 10 s from ExecuteChangeSet
	// (waitUntilStackOperationComplete, minDelay 10, in its dist/index.js), so
	// on a timeline of whole tens of seconds it would always land at the same
	// phase. Run k of both tools lengthens the stack operation by k/runs of
	// that period, which spreads the peer's lag over its range.
	var lanes []*lane
	for ci, c := range cases {
		for k := 0; k < runs; k++ {
			dc := c
			dc.stackOp += scale(peerPollPeriod * time.Duration(k) / time.Duration(runs))
			lanes = append(lanes, &lane{caseIdx: ci, who: deployByAction, dc: dc})
			if peerOK {
				lanes = append(lanes, &lane{caseIdx: ci, who: deployByPeer, dc: dc})
			}
		}
	}
	var wg sync.WaitGroup
	for n, l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.res, l.err = b.deployOnce(ctx, fmt.Sprintf("peer-latency-%d", n), l.who, l.dc)
		}()
	}
	wg.Wait()
	if peerOK {
		b.note("item 6: %s", peerEventsNote)
	}
	var rows []row
	for ci, c := range cases {
		var acts, peers, peerSeen []time.Duration
		var peerCalls string
		var peerErr error
		for _, l := range lanes {
			switch {
			case l.caseIdx != ci:
			case l.err != nil && l.who == deployByAction:
				return rows, l.err
			case l.err != nil:
				peerErr = l.err
			case l.who == deployByAction:
				acts = append(acts, l.res.latency)
			default:
				peers = append(peers, l.res.latency)
				if l.res.seen >= 0 {
					peerSeen = append(peerSeen, l.res.seen)
				}
				peerCalls = fmt.Sprintf("%d calls (%s)", l.res.calls, l.res.breakdown())
			}
		}
		lat := median(acts)
		spread := ""
		if runs > 1 {
			spread = fmt.Sprintf(" + 0–%s over the runs", shortDur(scale(peerPollPeriod*time.Duration(runs-1)/time.Duration(runs))))
		}
		r := row{Item: "6", Measure: fmt.Sprintf("deploy on the fake CloudFormation (%s%s): detection latency, stack terminal → exit; median of %d", c, spread, len(acts)),
			Action: ms(lat), Target: "< 2 s (median)", Met: yesNo(lat < 2*time.Second), Why: whyLatency}
		switch {
		case !peerOK:
			r.Peer = "aws-cloudformation-github-deploy: not run (" + firstNonEmpty(dep.Missing, "node is missing") + ")"
		case len(peers) == 0:
			r.Peer = fmt.Sprintf("%s: failed (see the notes)", dep.label())
			b.note("item 6: %s on the fake CloudFormation (%s): %v", dep.label(), c, peerErr)
		default:
			pl := median(peers)
			r.Peer = fmt.Sprintf("%s: %s (median of %d; range %s–%s; its DescribeStacks saw the end after %s, median); %s", dep.label(), ms(pl), len(peers),
				ms(percentile(peers, 0)), ms(percentile(peers, 100)), ms(median(peerSeen)), peerCalls)
			r.Ratio = ratio(float64(pl) / float64(lat))
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// peerTimeToFail: an unreachable STS (refused, hanging) for this action and
// configure-aws-credentials with default inputs, and the same endpoint for
// aws-cloudformation-github-deploy (its first CloudFormation call).
func (b *bench) peerTimeToFail(ctx context.Context, cac, dep jsAction) ([]row, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	hang, err := startHangingServer()
	if err != nil {
		return nil, err
	}
	defer hang.Close()
	budget := 30 * time.Second
	inputs := keysInputs(deployRole)
	peerCap := b.peerCap
	if b.quick {
		budget = 3 * time.Second
		inputs["action-timeout-s"] = "3"
		peerCap = 10 * time.Second
	}
	cases := []struct{ name, endpoint string }{
		{"connection refused", fmt.Sprintf("http://127.0.0.1:%d", port)},
		{"hanging server", hang.URL()},
	}
	type lane struct {
		caseIdx int
		name    string
		cmd     command
	}
	var lanes []lane
	for ci, c := range cases {
		j, err := newJob(b.tmp, fmt.Sprintf("peer-unreach-%d", ci))
		if err != nil {
			return nil, err
		}
		env := j.env(c.endpoint)
		lanes = append(lanes, lane{ci, "this action", actionCommand(b.bin, j, env, inputs, budget+30*time.Second)})
		if !b.tools.node.ok() {
			continue
		}
		if cac.ok() {
			jc, err := newJob(b.tmp, fmt.Sprintf("peer-unreach-%d-cac", ci))
			if err != nil {
				return nil, err
			}
			lanes = append(lanes, lane{ci, cac.label(), b.jsCommand(cac, jc, jc.env(c.endpoint), map[string]string{"aws-region": region,
				"aws-access-key-id": userKeyID, "aws-secret-access-key": userSecret, "role-to-assume": roleARN(deployRole)}, peerCap)})
		}
		if dep.ok() {
			jd, err := newJob(b.tmp, fmt.Sprintf("peer-unreach-%d-deploy", ci))
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(jd.Workspace, "app.yaml"), []byte("Resources: {}\n"), 0o644); err != nil {
				return nil, err
			}
			lanes = append(lanes, lane{ci, dep.label() + " (its first CloudFormation call, same endpoint)",
				b.peerDeployCommand(jd, c.endpoint, "app.yaml", stackName, "Env=dev", peerCap)})
		}
	}
	cmds := make([]command, len(lanes))
	for i, l := range lanes {
		cmds[i] = l.cmd
	}
	ps, err := runAll(ctx, cmds)
	if err != nil {
		return nil, err
	}
	var rows []row
	for ci, c := range cases {
		var act proc
		for i, l := range lanes {
			if l.caseIdx == ci && l.name == "this action" {
				act = ps[i]
			}
		}
		if act.OK() || act.TimedOut {
			return nil, fmt.Errorf("the action on an unreachable STS (%s): exit %d, timed out %v:\n%s", c.name, act.Code, act.TimedOut, tail(act.Out, 15))
		}
		target := "≤ 30 s (retry budget), +0.5 s process overhead"
		if b.quick {
			target = "≤ 3 s (quick: action-timeout-s 3), +0.5 s process overhead"
		}
		base := row{Item: "6", Measure: fmt.Sprintf("time to fail, unreachable STS (%s), default inputs", c.name),
			Action: ms(act.Wall) + " (" + attemptsOf(act.Out) + ")", Target: target, Met: yesNo(act.Wall <= budget+500*time.Millisecond)}
		n := 0
		for i, l := range lanes {
			if l.caseIdx != ci || l.name == "this action" {
				continue
			}
			n++
			r, p := base, ps[i]
			switch {
			case p.TimedOut:
				r.Peer = fmt.Sprintf("%s: still retrying at %s (killed)", l.name, ms(peerCap))
				r.Ratio = "> " + ratio(float64(peerCap)/float64(act.Wall))
			case p.OK():
				r.Peer = fmt.Sprintf("%s: exited 0 after %s (unexpected)", l.name, ms(p.Wall))
			default:
				r.Peer = fmt.Sprintf("%s: %s", l.name, ms(p.Wall))
				r.Ratio = ratio(float64(p.Wall) / float64(act.Wall))
			}
			rows = append(rows, r)
		}
		if n == 0 {
			base.Peer = "configure-aws-credentials: not run (" + firstNonEmpty(cac.Missing, "node is missing") + ")"
			rows = append(rows, base)
		}
	}
	return rows, nil
}
