package hardening

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// Matrix of deploys under CloudFormation's account-wide rate limit
// (issue 14, finding 1): 24 jobs, each deploying its own stack with the
// compiled action at the same moment, against one fake CloudFormation that
// throttles the account at 6 requests a second, as AWS applies its API
// quotas per account and region. Two jobs lose the answer to their first
// CreateChangeSet and one the answer to its ExecuteChangeSet (the call took
// effect; a 500 came back), so idempotent retries are exercised whatever
// the throttle does.
const (
	matrixJobs  = 24
	matrixRate  = 6 // requests per second, account-wide
	matrixBurst = 6
)

// lostAnswers answers 500 InternalFailure to the first successful call of
// action for each stack in stacks, after the fake has acted on it: the
// change set is created, or executed, but the caller does not know.
type lostAnswers struct {
	next   http.Handler
	mu     sync.Mutex
	action map[string]string // stack -> action whose answer is lost once
}

func (l *lostAnswers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	stack := stackOf(r.Form.Get("StackName"))
	l.mu.Lock()
	lose := l.action[stack] == r.Form.Get("Action")
	l.mu.Unlock()
	if !lose {
		l.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	l.next.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	l.mu.Lock()
	delete(l.action, stack)
	l.mu.Unlock()
	fakecore.WriteQueryError(w, fakecore.NewAPIError(0, "InternalFailure", ""), "http://cloudformation.amazonaws.com/doc/2010-05-15/", "lost-answer")
}

// stackOf returns the stack name of a StackName parameter (a name or a
// stack ARN).
func stackOf(v string) string {
	if strings.HasPrefix(v, "arn:") {
		if parts := strings.Split(v, "/"); len(parts) >= 2 {
			return parts[1]
		}
	}
	return v
}

type matrixRun struct {
	stack   string
	r       actionrun.Result
	err     error
	elapsed time.Duration
}

func TestMatrix_throttled_account_every_job_deploys(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("about a minute of 24 concurrent deploys")
	}
	srv := fakeaws.New(func(o *fakeaws.Options) {
		o.AccountID, o.Region, o.OIDCRequestToken, o.CredentialPrefix = account, region, oidcBearer, stsMarker
	})
	t.Cleanup(srv.Close)
	s3 := fakecfn.NewS3()
	cfn := fakecfn.NewCloudFormation(func(co *fakecfn.Options) {
		co.S3, co.Region, co.AccountID = s3, region, account
		co.Script = fakecfn.Script{ChangeSetCreateDelay: time.Second, StackOperationDelay: 3 * time.Second}
		co.Throttle = fakecfn.Throttle{Rate: matrixRate, Burst: matrixBurst}
	})
	lost := &lostAnswers{next: cfn, action: map[string]string{
		matrixStack(3): "CreateChangeSet", matrixStack(11): "CreateChangeSet", matrixStack(17): "ExecuteChangeSet",
	}}
	srv.Mount("cloudformation", lost)
	srv.Mount("s3", s3)
	srv.AddUser("ci", userKeyID, userSecret)
	srv.AddRole(fakeaws.Role{Name: deployRole, TrustedUsers: []string{"ci"}, AllowTagSession: true, MaxSessionDuration: 12 * time.Hour})

	steps := make([]*actionrun.Step, matrixJobs)
	for i := range steps {
		s, err := actionrun.NewStep(binary, t.TempDir(), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.WriteFile(templatePath, appTemplate); err != nil {
			t.Fatal(err)
		}
		s.Env["AWS_ENDPOINT_URL"] = srv.URL()
		s.Env["GITHUB_JOB"] = fmt.Sprintf("deploy-%02d", i)
		steps[i] = s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	runs := make([]matrixRun, matrixJobs)
	var wg sync.WaitGroup
	for i, s := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stack := matrixStack(i)
			in := deployInputs(map[string]string{"stack-name": stack, "role-session-name": fmt.Sprintf("matrix-job-%02d", i)})
			r, err := s.Run(ctx, in)
			runs[i] = matrixRun{stack: stack, r: r, err: err, elapsed: r.Elapsed}
		}()
	}
	wg.Wait()

	ok := 0
	var times []time.Duration
	for _, m := range runs {
		st, found := cfn.Stack(m.stack)
		switch {
		case m.err != nil:
			t.Errorf("%s: %v", m.stack, m.err)
		case m.r.Code != 0 || !found || st.Status != "CREATE_COMPLETE":
			t.Errorf("%s: exit %d, stack %q\n%s", m.stack, m.r.Code, st.Status, lastLines(m.r.Stdout, 12))
		default:
			ok++
		}
		times = append(times, m.elapsed)
	}
	slices.Sort(times)

	calls := cfn.Calls()
	throttled := map[string]int{}
	byStack := map[string][]fakecore.Call{}
	for _, c := range calls {
		if c.ErrorCode == "Throttling" {
			throttled[c.Action]++
		}
		s := stackOf(c.Param("StackName"))
		byStack[s] = append(byStack[s], c)
	}

	// Idempotency: one change set per stack, every CreateChangeSet of a
	// stack carrying the same ClientToken; the lost answers were retried.
	sets := map[string]int{}
	for _, cs := range cfn.ChangeSets() {
		if cs.ParentID == "" {
			sets[cs.StackName]++
		}
	}
	for _, m := range runs {
		if sets[m.stack] != 1 {
			t.Errorf("%s: %d change sets, want exactly 1", m.stack, sets[m.stack])
		}
		tokens := map[string]bool{}
		creates := 0
		for _, c := range byStack[m.stack] {
			if c.Action == "CreateChangeSet" {
				creates++
				tokens[c.Param("ClientToken")] = true
			}
		}
		if len(tokens) != 1 || tokens[""] {
			t.Errorf("%s: CreateChangeSet tokens %v, want one non-empty token on every attempt", m.stack, tokens)
		}
		if (m.stack == matrixStack(3) || m.stack == matrixStack(11)) && creates < 2 {
			t.Errorf("%s: the lost CreateChangeSet answer was not retried (%d calls)", m.stack, creates)
		}
	}
	execs := 0
	var execTokens []string
	for _, c := range byStack[matrixStack(17)] {
		if c.Action == "ExecuteChangeSet" {
			execs++
			execTokens = append(execTokens, c.Param("ClientRequestToken"))
		}
	}
	if execs < 2 || execTokens[0] == "" || slices.ContainsFunc(execTokens, func(tok string) bool { return tok != execTokens[0] }) {
		t.Errorf("%s: ExecuteChangeSet attempts %d with tokens %q, want a retry with one token", matrixStack(17), execs, execTokens)
	}

	// Jitter: the delay from each stack's first throttled call to its next
	// call of the same action is spread, not the same for every job.
	var first []time.Duration
	for _, cs := range byStack {
		for i, c := range cs {
			if c.ErrorCode != "Throttling" {
				continue
			}
			for _, n := range cs[i+1:] {
				if n.Action == c.Action {
					first = append(first, n.Time.Sub(c.Time))
					break
				}
			}
			break
		}
	}
	slices.Sort(first)
	// The same for the first throttled mutating call of each stack: the
	// full-jitter backoff (a draw below 1 s for the first retry).
	var firstMutating []time.Duration
	for _, cs := range byStack {
		for i, c := range cs {
			if c.ErrorCode != "Throttling" || c.Action != "CreateChangeSet" && c.Action != "ExecuteChangeSet" {
				continue
			}
			for _, n := range cs[i+1:] {
				if n.Action == c.Action {
					firstMutating = append(firstMutating, n.Time.Sub(c.Time))
					break
				}
			}
			break
		}
	}
	slices.Sort(firstMutating)
	totalThrottled := 0
	for _, n := range throttled {
		totalThrottled += n
	}
	if totalThrottled == 0 || len(first) < matrixJobs/2 {
		t.Fatalf("only %d throttled calls (%d jobs throttled): the matrix did not exceed the account limit", totalThrottled, len(first))
	}
	// Polls back off with equal jitter (half to all of a ceiling), so
	// their first retries spread over at least a fifth of the median;
	// mutating calls with full jitter (below a ceiling), so theirs spread
	// over at least half of it.
	p10, p50, p90 := pct(first, 10), pct(first, 50), pct(first, 90)
	if first[len(first)-1]-first[0] < p50/5 {
		t.Errorf("first-retry delays %v: not spread (jobs retry in step)", first)
	}
	if len(firstMutating) < matrixJobs/3 {
		t.Errorf("only %d jobs retried a throttled CreateChangeSet or ExecuteChangeSet", len(firstMutating))
	} else if m10, m50, m90 := pct(firstMutating, 10), pct(firstMutating, 50), pct(firstMutating, 90); m90-m10 < m50/2 {
		t.Errorf("first retries of mutating calls p10/p50/p90 %v/%v/%v: not spread (jobs retry in step)", m10, m50, m90)
	}
	mutating := throttled["CreateChangeSet"] + throttled["ExecuteChangeSet"] + throttled["DeleteChangeSet"]
	t.Logf("matrix: %d/%d jobs deployed (%.0f%%); completion p50 %v, p99 %v, max %v", ok, matrixJobs, 100*float64(ok)/matrixJobs,
		pct(times, 50).Round(10*time.Millisecond), pct(times, 99).Round(10*time.Millisecond), times[len(times)-1].Round(10*time.Millisecond))
	t.Logf("matrix: %d CloudFormation calls, %d answered Throttling (%d of them mutating; by action %v); first-retry delay p10/p50/p90 %v/%v/%v over %d jobs",
		len(calls), totalThrottled, mutating, throttled, p10.Round(time.Millisecond), p50.Round(time.Millisecond), p90.Round(time.Millisecond), len(first))
	if len(firstMutating) > 0 {
		t.Logf("matrix: first retry of a throttled CreateChangeSet/ExecuteChangeSet, over %d jobs: min %v, p10/p50/p90 %v/%v/%v, max %v",
			len(firstMutating), firstMutating[0].Round(time.Millisecond), pct(firstMutating, 10).Round(time.Millisecond), pct(firstMutating, 50).Round(time.Millisecond),
			pct(firstMutating, 90).Round(time.Millisecond), firstMutating[len(firstMutating)-1].Round(time.Millisecond))
	}
}

func matrixStack(i int) string { return fmt.Sprintf("matrix-app-%02d", i) }

// pct is the p-th percentile of sorted durations (nearest rank).
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted) + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
