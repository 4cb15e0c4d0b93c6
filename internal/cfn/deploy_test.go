package cfn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
  ImageTag:
    Type: String
  DBPassword:
    Type: String
    NoEcho: true
Resources:
  Bucket:
    Type: AWS::S3::Bucket
`

type env struct {
	clock *fakeClock
	cfn   *fakeCFN
	log   *fakeLog
	d     *Deployer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := newClock()
	f := newFake(c)
	l := &fakeLog{}
	return &env{clock: c, cfn: f, log: l, d: NewDeployer(f, l, func(o *DeployerOptions) {
		o.S3, o.Now, o.Sleep, o.Rand = f, c.Now, c.Sleep, func() float64 { return 0.5 }
	})}
}

func testOptions(t *testing.T) Options {
	t.Helper()
	tmpl, err := parseTemplateBody([]byte(testTemplate))
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		StackName: "app", Template: tmpl, RoleARN: "arn:aws:iam::123456789012:role/cfn-exec",
		Parameters:   []Parameter{{Key: "Env", Value: "prod"}, {Key: "ImageTag", Value: "abc123"}},
		Capabilities: []string{CapabilityIAM}, Tags: []Tag{{Key: "team", Value: "web"}},
		NotificationARNs: []string{"arn:aws:sns:eu-west-1:123456789012:deploys"},
		Execute:          true, DeleteFailedChangeSet: true, ChangeSetName: "deploy-1", ClientToken: "tok-1",
		Timeout: 10 * time.Minute, Region: "eu-west-1",
	}
}

// mutations lists the calls that change something, in order.
func mutations(f *fakeCFN) []string {
	var out []string
	for _, op := range f.ops() {
		if !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "Get") {
			out = append(out, op)
		}
	}
	return out
}

func params(ps ...types.Parameter) []types.Parameter { return ps }

func value(k, v string) types.Parameter {
	return types.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)}
}

func previous(k string) types.Parameter {
	return types.Parameter{ParameterKey: aws.String(k), UsePreviousValue: aws.Bool(true)}
}

var ignoreSDK = cmpopts.IgnoreUnexported(types.Parameter{}, types.Tag{}, cloudformation.CreateChangeSetInput{}, cloudformation.ExecuteChangeSetInput{})

func TestDeploy_create(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.csChanges = []types.Change{{ResourceChange: &types.ResourceChange{Action: types.ChangeActionAdd, LogicalResourceId: aws.String("Bucket"), ResourceType: aws.String("AWS::S3::Bucket")}}}
	e.cfn.exec = stackOp{duration: 20 * time.Second, outputs: []types.Output{{OutputKey: aws.String("Url"), OutputValue: aws.String("https://x"), Description: aws.String("site")}}}
	o := testOptions(t)
	res, err := e.d.Deploy(context.Background(), o)
	if err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.log.text())
	}
	if diff := cmp.Diff([]string{"CreateChangeSet", "ExecuteChangeSet"}, mutations(e.cfn)); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
	want := &cloudformation.CreateChangeSetInput{
		StackName: aws.String("app"), ChangeSetName: aws.String("deploy-1"), ChangeSetType: types.ChangeSetTypeCreate,
		Description:  aws.String("Created by aws-assume-deploy at 2026-03-01T12:00:00Z"),
		Parameters:   params(value("Env", "prod"), value("ImageTag", "abc123")),
		TemplateBody: aws.String(testTemplate), RoleARN: aws.String(o.RoleARN), ClientToken: aws.String("tok-1"),
		Capabilities: []types.Capability{types.CapabilityCapabilityIam}, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
		NotificationARNs: []string{"arn:aws:sns:eu-west-1:123456789012:deploys"},
	}
	if diff := cmp.Diff(want, inputs[*cloudformation.CreateChangeSetInput](e.cfn, "CreateChangeSet")[0], ignoreSDK); diff != "" {
		t.Errorf("CreateChangeSet input (-want +got):\n%s", diff)
	}
	got := *res
	got.Elapsed, got.ChangeSetDuration, got.ExecutionDuration = 0, 0, 0
	wantRes := Result{
		StackName: "app", Region: "eu-west-1", StackID: got.StackID, StackStatus: "CREATE_COMPLETE", ChangeSetID: got.ChangeSetID, ChangeSetName: "deploy-1",
		ChangeSetType: "CREATE", ChangeSetStatus: "CREATE_COMPLETE", ChangeSetExecutionStatus: "AVAILABLE", ChangeSetCreated: t0,
		HasChanges: true, ChangesCount: 1, Created: true, Executed: true,
		Changes: []Change{{Action: "Add", LogicalID: "Bucket", ResourceType: "AWS::S3::Bucket"}},
		// DBPassword is NoEcho and not given: its value cannot be masked.
		ValuesWithheld: "the NoEcho parameter(s) DBPassword have values this deploy did not give, so it cannot mask them",
		Outputs:        []Output{{Key: "Url", Value: "https://x", Description: "site"}},
	}
	if diff := cmp.Diff(wantRes, got); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got.StackID, "arn:aws:cloudformation:") || !strings.Contains(got.ChangeSetID, ":changeSet/deploy-1/") {
		t.Errorf("ids not taken from CloudFormation: %q %q", got.StackID, got.ChangeSetID)
	}
	// The stack finished at 23 s (3 s change set + 20 s execution); the
	// poll cap of 2 s (+20% jitter) bounds how late the deploy notices.
	if late := res.Elapsed - 23*time.Second; late < 0 || late > 2400*time.Millisecond {
		t.Errorf("deploy returned %v after the stack finished, want within 2.4s", late)
	}
	if strings.Contains(e.log.text(), "prod") || strings.Contains(e.log.text(), "abc123") {
		t.Errorf("log shows parameter values:\n%s", e.log.text())
	}
}

func TestDeploy_update_keeps_previous_values(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Stack has DBPassword (declared, left out: keep), Old (no longer
	// declared: drop); ImageTag is declared but not on the stack.
	e.cfn.addStack("app", types.StackStatusUpdateComplete, value("Env", "dev"), value("DBPassword", "****"), value("Old", "x"))
	o := testOptions(t)
	o.Parameters = []Parameter{{Key: "Env", Value: "prod"}}
	if _, err := e.d.Deploy(context.Background(), o); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	in := inputs[*cloudformation.CreateChangeSetInput](e.cfn, "CreateChangeSet")[0]
	if in.ChangeSetType != types.ChangeSetTypeUpdate {
		t.Errorf("ChangeSetType = %s, want UPDATE", in.ChangeSetType)
	}
	if diff := cmp.Diff(params(value("Env", "prod"), previous("DBPassword")), in.Parameters, ignoreSDK); diff != "" {
		t.Errorf("Parameters (-want +got):\n%s", diff)
	}
}

func TestDeploy_update_url_template_keeps_every_stack_parameter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.addStack("app", types.StackStatusUpdateComplete, value("Env", "dev"), value("Old", "x"))
	o := testOptions(t)
	o.Template = Template{URL: "https://b.s3.eu-west-1.amazonaws.com/app.yaml"}
	o.Parameters = nil
	if _, err := e.d.Deploy(context.Background(), o); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	in := inputs[*cloudformation.CreateChangeSetInput](e.cfn, "CreateChangeSet")[0]
	if diff := cmp.Diff(params(previous("Env"), previous("Old")), in.Parameters, ignoreSDK); diff != "" {
		t.Errorf("Parameters (-want +got):\n%s", diff)
	}
	if aws.ToString(in.TemplateURL) != o.Template.URL || in.TemplateBody != nil {
		t.Errorf("template sent as body %v / URL %v", in.TemplateBody, in.TemplateURL)
	}
}

func TestDeploy_empty_change_set(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		reason      string
		failOnEmpty bool
		wantErr     string
	}{
		{name: "no_op_succeeds", reason: "The submitted information didn't contain changes. Submit different information to create a change set."},
		{name: "no_updates_reason", reason: "No updates are to be performed."},
		{name: "fail_on_empty", reason: "The submitted information didn't contain changes.", failOnEmpty: true, wantErr: "contains no changes and fail-on-empty-changeset is true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.cfn.addStack("app", types.StackStatusUpdateComplete).outputs = []types.Output{{OutputKey: aws.String("Url"), OutputValue: aws.String("u")}}
			e.cfn.csReason = tc.reason
			o := testOptions(t)
			o.FailOnEmpty = tc.failOnEmpty
			res, err := e.d.Deploy(context.Background(), o)
			if got := errString(err); !strings.Contains(got, tc.wantErr) || (tc.wantErr == "") != (err == nil) {
				t.Fatalf("error = %q, want %q", got, tc.wantErr)
			}
			if diff := cmp.Diff([]string{"CreateChangeSet", "DeleteChangeSet"}, mutations(e.cfn)); diff != "" {
				t.Errorf("mutating calls (-want +got):\n%s", diff)
			}
			// The deletion is awaited: the last call saw the change set gone.
			ops := e.cfn.ops()
			if ops[len(ops)-1] != "DescribeChangeSet" {
				t.Errorf("deletion not awaited; calls: %v", ops)
			}
			if res.HasChanges || res.Executed || res.StackStatus != "UPDATE_COMPLETE" || len(res.Outputs) != 1 {
				t.Errorf("Result = %+v", res)
			}
		})
	}
}

func TestDeploy_failed_change_set(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		deleteIt   bool
		wantDelete bool
		wantErr    string
	}{
		{name: "deleted", deleteIt: true, wantDelete: true, wantErr: "change set deploy-1 FAILED: Template format error: Unresolved resource dependencies [Nope]: fix the template"},
		{name: "kept", deleteIt: false, wantErr: "kept for inspection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.cfn.addStack("app", types.StackStatusUpdateComplete)
			e.cfn.csReason = "Template format error: Unresolved resource dependencies [Nope]"
			o := testOptions(t)
			o.DeleteFailedChangeSet = tc.deleteIt
			_, err := e.d.Deploy(context.Background(), o)
			if !strings.Contains(errString(err), tc.wantErr) {
				t.Fatalf("error = %q, want %q", errString(err), tc.wantErr)
			}
			want := []string{"CreateChangeSet"}
			if tc.wantDelete {
				want = append(want, "DeleteChangeSet")
			}
			if diff := cmp.Diff(want, mutations(e.cfn)); diff != "" {
				t.Errorf("mutating calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeploy_execution_failure_root_cause_first(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.exec = stackOp{
		duration: 30 * time.Second, final: types.StackStatusRollbackComplete, reason: "The following resource(s) failed to create: [Bucket, Queue].",
		events: []scriptedEvent{
			{at: 2 * time.Second, logical: "Bucket", typ: "AWS::S3::Bucket", status: "CREATE_IN_PROGRESS"},
			{at: 2 * time.Second, logical: "Queue", typ: "AWS::SQS::Queue", status: "CREATE_IN_PROGRESS"},
			{at: 5 * time.Second, logical: "Bucket", typ: "AWS::S3::Bucket", status: "CREATE_FAILED", reason: "Access Denied\n::add-mask::x"},
			{at: 5 * time.Second, logical: "Queue", typ: "AWS::SQS::Queue", status: "CREATE_FAILED", reason: "Resource creation cancelled"},
			{at: 6 * time.Second, logical: "app", typ: "AWS::CloudFormation::Stack", status: "ROLLBACK_IN_PROGRESS", reason: "The following resource(s) failed to create: [Bucket, Queue]."},
		},
	}
	res, err := e.d.Deploy(context.Background(), testOptions(t))
	// AWS text reaches the error as it came; the log escapes each line.
	want := "stack app failed: Bucket (AWS::S3::Bucket) CREATE_FAILED: Access Denied\n::add-mask::x\n" +
		"final status ROLLBACK_COMPLETE (The following resource(s) failed to create: [Bucket, Queue].)\n" +
		"next: the stack was rolled back; fix the cause above and re-run: the action deletes ROLLBACK_COMPLETE stacks before the next create"
	if diff := cmp.Diff(want, errString(err)); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if len(res.Failures) != 1 || res.StackStatus != "ROLLBACK_COMPLETE" || !res.Executed {
		t.Errorf("Result = %+v", res)
	}
}

func TestDeploy_nested_stack_failure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nested := e.cfn.addStack("app-Net-1", types.StackStatusRollbackComplete)
	nested.events = append(nested.events, e.cfn.event(nested, t0.Add(10*time.Second), "Subnet", "AWS::EC2::Subnet", "CREATE_FAILED", "The CIDR '10.0.0.0/8' is invalid.", ""))
	e.cfn.exec = stackOp{
		duration: 30 * time.Second, final: types.StackStatusRollbackComplete,
		events: []scriptedEvent{{at: 8 * time.Second, logical: "Net", typ: "AWS::CloudFormation::Stack", status: "CREATE_FAILED", reason: "Embedded stack was not successfully created", physical: nested.id}},
	}
	_, err := e.d.Deploy(context.Background(), testOptions(t))
	want := "stack app failed: Net (AWS::CloudFormation::Stack) CREATE_FAILED: Embedded stack was not successfully created\n" +
		"in nested stack " + nested.id + ": Subnet (AWS::EC2::Subnet) CREATE_FAILED: The CIDR '10.0.0.0/8' is invalid.\n"
	if !strings.HasPrefix(errString(err), want) {
		t.Errorf("error = %q\nwant prefix %q", errString(err), want)
	}
}

func TestDeploy_recreates_unusable_stack(t *testing.T) {
	t.Parallel()
	for _, status := range []types.StackStatus{types.StackStatusRollbackComplete, types.StackStatusCreateFailed} {
		t.Run(strings.ToLower(string(status)), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			old := e.cfn.addStack("app", status)
			res, err := e.d.Deploy(context.Background(), testOptions(t))
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			if diff := cmp.Diff([]string{"DeleteStack", "CreateChangeSet", "ExecuteChangeSet"}, mutations(e.cfn)); diff != "" {
				t.Errorf("mutating calls (-want +got):\n%s", diff)
			}
			del := inputs[*cloudformation.DeleteStackInput](e.cfn, "DeleteStack")[0]
			if aws.ToString(del.StackName) != old.id || aws.ToString(del.RoleARN) == "" {
				t.Errorf("DeleteStack(%s, role %s), want the old stack id and the service role", aws.ToString(del.StackName), aws.ToString(del.RoleARN))
			}
			if in := inputs[*cloudformation.CreateChangeSetInput](e.cfn, "CreateChangeSet")[0]; in.ChangeSetType != types.ChangeSetTypeCreate {
				t.Errorf("ChangeSetType = %s, want CREATE", in.ChangeSetType)
			}
			if !strings.Contains(e.log.text(), "deleting it before a fresh create") || res.Recreated != string(status) {
				t.Errorf("no log line about the deletion:\n%s", e.log.text())
			}
		})
	}
}

// A REVIEW_IN_PROGRESS stack (a preview of a new stack left it) holds no
// resources: it gets a CREATE change set of its own, without DeleteStack,
// which the deploy role may lack and which would drop other previews.
func TestDeploy_review_in_progress_stack_is_created_in_place(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	old := e.cfn.addStack("app", types.StackStatusReviewInProgress)
	res, err := e.d.Deploy(context.Background(), testOptions(t))
	if err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.log.text())
	}
	if diff := cmp.Diff([]string{"CreateChangeSet", "ExecuteChangeSet"}, mutations(e.cfn)); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
	if in := inputs[*cloudformation.CreateChangeSetInput](e.cfn, "CreateChangeSet")[0]; in.ChangeSetType != types.ChangeSetTypeCreate {
		t.Errorf("ChangeSetType = %s, want CREATE", in.ChangeSetType)
	}
	if res.StackID != old.id || res.StackStatus != "CREATE_COMPLETE" || !res.Created || res.Recreated != "" {
		t.Errorf("Result = %+v", res)
	}
}

func TestDeploy_refuses_stuck_stack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.addStack("app", types.StackStatusUpdateRollbackFailed)
	_, err := e.d.Deploy(context.Background(), testOptions(t))
	if !strings.Contains(errString(err), "continue-update-rollback --stack-name app") {
		t.Errorf("error = %q, want the continue-update-rollback fix", errString(err))
	}
	if len(mutations(e.cfn)) != 0 {
		t.Errorf("mutating calls: %v", mutations(e.cfn))
	}
}

func TestDeploy_waits_for_operation_in_progress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		busyFor time.Duration
		wantErr string
	}{
		{name: "settles", busyFor: 30 * time.Second},
		{name: "refused_after_timeout", busyFor: 2 * time.Hour, wantErr: "stack app is still UPDATE_IN_PROGRESS after waiting the 10m0s timeout: another deployment is probably running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			st := e.cfn.addStack("app", types.StackStatusUpdateInProgress)
			st.until, st.next = t0.Add(tc.busyFor), types.StackStatusUpdateComplete
			_, err := e.d.Deploy(context.Background(), testOptions(t))
			if got := errString(err); !strings.Contains(got, tc.wantErr) || (tc.wantErr == "") != (err == nil) {
				t.Fatalf("error = %q, want %q", got, tc.wantErr)
			}
			if tc.wantErr != "" && len(mutations(e.cfn)) != 0 {
				t.Errorf("mutating calls after refusal: %v", mutations(e.cfn))
			}
			if tc.wantErr == "" && inputs[*cloudformation.CreateChangeSetInput](e.cfn, "CreateChangeSet")[0].ChangeSetType != types.ChangeSetTypeUpdate {
				t.Errorf("want an UPDATE change set after the wait")
			}
		})
	}
}

func TestDeploy_execute_false_leaves_change_set_for_review(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.addStack("app", types.StackStatusUpdateComplete)
	e.cfn.pageSize = 2
	for i := range 5 {
		e.cfn.csChanges = append(e.cfn.csChanges, types.Change{ResourceChange: &types.ResourceChange{
			Action: types.ChangeActionModify, LogicalResourceId: aws.String(fmt.Sprintf("R%d", i)), ResourceType: aws.String("AWS::SNS::Topic"), Replacement: types.ReplacementConditional,
		}})
	}
	o := testOptions(t)
	o.Execute = false
	res, err := e.d.Deploy(context.Background(), o)
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if diff := cmp.Diff([]string{"CreateChangeSet"}, mutations(e.cfn)); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
	if res.Executed || !res.HasChanges || res.ChangesCount != 5 || res.Changes[4].LogicalID != "R4" {
		t.Errorf("Result = %+v", res)
	}
	if !strings.Contains(e.log.text(), "execute-change-set --change-set-name "+res.ChangeSetID) {
		t.Errorf("log does not say how to execute:\n%s", e.log.text())
	}
}

func TestDeploy_large_template(t *testing.T) {
	t.Parallel()
	big := testTemplate + "# " + strings.Repeat("x", MaxTemplateBodySize) + "\n"
	tmpl, err := parseTemplateBody([]byte(big))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("uploaded_to_s3", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		o := testOptions(t)
		o.Template, o.S3Bucket, o.S3Prefix = tmpl, "artifacts", "/cfn/app/"
		res, err := e.d.Deploy(context.Background(), o)
		if err != nil {
			t.Fatalf("Deploy: %v", err)
		}
		up := inputs[upload](e.cfn, "PutObject")
		if len(up) != 1 || up[0].Bucket != "artifacts" || up[0].Size != len(big) || !strings.HasPrefix(up[0].Key, "cfn/app/app-") || !strings.HasSuffix(up[0].Key, ".template") {
			t.Fatalf("uploads = %+v", up)
		}
		in := inputs[*cloudformation.CreateChangeSetInput](e.cfn, "CreateChangeSet")[0]
		wantURL := "https://artifacts.s3.eu-west-1.amazonaws.com/" + up[0].Key
		if aws.ToString(in.TemplateURL) != wantURL || in.TemplateBody != nil || res.TemplateURL != wantURL {
			t.Errorf("TemplateURL = %q, want %q", aws.ToString(in.TemplateURL), wantURL)
		}
	})
	t.Run("refused_without_bucket", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		o := testOptions(t)
		o.Template = tmpl
		// The input handling tells the user; here it is a programmer error.
		_, err := e.d.Deploy(context.Background(), o)
		if !strings.Contains(errString(err), "needs S3Bucket") {
			t.Errorf("error = %q, want the missing S3Bucket named", errString(err))
		}
		if len(e.cfn.ops()) != 0 {
			t.Errorf("network calls before refusing: %v", e.cfn.ops())
		}
	})
}

func TestDeploy_survives_throttling_on_polls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The first describe, the change set wait, the stack wait (calls 3
	// and 4 of DescribeStacks) and the event stream all get throttled, as
	// if the SDK retryer had given up.
	e.cfn.throttle = map[string][]int{"DescribeStacks": {1, 3, 4}, "DescribeChangeSet": {1, 2, 3}, "DescribeStackEvents": {1, 2}}
	e.cfn.addStack("app", types.StackStatusUpdateComplete)
	res, err := e.d.Deploy(context.Background(), testOptions(t))
	if err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.log.text())
	}
	if res.StackStatus != "UPDATE_COMPLETE" {
		t.Errorf("StackStatus = %s", res.StackStatus)
	}
	for op, calls := range e.cfn.throttle {
		if n := e.cfn.count[op]; n <= slices.Max(calls) {
			t.Errorf("%s: only %d calls, the scripted throttles reach call %d", op, n, slices.Max(calls))
		}
	}
}

func TestDeploy_timeout_is_an_error(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.exec = stackOp{duration: 2 * time.Hour}
	o := testOptions(t)
	res, err := e.d.Deploy(context.Background(), o)
	want := "stack app: still CREATE_IN_PROGRESS after the 10m0s timeout"
	if !strings.HasPrefix(errString(err), want) {
		t.Errorf("error = %q, want prefix %q", errString(err), want)
	}
	if res.Elapsed < o.Timeout || res.Elapsed > o.Timeout+time.Second {
		t.Errorf("Elapsed = %v, want the %v timeout", res.Elapsed, o.Timeout)
	}
}

func TestDeploy_timeout_while_change_set_pending_deletes_it(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.csDelay = time.Hour
	_, err := e.d.Deploy(context.Background(), testOptions(t))
	if !strings.Contains(errString(err), "change set deploy-1 is still CREATE_IN_PROGRESS after the 10m0s timeout") {
		t.Errorf("error = %q", errString(err))
	}
	if diff := cmp.Diff([]string{"CreateChangeSet", "DeleteChangeSet"}, mutations(e.cfn)); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
}

func TestDeploy_cancellation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		cancelAtSleep int
		wantMutations []string
		wantErr       string
	}{
		{name: "before_execution_deletes_our_change_set", cancelAtSleep: 2, wantMutations: []string{"CreateChangeSet", "DeleteChangeSet"}, wantErr: "deploying stack app cancelled (deleted the unexecuted change set deploy-1; stack status REVIEW_IN_PROGRESS): context canceled"},
		{name: "during_execution_reports_status", cancelAtSleep: 12, wantMutations: []string{"CreateChangeSet", "ExecuteChangeSet"}, wantErr: "deploying stack app cancelled (stack status CREATE_IN_PROGRESS (CloudFormation continues the started operation; it is not cancelled)): context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			e.clock.onSleep = func(n int) {
				if n == tc.cancelAtSleep {
					cancel()
				}
			}
			_, err := e.d.Deploy(ctx, testOptions(t))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v does not wrap context.Canceled", err)
			}
			if diff := cmp.Diff(tc.wantErr, errString(err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantMutations, mutations(e.cfn)); diff != "" {
				t.Errorf("mutating calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeploy_disable_rollback_and_termination_protection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		existing      bool
		wantMutations []string
	}{
		// New stacks get protection after success, so a failed create can
		// still be deleted by the next run; existing ones before executing.
		{name: "create", wantMutations: []string{"CreateChangeSet", "ExecuteChangeSet", "UpdateTerminationProtection"}},
		{name: "update", existing: true, wantMutations: []string{"CreateChangeSet", "UpdateTerminationProtection", "ExecuteChangeSet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.existing {
				e.cfn.addStack("app", types.StackStatusUpdateComplete)
			}
			o := testOptions(t)
			o.DisableRollback, o.TerminationProtection = true, true
			if _, err := e.d.Deploy(context.Background(), o); err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			if diff := cmp.Diff(tc.wantMutations, mutations(e.cfn)); diff != "" {
				t.Errorf("mutating calls (-want +got):\n%s", diff)
			}
			ex := inputs[*cloudformation.ExecuteChangeSetInput](e.cfn, "ExecuteChangeSet")[0]
			if !aws.ToBool(ex.DisableRollback) || aws.ToString(ex.ChangeSetName) == "" {
				t.Errorf("ExecuteChangeSet DisableRollback=%v change set %q", ex.DisableRollback, aws.ToString(ex.ChangeSetName))
			}
			up := inputs[*cloudformation.UpdateTerminationProtectionInput](e.cfn, "UpdateTerminationProtection")[0]
			if !aws.ToBool(up.EnableTerminationProtection) {
				t.Errorf("termination protection not enabled")
			}
		})
	}
}

func TestDeploy_disable_rollback_false_is_sent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.d.Deploy(context.Background(), testOptions(t)); err != nil {
		t.Fatal(err)
	}
	ex := inputs[*cloudformation.ExecuteChangeSetInput](e.cfn, "ExecuteChangeSet")[0]
	if ex.DisableRollback == nil || *ex.DisableRollback {
		t.Errorf("DisableRollback = %v, want an explicit false", ex.DisableRollback)
	}
	if len(inputs[*cloudformation.UpdateTerminationProtectionInput](e.cfn, "UpdateTerminationProtection")) != 0 {
		t.Errorf("termination protection touched although not asked for")
	}
}

func TestDeploy_streams_each_event_once_in_order(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.pageSize = 2
	var evs []scriptedEvent
	var want []string
	// Bursts of events sharing one timestamp, larger than a page.
	for i := range 12 {
		at := time.Duration(1+i/4) * 3 * time.Second
		name := fmt.Sprintf("R%02d", i)
		// Every other event shows up a poll or two after its twins.
		lag := time.Duration(i%2) * time.Second
		evs = append(evs, scriptedEvent{at: at, logical: name, typ: "AWS::SNS::Topic", status: "CREATE_COMPLETE", lag: lag})
		want = append(want, name)
	}
	e.cfn.exec = stackOp{duration: 20 * time.Second, events: evs}
	if _, err := e.d.Deploy(context.Background(), testOptions(t)); err != nil {
		t.Fatal(err)
	}
	var got, times []string
	for _, l := range e.log.lines {
		if f := strings.Fields(l); len(f) >= 5 && f[3] == "AWS::SNS::Topic" {
			got, times = append(got, f[4]), append(times, f[1])
		}
	}
	if !slices.IsSorted(times) {
		t.Errorf("events out of chronological order: %v", times)
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("streamed resource events (-want +got):\n%s\nlog:\n%s", diff, e.log.text())
	}
	// The REVIEW_IN_PROGRESS event of the change set belongs to this
	// deploy; events of earlier operations would come before it.
	if !strings.Contains(e.log.text(), "CREATE_COMPLETE                          AWS::CloudFormation::Stack") {
		t.Errorf("final stack event missing:\n%s", e.log.text())
	}
	// The events drive the wait: DescribeStacks runs before the operation,
	// once at the start of the wait and once the stack's own events say it
	// settled; never once per poll.
	stacks, events := 0, 0
	for i, c := range e.cfn.calls {
		switch c.op {
		case "DescribeStacks":
			stacks++
		case "DescribeStackEvents":
			if aws.ToString(c.in.(*cloudformation.DescribeStackEventsInput).NextToken) == "" {
				events++
			}
			if i == 0 {
				t.Error("events fetched before any status poll")
			}
		}
	}
	if stacks > 3 || events < 5 {
		t.Errorf("%d status polls and %d event fetches for a 20 s operation; want at most 3 status polls", stacks, events)
	}
}

func TestPoller_schedule(t *testing.T) {
	t.Parallel()
	c := newClock()
	d := NewDeployer(nil, nil, func(o *DeployerOptions) { o.Now, o.Sleep, o.Rand = c.Now, c.Sleep, func() float64 { return 0.5 } })
	p := d.newPoller(t0.Add(90 * time.Second))
	for p.sleep(context.Background()) == nil {
	}
	var got []time.Duration
	for _, s := range c.sleeps[:8] {
		got = append(got, s.Round(time.Millisecond))
	}
	want := []time.Duration{250 * time.Millisecond, 375 * time.Millisecond, 563 * time.Millisecond, 844 * time.Millisecond, 1266 * time.Millisecond, 1898 * time.Millisecond, 2 * time.Second, 2 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first sleeps (-want +got):\n%s", diff)
	}
	if last := c.sleeps[len(c.sleeps)-2]; last != pollCapLate {
		t.Errorf("sleep after a minute = %v, want the %v cap", last, pollCapLate)
	}
	if !c.Now().Equal(t0.Add(90 * time.Second)) {
		t.Errorf("slept until %v, want exactly the deadline", c.Now())
	}
	// Throttling doubles the delay, up to the throttle cap, then draws
	// from its upper half (here the middle of it).
	for range 10 {
		p.throttled()
	}
	if got := p.delay(c.Now()); got != throttleCap*3/4 {
		t.Errorf("throttled delay = %v, want %v", got, throttleCap*3/4)
	}
}

func TestTransient(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{name: "throttling", ctx: context.Background(), err: apiErr("Throttling", "Rate exceeded"), want: true},
		{name: "validation", ctx: context.Background(), err: apiErr("ValidationError", "bad"), want: false},
		{name: "access_denied", ctx: context.Background(), err: apiErr("AccessDenied", "no"), want: false},
		{name: "cancelled_context", ctx: cancelled, err: apiErr("Throttling", "Rate exceeded"), want: false},
		{name: "context_error", ctx: context.Background(), err: context.Canceled, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := transient(tc.ctx, tc.err); got != tc.want {
				t.Errorf("transient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// hangingCFN never answers DescribeStacks until its context ends.
type hangingCFN struct{ *fakeCFN }

func (h hangingCFN) DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestDeploy_hung_call_stops_at_the_timeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.d = NewDeployer(hangingCFN{e.cfn}, e.log, func(o *DeployerOptions) {
		o.Sleep = e.clock.Sleep // Now stays real: the hard stop is a real deadline
	})
	o := testOptions(t)
	o.Timeout = 50 * time.Millisecond
	_, err := e.d.Deploy(context.Background(), o)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(errString(err), "deploying stack app timed out after 50ms") {
		t.Errorf("error = %v, want a timeout wrapping context.DeadlineExceeded", err)
	}
}

// moto (and CloudFormation for some no-op updates) refuses CreateChangeSet
// itself instead of failing the change set: still an empty deploy.
func TestDeploy_create_change_set_refused_as_no_op(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.addStack("app", types.StackStatusUpdateComplete)
	e.cfn.fail["CreateChangeSet"] = apiErr("ValidationError", "No updates are to be performed.")
	res, err := e.d.Deploy(context.Background(), testOptions(t))
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if res.HasChanges || res.StackStatus != "UPDATE_COMPLETE" {
		t.Errorf("Result = %+v", res)
	}
	if diff := cmp.Diff([]string{"CreateChangeSet"}, mutations(e.cfn)); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
}
