package hardening

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// faultCase is one injected fault with its expected outcome: success after
// retries or a fast failure with its message, the number of attempts, a
// bound on the total time, and a fresh OIDC token for every attempt.
type faultCase struct {
	name   string
	inputs map[string]string
	world  worldOpts
	setup  func(w *world)
	ok     bool
	log    []string // fragments of the log (the error annotation on failure)
	// attempts is the expected number of calls of action (service "sts"
	// unless it is the OIDC token action); 0 skips the check.
	action   string
	attempts int
	// oidc: every STS attempt used a token fetched for it (distinct jtis,
	// one token request per attempt).
	oidc     bool
	min, max time.Duration
	check    func(t *testing.T, w *world, r actionrun.Result)
}

const (
	webIdentity = fakeaws.AssumeRoleWithWebIdentity
	oidcToken   = fakeaws.ActionOIDCToken
)

func stsFault(action string, f fakecore.Fault) func(*world) {
	return func(w *world) { w.sts.InjectFault(action, f) }
}

func cfnThrottle(action string, times int) faultCase {
	return faultCase{
		name: "cfn_throttling_" + action, inputs: deployInputs(nil), world: quickStack,
		setup: func(w *world) { w.cfn.Throttle(action, times) }, ok: true, max: 45 * time.Second,
		check: func(t *testing.T, w *world, r actionrun.Result) {
			throttled, total := 0, 0
			for _, c := range w.cfn.CallsTo("cloudformation", action) {
				total++
				if c.ErrorCode == "Throttling" {
					throttled++
				}
			}
			if throttled != times || total <= times {
				t.Errorf("%s: %d calls, %d throttled; want %d throttled and then success", action, total, throttled, times)
			}
		},
	}
}

// quickStack scripts a fake CloudFormation that finishes in about a second.
var quickStack = worldOpts{script: fakecfn.Script{ChangeSetCreateDelay: 300 * time.Millisecond, StackOperationDelay: time.Second}}

func faultCases() []faultCase {
	oi, ki := oidcInputs, keysInputs
	return []faultCase{
		// STS.
		{name: "sts_throttling", inputs: oi(nil), setup: stsFault(webIdentity, fakecore.Fault{Times: 2, Code: "Throttling"}),
			ok: true, action: webIdentity, attempts: 3, oidc: true, max: 20 * time.Second},
		{name: "sts_500", inputs: ki(nil), setup: stsFault("AssumeRole", fakecore.Fault{Times: 2, Code: "InternalFailure"}),
			ok: true, action: "AssumeRole", attempts: 3, max: 20 * time.Second},
		{name: "sts_503", inputs: oi(nil), setup: stsFault(webIdentity, fakecore.Fault{Times: 1, Code: "ServiceUnavailable"}),
			ok: true, action: webIdentity, attempts: 2, oidc: true, max: 15 * time.Second},
		{name: "sts_connection_reset", inputs: oi(nil), setup: stsFault(webIdentity, fakecore.Fault{Times: 1, Reset: true}),
			ok: true, action: webIdentity, attempts: 2, oidc: true, max: 15 * time.Second},
		{name: "sts_hanging_response_then_answer", inputs: oi(nil), setup: stsFault(webIdentity, fakecore.Fault{Times: 1, Hang: true}),
			ok: true, action: webIdentity, attempts: 2, oidc: true, min: 10 * time.Second, max: 25 * time.Second},
		{name: "sts_hanging_past_the_budget", inputs: oi(map[string]string{"action-timeout-s": "4"}), setup: stsFault(webIdentity, fakecore.Fault{Times: 20, Hang: true}),
			action: webIdentity, attempts: 1, oidc: true, min: 4 * time.Second, max: 10 * time.Second, log: []string{"raise retry-max-attempts / action-timeout-s"}},
		{name: "sts_idp_communication_error", inputs: oi(nil), setup: stsFault(webIdentity, fakecore.Fault{Times: 2, Code: "IDPCommunicationError"}),
			ok: true, action: webIdentity, attempts: 3, oidc: true, max: 20 * time.Second},
		{name: "sts_idp_communication_error_persistent", inputs: oi(map[string]string{"retry-max-attempts": "3"}), setup: stsFault(webIdentity, fakecore.Fault{Times: 20, Code: "IDPCommunicationError"}),
			action: webIdentity, attempts: 3, oidc: true, max: 20 * time.Second, log: []string{"gave up after 3 attempts", "AWS could not reach GitHub's OIDC provider"}},
		{name: "sts_invalid_identity_token_verification_key", inputs: oi(nil), setup: stsFault(webIdentity, fakecore.Fault{Times: 1, Code: "InvalidIdentityToken"}),
			ok: true, action: webIdentity, attempts: 2, oidc: true, max: 15 * time.Second},
		{name: "sts_invalid_identity_token_audience", inputs: oi(nil), setup: stsFault(webIdentity, fakecore.Fault{Times: 1, Code: "InvalidIdentityToken", Message: "Incorrect token audience"}),
			action: webIdentity, attempts: 1, oidc: true, max: 5 * time.Second, log: []string{"is not a client id of the IAM OIDC provider"}},
		{name: "sts_expired_token_exception_then_fresh_token", inputs: oi(nil), setup: stsFault(webIdentity, fakecore.Fault{Times: 1, Code: "ExpiredTokenException"}),
			ok: true, action: webIdentity, attempts: 2, oidc: true, max: 15 * time.Second},
		{name: "sts_expired_token_exception_persistent", inputs: oi(nil), setup: stsFault(webIdentity, fakecore.Fault{Times: 20, Code: "ExpiredTokenException"}),
			action: webIdentity, attempts: 2, oidc: true, max: 15 * time.Second, log: []string{"check the runner's clock"}},
		{name: "sts_expired_token_source_keys", inputs: ki(nil), setup: stsFault("AssumeRole", fakecore.Fault{Times: 1, Code: "ExpiredToken"}),
			action: "AssumeRole", attempts: 1, max: 5 * time.Second, log: []string{"the source session token has expired"}},
		{name: "sts_access_denied_oidc", inputs: oi(nil), setup: stsFault(webIdentity, fakecore.Fault{Times: 1, Code: "AccessDenied"}),
			action: webIdentity, attempts: 1, oidc: true, max: 5 * time.Second, log: []string{"does not match this job's token", repoSub}},
		{name: "sts_access_denied_keys", inputs: ki(nil), setup: stsFault("AssumeRole", fakecore.Fault{Times: 1, Code: "AccessDenied", Message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole"}),
			action: "AssumeRole", attempts: 1, max: 5 * time.Second, log: []string{"trust policy must name the IAM user"}},
		{name: "sts_region_disabled", inputs: ki(nil), setup: stsFault("AssumeRole", fakecore.Fault{Times: 1, Code: "RegionDisabledException"}),
			action: "AssumeRole", attempts: 1, max: 5 * time.Second, log: []string{"STS is not activated in " + region}},
		{name: "sts_packed_policy_too_large_then_fewer_tags", inputs: ki(nil), setup: stsFault("AssumeRole", fakecore.Fault{Times: 1, Code: "PackedPolicyTooLarge"}),
			ok: true, action: "AssumeRole", attempts: 2, max: 5 * time.Second, log: []string{"retrying once without the optional tags"},
			check: func(t *testing.T, w *world, r actionrun.Result) {
				var tags []int
				for _, q := range w.sts.Calls() {
					if q.Action == "AssumeRole" {
						n := 0
						for k := range q.Params {
							if strings.HasSuffix(k, ".Key") && strings.HasPrefix(k, "Tags.member.") {
								n++
							}
						}
						tags = append(tags, n)
					}
				}
				if len(tags) != 2 || tags[1] >= tags[0] {
					t.Errorf("tags per AssumeRole = %v; want fewer tags on the second call", tags)
				}
			}},
		{name: "sts_packed_policy_too_large_persistent", inputs: ki(nil), setup: stsFault("AssumeRole", fakecore.Fault{Times: 5, Code: "PackedPolicyTooLarge"}),
			action: "AssumeRole", attempts: 2, max: 5 * time.Second, log: []string{"112%", "set role-skip-session-tagging: true"}},
		{name: "sts_throttling_exhausts_attempts", inputs: ki(map[string]string{"retry-max-attempts": "3"}), setup: stsFault("AssumeRole", fakecore.Fault{Times: 20, Code: "Throttling"}),
			action: "AssumeRole", attempts: 3, max: 20 * time.Second, log: []string{"gave up after 3 attempts", "Rate exceeded"}},
		{name: "sts_disable_retry", inputs: ki(map[string]string{"disable-retry": "true"}), setup: stsFault("AssumeRole", fakecore.Fault{Times: 1, Code: "ServiceUnavailable"}),
			action: "AssumeRole", attempts: 1, max: 5 * time.Second, log: []string{"ServiceUnavailable"}},
		// GitHub's OIDC token endpoint.
		{name: "oidc_500", inputs: oi(nil), setup: stsFault(oidcToken, fakecore.Fault{Times: 1, Status: http.StatusInternalServerError}),
			ok: true, action: oidcToken, attempts: 2, max: 15 * time.Second,
			check: func(t *testing.T, w *world, r actionrun.Result) {
				if n := w.sts.Count("sts", webIdentity); n != 1 {
					t.Errorf("%d AssumeRoleWithWebIdentity calls, want 1", n)
				}
			}},
		{name: "oidc_401", inputs: oi(nil), setup: stsFault(oidcToken, fakecore.Fault{Times: 1, Status: http.StatusUnauthorized}),
			action: oidcToken, attempts: 1, max: 5 * time.Second, log: []string{"HTTP 401", "id-token: write"},
			check: func(t *testing.T, w *world, r actionrun.Result) {
				if n := w.sts.Count("sts", ""); n != 0 {
					t.Errorf("%d STS calls after the token endpoint refused", n)
				}
			}},
		// Like @actions/core, an answer without a token is not retried.
		{name: "oidc_empty_value", inputs: oi(nil), setup: stsFault(oidcToken, fakecore.Fault{Times: 1, Body: `{"value":""}`}),
			action: oidcToken, attempts: 1, max: 5 * time.Second, log: []string{"answered an empty token", "re-run the job"},
			check: func(t *testing.T, w *world, r actionrun.Result) {
				if n := w.sts.Count("sts", ""); n != 0 {
					t.Errorf("%d STS calls without a token", n)
				}
			}},
		{name: "oidc_slow", inputs: oi(nil), setup: stsFault(oidcToken, fakecore.Fault{Times: 1, Delay: 2 * time.Second}),
			ok: true, action: oidcToken, attempts: 1, oidc: true, min: 2 * time.Second, max: 10 * time.Second},
		{name: "oidc_hanging_then_answer", inputs: oi(nil), setup: stsFault(oidcToken, fakecore.Fault{Times: 1, Hang: true}),
			ok: true, action: oidcToken, attempts: 2, min: 10 * time.Second, max: 25 * time.Second},
		// CloudFormation.
		cfnThrottle("DescribeStacks", 3),
		cfnThrottle("CreateChangeSet", 3),
		cfnThrottle("DescribeChangeSet", 3),
		cfnThrottle("ExecuteChangeSet", 3),
		cfnThrottle("DescribeStackEvents", 3),
		func() faultCase {
			c := cfnThrottle("UpdateTerminationProtection", 3)
			c.inputs = deployInputs(map[string]string{"termination-protection": "true"})
			return c
		}(),
		{name: "cfn_throttling_every_call", inputs: deployInputs(nil), world: quickStack,
			setup: func(w *world) { w.cfn.Throttle(fakecore.AnyAction, 12) }, ok: true, max: 60 * time.Second},
		{name: "cfn_500_create_change_set", inputs: deployInputs(nil), world: quickStack,
			setup: func(w *world) {
				w.cfn.InjectFault("CreateChangeSet", fakecore.Fault{Times: 2, Code: "InternalFailure"})
			}, ok: true, max: 30 * time.Second},
		{name: "cfn_change_set_stuck_create_pending", inputs: deployInputs(map[string]string{"timeout-in-minutes": "1"}),
			world: worldOpts{script: fakecfn.Script{StuckChangeSet: true}},
			min:   time.Minute, max: 80 * time.Second, log: []string{"still CREATE_PENDING after the 1m0s timeout", "raise timeout-in-minutes"},
			check: func(t *testing.T, w *world, r actionrun.Result) {
				if n := w.cfn.Count("cloudformation", "DeleteChangeSet"); n != 1 {
					t.Errorf("%d DeleteChangeSet calls; the stuck change set must be cleaned up once", n)
				}
				if n := w.cfn.Count("cloudformation", "ExecuteChangeSet"); n != 0 {
					t.Errorf("%d ExecuteChangeSet calls for a change set that never finished", n)
				}
			}},
		{name: "cfn_stack_fails_with_resource_events", inputs: deployInputs(nil),
			world: worldOpts{script: fakecfn.Script{ChangeSetCreateDelay: 300 * time.Millisecond, StackOperationDelay: time.Second, RollbackDelay: 500 * time.Millisecond,
				FailResources: map[string]string{"Queue": "Resource handler returned message: queue quota exceeded (Service: Sqs, Status Code: 400)"}}},
			max: 30 * time.Second, log: []string{"Queue (AWS::SQS::Queue) CREATE_FAILED: Resource handler returned message: queue quota exceeded", "ROLLBACK_COMPLETE"}},
		{name: "cfn_stack_stuck_in_progress_past_timeout", inputs: deployInputs(map[string]string{"timeout-in-minutes": "1"}),
			world: worldOpts{script: fakecfn.Script{ChangeSetCreateDelay: 300 * time.Millisecond, StuckInProgress: true}},
			min:   time.Minute, max: 80 * time.Second, log: []string{"still CREATE_IN_PROGRESS after the 1m0s timeout"}},
		{name: "cfn_describe_stack_events_paging", inputs: deployInputs(nil),
			world: worldOpts{pageSize: 2, script: quickStack.script}, ok: true, max: 30 * time.Second,
			check: func(t *testing.T, w *world, r actionrun.Result) {
				paged := 0
				for _, c := range w.cfn.CallsTo("cloudformation", "DescribeStackEvents") {
					if c.Param("NextToken") != "" {
						paged++
					}
				}
				if paged == 0 {
					t.Errorf("no DescribeStackEvents call used NextToken")
				}
				for _, id := range []string{"Topic", "Queue", "Bucket"} {
					n := 0
					for _, l := range actionrun.LogLines(r.Stdout) {
						if strings.Contains(l, "CREATE_COMPLETE") && strings.Contains(l, " "+id) && strings.HasSuffix(strings.TrimSpace(l), id) {
							n++
						}
					}
					if n != 1 {
						t.Errorf("the CREATE_COMPLETE event of %s is printed %d times, want once", id, n)
					}
				}
			}},
		// action-timeout-s bounds the whole run, deploy included, and says so.
		{name: "action_timeout_during_the_deploy", inputs: deployInputs(map[string]string{"action-timeout-s": "3"}),
			world: worldOpts{script: fakecfn.Script{ChangeSetCreateDelay: 300 * time.Millisecond, StackOperationDelay: 30 * time.Second}},
			min:   3 * time.Second, max: 15 * time.Second, log: []string{"action-timeout-s (3 s) ran out during the deploy; raise it"}},
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range faultCases() {
		for _, mode := range debugModes {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, tc.world)
				if tc.setup != nil {
					tc.setup(w)
				}
				j := newJob(t, w)
				for k, v := range mode.env {
					j.Env[k] = v
				}
				r := j.Run(tc.inputs)
				if tc.ok {
					r.MustSucceed(t)
				} else {
					r.MustFail(t)
					if n := len(r.ErrorLines()); n != 1 {
						t.Errorf("%d error annotations, want 1\n%s", n, r.Dump())
					}
				}
				for _, want := range tc.log {
					if !strings.Contains(strings.Join(append(r.ErrorLines(), r.Stdout), "\n"), want) {
						t.Errorf("log lacks %q\n%s", want, r.Dump())
					}
				}
				if tc.attempts > 0 {
					service := "sts"
					if tc.action == oidcToken {
						service = "oidc"
					}
					if n := w.sts.Count(service, tc.action); n != tc.attempts {
						t.Errorf("%d %s attempts, want %d\n%s", n, tc.action, tc.attempts, r.Dump())
					}
				}
				if tc.oidc {
					jtis := w.sts.WebIdentityJTIs()
					if n := w.sts.Count("oidc", oidcToken); n != len(jtis) || !distinct(jtis) {
						t.Errorf("tokens not fresh per attempt: %d token requests, jtis %q", n, jtis)
					}
				}
				if r.Elapsed < tc.min || (tc.max > 0 && r.Elapsed > tc.max) {
					t.Errorf("took %s, want between %s and %s", r.Elapsed.Round(time.Millisecond), tc.min, tc.max)
				}
				if tc.check != nil {
					tc.check(t, w, r)
				}
				var issued []string
				if tc.ok {
					env := r.Env
					issued = append(issued, env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"])
				}
				checkSecrets(t, r, mode.env != nil, issued...)
			})
		}
	}
}
