package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
)

// Item 2: how long until a run that cannot succeed gives up, with default
// inputs: AccessDenied (no retries expected) and an unreachable STS (retries
// within the documented 30 s budget).
func (b *bench) timeToFail(ctx context.Context) ([]row, error) {
	var rows []row
	add := func(r row) {
		r.Item = "2"
		rows = append(rows, r)
		fmt.Printf("  [2] %s: %s | %s | target %s: %s\n", r.Measure, r.Action, r.Peer, r.Target, r.Met)
	}

	// AccessDenied: the role trusts another repository's OIDC tokens, or
	// (for the seed script, which uses keys) another IAM user.
	srv := newFakeSTS()
	defer srv.Close()
	srv.AddRole(fakeaws.Role{Name: "deploy-role-other-repo", NoUserTrust: true, Audience: "sts.amazonaws.com",
		SubPatterns: []string{"repo:other-org/other-repo:*"}})
	srv.AddRole(fakeaws.Role{Name: "deploy-role-other-user", TrustedUsers: []string{"someone-else"}, AllowTagSession: true})
	j, err := newJob(b.tmp, "denied")
	if err != nil {
		return nil, err
	}
	env := merge(j.env(srv.URL()), map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL": srv.OIDCRequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN": srv.OIDCRequestToken()})
	oidc := actionCommand(b.bin, j, env, map[string]string{"aws-region": region, "role-to-assume": roleARN("deploy-role-other-repo")}, 60*time.Second)
	peers := b.contenders(j, srv.URL(), "deploy-role-other-user", 60*time.Second)[1:]
	var acts []proc
	peerRuns := make([][]proc, len(peers))
	var attempts []int
	for i := -1; i < b.failRounds; i++ {
		before := srv.Count("sts", "AssumeRoleWithWebIdentity")
		p, err := run(ctx, oidc)
		if err != nil {
			return nil, err
		}
		if p.Code != 1 || !strings.Contains(p.Out, "AccessDenied") {
			return nil, fmt.Errorf("the action on a sub mismatch exited %d without AccessDenied:\n%s", p.Code, tail(p.Out, 15))
		}
		if i < 0 {
			continue
		}
		acts = append(acts, p)
		attempts = append(attempts, srv.Count("sts", "AssumeRoleWithWebIdentity")-before)
		if i >= max(1, b.failRounds/2) {
			continue // the CLI is slow and deterministic here: a few runs suffice
		}
		for k, c := range peers {
			p, err := run(ctx, c.cmd)
			if err != nil {
				return nil, err
			}
			if p.OK() {
				return nil, fmt.Errorf("%s succeeded on a role that does not trust its user:\n%s", c.name, tail(p.Out, 10))
			}
			peerRuns[k] = append(peerRuns[k], p)
		}
	}
	med := median(durations(acts))
	maxAttempts := 0
	for _, a := range attempts {
		maxAttempts = max(maxAttempts, a)
	}
	r := row{Measure: fmt.Sprintf("time to fail on AccessDenied (OIDC sub mismatch), median of %d", len(acts)),
		Action: fmt.Sprintf("%s, %d STS call(s) per run", ms(med), maxAttempts), Target: "< 1 s, no retries",
		Met: yesNo(med < time.Second && maxAttempts == 1)}
	if len(peers) == 0 {
		r.Peer = "seed script: not run (CLI or jq missing)"
		add(r)
	}
	for k, c := range peers {
		r.Peer = fmt.Sprintf("%s (role not trusting the user): %s", c.name, ms(median(durations(peerRuns[k]))))
		r.Ratio = ratio(float64(median(durations(peerRuns[k]))) / float64(med))
		add(r)
	}

	unreach, err := b.unreachable(ctx)
	for _, r := range unreach {
		add(r)
	}
	return rows, err
}

// unreachable measures a refused connection and a server that never answers.
func (b *bench) unreachable(ctx context.Context) ([]row, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	refused := "http://127.0.0.1:" + strconv.Itoa(port)
	hang, err := startHangingServer()
	if err != nil {
		return nil, err
	}
	defer hang.Close()

	budget := 30 * time.Second
	inputs := keysInputs(deployRole)
	if b.quick {
		budget = 3 * time.Second
		inputs["action-timeout-s"] = "3"
	}
	cases := []struct{ name, endpoint string }{
		{"connection refused (closed 127.0.0.1 port)", refused},
		{"hanging server (accepts, never answers)", hang.URL()},
	}
	type lane struct {
		caseIdx int
		peer    string // "" for the action
		cmd     command
		p       proc
	}
	var lanes []*lane
	for ci, c := range cases {
		for t := 0; t < b.unreachTries; t++ {
			j, err := newJob(b.tmp, fmt.Sprintf("unreach-%d-%d", ci, t))
			if err != nil {
				return nil, err
			}
			lanes = append(lanes, &lane{caseIdx: ci, cmd: actionCommand(b.bin, j, j.env(c.endpoint), inputs, budget+30*time.Second)})
			if t > 0 || b.quick {
				continue // peers once each, and only in full mode
			}
			for _, pc := range b.contenders(j, c.endpoint, deployRole, b.peerCap)[1:] {
				lanes = append(lanes, &lane{caseIdx: ci, peer: pc.name, cmd: pc.cmd})
			}
		}
	}
	// Every lane only waits on the network, so they run side by side.
	cmds := make([]command, len(lanes))
	for i, l := range lanes {
		cmds[i] = l.cmd
	}
	ps, err := runAll(ctx, cmds)
	if err != nil {
		return nil, err
	}
	for i, l := range lanes {
		l.p = ps[i]
	}

	var rows []row
	for ci, c := range cases {
		var acts []proc
		peers := map[string]proc{}
		var order []string
		for _, l := range lanes {
			if l.caseIdx != ci {
				continue
			}
			if l.peer == "" {
				if l.p.OK() || l.p.TimedOut {
					return nil, fmt.Errorf("the action on an unreachable STS (%s): exit %d, timed out %v:\n%s", c.name, l.p.Code, l.p.TimedOut, tail(l.p.Out, 15))
				}
				acts = append(acts, l.p)
				continue
			}
			peers[l.peer] = l.p
			order = append(order, l.peer)
		}
		worst := percentile(durations(acts), 100)
		target := "≤ 30 s (retry budget)"
		if b.quick {
			target = "≤ 3 s (quick: action-timeout-s 3)"
		}
		r := row{Item: "2", Measure: fmt.Sprintf("time to fail, unreachable STS: %s; slowest of %d", c.name, len(acts)),
			Action: ms(worst) + " (" + attemptsOf(acts[0].Out) + ")",
			Target: target + ", +0.5 s process overhead", Met: yesNo(worst <= budget+500*time.Millisecond)}
		if len(order) == 0 {
			r.Peer = "configure-aws-credentials: measured in item 6"
			if b.quick {
				r.Peer += "; seed script: not run in quick mode"
			}
			rows = append(rows, r)
			continue
		}
		for _, name := range order {
			p := peers[name]
			if p.TimedOut {
				r.Peer = fmt.Sprintf("%s: still retrying at %s (killed)", name, ms(b.peerCap))
				r.Ratio = "> " + ratio(float64(b.peerCap)/float64(worst))
			} else {
				r.Peer = fmt.Sprintf("%s: %s", name, ms(p.Wall))
				r.Ratio = ratio(float64(p.Wall) / float64(worst))
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// attemptsOf pulls "gave up after N attempts" out of the action's log.
func attemptsOf(log string) string {
	const marker = "gave up after "
	if i := strings.Index(log, marker); i >= 0 {
		rest := log[i+len(marker):]
		if j := strings.Index(rest, " attempt"); j >= 0 {
			if rest[:j] == "1" {
				return "1 attempt"
			}
			return rest[:j] + " attempts"
		}
	}
	return "1 attempt"
}

// hangingServer accepts connections and never answers.
type hangingServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

func startHangingServer() (*hangingServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &hangingServer{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
		}
	}()
	return h, nil
}

func (h *hangingServer) URL() string { return "http://" + h.ln.Addr().String() }

func (h *hangingServer) Close() {
	h.ln.Close()
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		c.Close()
	}
}
