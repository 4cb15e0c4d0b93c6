package fakecfn

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

const appTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Description: test stack
Parameters:
  Env:
    Type: String
  Size:
    Type: Number
    Default: "3"
  Secret:
    Type: String
    NoEcho: true
    Default: hunter2
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: !Ref Size
Outputs:
  BucketName:
    Value: !Ref Bucket
  BucketArn:
    Value: !GetAtt Bucket.Arn
  EnvName:
    Value: !Sub "${AWS::StackName}-${Env}"
  Literal:
    Value: hello
`

const roleARN = "arn:aws:iam::123456789012:role/cfn"

type env struct {
	fake   *CloudFormation
	s3     *S3
	clock  *fakecore.Clock
	cfn    *cloudformation.Client
	s3URL  string
	s3HTTP *http.Client
}

// newEnv serves a fake CloudFormation and S3 on 127.0.0.1 with a manual clock.
func newEnv(t *testing.T, optFns ...func(*Options)) *env {
	t.Helper()
	clock := fakecore.NewClock(t0)
	store := NewS3(func(o *S3Options) { o.Now = clock.Now })
	fake := NewCloudFormation(append([]func(*Options){func(o *Options) {
		o.Now = clock.Now
		o.S3 = store
	}}, optFns...)...)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	// TLS, because the SDK only streams aws-chunked bodies with trailing checksums over HTTPS.
	s3srv := httptest.NewTLSServer(store)
	t.Cleanup(s3srv.Close)
	client := cloudformation.New(cloudformation.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   srv.Client(),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.RateLimiter = ratelimit.None
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		}),
	})
	return &env{fake: fake, s3: store, clock: clock, cfn: client, s3URL: s3srv.URL, s3HTTP: s3srv.Client()}
}

func apiCode(err error) (code, msg string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", ""
}

func param(k, v string) types.Parameter {
	return types.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)}
}

func previous(k string) types.Parameter {
	return types.Parameter{ParameterKey: aws.String(k), UsePreviousValue: aws.Bool(true)}
}

func (e *env) createChangeSet(t *testing.T, stack, name string, csType types.ChangeSetType, body string, params ...types.Parameter) *cloudformation.CreateChangeSetOutput {
	t.Helper()
	out, err := e.cfn.CreateChangeSet(context.Background(), &cloudformation.CreateChangeSetInput{
		StackName: aws.String(stack), ChangeSetName: aws.String(name), ChangeSetType: csType,
		TemplateBody: aws.String(body), Parameters: params, RoleARN: aws.String(roleARN),
		Capabilities: []types.Capability{types.CapabilityCapabilityIam},
	})
	if err != nil {
		t.Fatalf("CreateChangeSet: %v", err)
	}
	return out
}

func (e *env) describeChangeSet(t *testing.T, id string) *cloudformation.DescribeChangeSetOutput {
	t.Helper()
	out, err := e.cfn.DescribeChangeSet(context.Background(), &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeChangeSet: %v", err)
	}
	return out
}

func (e *env) stack(t *testing.T, name string) types.Stack {
	t.Helper()
	out, err := e.cfn.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		t.Fatalf("DescribeStacks: %v", err)
	}
	if len(out.Stacks) != 1 {
		t.Fatalf("DescribeStacks returned %d stacks, want 1", len(out.Stacks))
	}
	return out.Stacks[0]
}

func (e *env) execute(t *testing.T, id string, disableRollback bool) {
	t.Helper()
	_, err := e.cfn.ExecuteChangeSet(context.Background(), &cloudformation.ExecuteChangeSetInput{
		ChangeSetName: aws.String(id), DisableRollback: aws.Bool(disableRollback),
	})
	if err != nil {
		t.Fatalf("ExecuteChangeSet: %v", err)
	}
}

func (e *env) allEvents(t *testing.T, stack string) []types.StackEvent {
	t.Helper()
	var out []types.StackEvent
	p := cloudformation.NewDescribeStackEventsPaginator(e.cfn, &cloudformation.DescribeStackEventsInput{StackName: aws.String(stack)})
	for i := 0; p.HasMorePages() && i < 100; i++ {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("DescribeStackEvents: %v", err)
		}
		out = append(out, page.StackEvents...)
	}
	return out
}

// statuses renders events oldest first as "Logical STATUS" lines.
func statuses(events []types.StackEvent) []string {
	var out []string
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		out = append(out, aws.ToString(e.LogicalResourceId)+" "+string(e.ResourceStatus))
	}
	return out
}

func outputsMap(outs []types.Output) map[string]string {
	m := map[string]string{}
	for _, o := range outs {
		m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return m
}

func paramsMap(ps []types.Parameter) map[string]string {
	m := map[string]string{}
	for _, p := range ps {
		m[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	return m
}

func TestCreateStackThroughChangeSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) {
		o.Script = Script{ChangeSetCreateDelay: 10 * time.Second, StackOperationDelay: 20 * time.Second}
	})
	ctx := context.Background()

	_, err := e.cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("app")})
	if code, msg := apiCode(err); code != "ValidationError" || msg != "Stack with id app does not exist" {
		t.Fatalf("DescribeStacks of a missing stack: code %q message %q, want ValidationError", code, msg)
	}

	cs := e.createChangeSet(t, "app", "cs-1", types.ChangeSetTypeCreate, appTemplate, param("Env", "prod"))
	if got := e.stack(t, "app").StackStatus; got != types.StackStatusReviewInProgress {
		t.Errorf("stack status after CREATE change set = %s, want REVIEW_IN_PROGRESS", got)
	}

	var seen []string
	for _, step := range []time.Duration{0, 6 * time.Second, 5 * time.Second} {
		e.clock.Advance(step)
		d := e.describeChangeSet(t, aws.ToString(cs.Id))
		seen = append(seen, string(d.Status)+"/"+string(d.ExecutionStatus))
	}
	want := []string{"CREATE_PENDING/UNAVAILABLE", "CREATE_IN_PROGRESS/UNAVAILABLE", "CREATE_COMPLETE/AVAILABLE"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("change set statuses (-want +got):\n%s", diff)
	}
	d := e.describeChangeSet(t, aws.ToString(cs.Id))
	var changes []string
	for _, ch := range d.Changes {
		rc := ch.ResourceChange
		changes = append(changes, string(rc.Action)+" "+aws.ToString(rc.LogicalResourceId)+" "+aws.ToString(rc.ResourceType))
	}
	if diff := cmp.Diff([]string{"Add Bucket AWS::S3::Bucket", "Add Queue AWS::SQS::Queue"}, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"Env": "prod", "Size": "3", "Secret": "****"}, paramsMap(d.Parameters)); diff != "" {
		t.Errorf("change set parameters (-want +got):\n%s", diff)
	}

	execAt := e.clock.Advance(time.Second)
	e.execute(t, aws.ToString(cs.Id), false)
	if got := e.stack(t, "app").StackStatus; got != types.StackStatusCreateInProgress {
		t.Errorf("status right after execute = %s, want CREATE_IN_PROGRESS", got)
	}
	e.clock.Advance(19 * time.Second)
	if got := e.stack(t, "app").StackStatus; got != types.StackStatusCreateInProgress {
		t.Errorf("status at 19s = %s, want CREATE_IN_PROGRESS", got)
	}
	if at := e.fake.TerminalAt("app"); !at.IsZero() {
		t.Errorf("TerminalAt while in progress = %v, want zero", at)
	}
	e.clock.Advance(time.Second)
	st := e.stack(t, "app")
	if st.StackStatus != types.StackStatusCreateComplete {
		t.Fatalf("status at 20s = %s, want CREATE_COMPLETE", st.StackStatus)
	}
	if got, want := e.fake.TerminalAt("app"), execAt.Add(20*time.Second); !got.Equal(want) {
		t.Errorf("TerminalAt = %v, want %v", got, want)
	}
	if aws.ToString(st.RoleARN) != roleARN {
		t.Errorf("RoleARN = %q, want %q", aws.ToString(st.RoleARN), roleARN)
	}
	outs := outputsMap(st.Outputs)
	bucket := outs["BucketName"]
	if !strings.HasPrefix(bucket, "app-Bucket-") {
		t.Errorf("BucketName output = %q, want a physical id app-Bucket-...", bucket)
	}
	wantOuts := map[string]string{
		"BucketName": bucket,
		"BucketArn":  "arn:aws:s3:us-east-1:123456789012:" + bucket,
		"EnvName":    "app-prod",
		"Literal":    "hello",
	}
	if diff := cmp.Diff(wantOuts, outs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}

	wantEvents := []string{
		"app REVIEW_IN_PROGRESS",
		"app CREATE_IN_PROGRESS",
		"Bucket CREATE_IN_PROGRESS", "Bucket CREATE_IN_PROGRESS", "Bucket CREATE_COMPLETE",
		"Queue CREATE_IN_PROGRESS", "Queue CREATE_IN_PROGRESS", "Queue CREATE_COMPLETE",
		"app CREATE_COMPLETE",
	}
	events := e.allEvents(t, "app")
	if diff := cmp.Diff(wantEvents, statuses(events)); diff != "" {
		t.Errorf("events, oldest first (-want +got):\n%s", diff)
	}
	for i := 1; i < len(events); i++ {
		if events[i].Timestamp.After(*events[i-1].Timestamp) {
			t.Errorf("events not newest first at %d", i)
		}
	}

	calls := e.fake.CallsTo("cloudformation", "CreateChangeSet")
	if len(calls) != 1 || calls[0].Param("RoleARN") != roleARN || calls[0].CallerARN != AnonymousCaller {
		t.Errorf("CreateChangeSet calls = %+v, want one with RoleARN and the anonymous caller", calls)
	}
	if got := e.fake.CallsTo("cloudformation", "ExecuteChangeSet")[0].Param("DisableRollback"); got != "false" {
		t.Errorf("ExecuteChangeSet DisableRollback = %q, want false", got)
	}
}

func TestUpdateWithUsePreviousValue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.fake.PutStack(StackSeed{Name: "app", TemplateBody: appTemplate, Parameters: map[string]string{"Env": "prod", "Size": "5"}, RoleARN: roleARN}); err != nil {
		t.Fatal(err)
	}
	before, _ := e.fake.Stack("app")
	newBody := appTemplate + "  Extra:\n    Value: !Ref Size\n"
	cs := e.createChangeSet(t, "app", "cs-2", types.ChangeSetTypeUpdate, newBody, previous("Env"), param("Size", "7"), previous("Secret"))
	d := e.describeChangeSet(t, aws.ToString(cs.Id))
	if d.Status != types.ChangeSetStatusCreateComplete {
		t.Fatalf("status = %s (%s), want CREATE_COMPLETE", d.Status, aws.ToString(d.StatusReason))
	}
	var changes []string
	for _, ch := range d.Changes {
		changes = append(changes, string(ch.ResourceChange.Action)+" "+aws.ToString(ch.ResourceChange.LogicalResourceId)+" "+aws.ToString(ch.ResourceChange.PhysicalResourceId))
	}
	if diff := cmp.Diff([]string{"Modify Queue " + before.Resources["Queue"]}, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	e.execute(t, aws.ToString(cs.Id), false)
	st := e.stack(t, "app")
	if st.StackStatus != types.StackStatusUpdateComplete {
		t.Fatalf("status = %s, want UPDATE_COMPLETE", st.StackStatus)
	}
	if diff := cmp.Diff(map[string]string{"Env": "prod", "Size": "7", "Secret": "****"}, paramsMap(st.Parameters)); diff != "" {
		t.Errorf("parameters (-want +got):\n%s", diff)
	}
	if got := outputsMap(st.Outputs)["Extra"]; got != "7" {
		t.Errorf("Extra output = %q, want 7", got)
	}
	if got := statuses(e.allEvents(t, "app")); !strings.Contains(strings.Join(got, ","), "app UPDATE_IN_PROGRESS,Queue UPDATE_IN_PROGRESS,Queue UPDATE_COMPLETE,app UPDATE_COMPLETE_CLEANUP_IN_PROGRESS,app UPDATE_COMPLETE") {
		t.Errorf("events = %v, want an update sequence", got)
	}
	call := e.fake.CallsTo("cloudformation", "CreateChangeSet")[0]
	if call.Param("Parameters.member.1.UsePreviousValue") != "true" || call.Param("Parameters.member.1.ParameterKey") != "Env" {
		t.Errorf("recorded parameters = %v", call.Params)
	}
}

func TestNoOpChangeSetFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.fake.PutStack(StackSeed{Name: "app", TemplateBody: appTemplate, Parameters: map[string]string{"Env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	cs := e.createChangeSet(t, "app", "noop", types.ChangeSetTypeUpdate, appTemplate, previous("Env"), previous("Size"))
	d := e.describeChangeSet(t, aws.ToString(cs.Id))
	got := []string{string(d.Status), string(d.ExecutionStatus), aws.ToString(d.StatusReason)}
	want := []string{"FAILED", "UNAVAILABLE", NoChangesReason}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("no-op change set (-want +got):\n%s", diff)
	}
	_, err := e.cfn.ExecuteChangeSet(context.Background(), &cloudformation.ExecuteChangeSetInput{ChangeSetName: cs.Id})
	var invalid *types.InvalidChangeSetStatusException
	if !errors.As(err, &invalid) {
		t.Errorf("executing a FAILED change set: %v, want InvalidChangeSetStatusException", err)
	}
	// A changed value is a change.
	cs2 := e.createChangeSet(t, "app", "real", types.ChangeSetTypeUpdate, appTemplate, param("Env", "dev"))
	if d := e.describeChangeSet(t, aws.ToString(cs2.Id)); d.Status != types.ChangeSetStatusCreateComplete {
		t.Errorf("changed parameter: status %s (%s), want CREATE_COMPLETE", d.Status, aws.ToString(d.StatusReason))
	}
}

func TestFailureAndRollback(t *testing.T) {
	t.Parallel()
	const reason = "Resource handler returned message: \"boom\""
	tests := []struct {
		name            string
		update          bool
		disableRollback bool
		wantStatus      types.StackStatus
		wantEvents      []string
	}{
		{
			name: "create_rolls_back", wantStatus: types.StackStatusRollbackComplete,
			wantEvents: []string{"app REVIEW_IN_PROGRESS", "app CREATE_IN_PROGRESS", "Bucket CREATE_IN_PROGRESS", "Bucket CREATE_IN_PROGRESS", "Bucket CREATE_COMPLETE",
				"Queue CREATE_IN_PROGRESS", "Queue CREATE_IN_PROGRESS", "Queue CREATE_FAILED", "app ROLLBACK_IN_PROGRESS",
				"Queue DELETE_IN_PROGRESS", "Queue DELETE_COMPLETE", "Bucket DELETE_IN_PROGRESS", "Bucket DELETE_COMPLETE", "app ROLLBACK_COMPLETE"},
		},
		{
			name: "create_disable_rollback", disableRollback: true, wantStatus: types.StackStatusCreateFailed,
			wantEvents: []string{"app REVIEW_IN_PROGRESS", "app CREATE_IN_PROGRESS", "Bucket CREATE_IN_PROGRESS", "Bucket CREATE_IN_PROGRESS", "Bucket CREATE_COMPLETE",
				"Queue CREATE_IN_PROGRESS", "Queue CREATE_IN_PROGRESS", "Queue CREATE_FAILED", "app CREATE_FAILED"},
		},
		{
			name: "update_rolls_back", update: true, wantStatus: types.StackStatusUpdateRollbackComplete,
			wantEvents: []string{"app CREATE_COMPLETE", "app UPDATE_IN_PROGRESS", "Queue UPDATE_IN_PROGRESS", "Queue UPDATE_FAILED",
				"app UPDATE_ROLLBACK_IN_PROGRESS", "Queue UPDATE_IN_PROGRESS", "Queue UPDATE_COMPLETE",
				"app UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "app UPDATE_ROLLBACK_COMPLETE"},
		},
		{
			name: "update_disable_rollback", update: true, disableRollback: true, wantStatus: types.StackStatusUpdateFailed,
			wantEvents: []string{"app CREATE_COMPLETE", "app UPDATE_IN_PROGRESS", "Queue UPDATE_IN_PROGRESS", "Queue UPDATE_FAILED", "app UPDATE_FAILED"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(o *Options) {
				o.Script = Script{StackOperationDelay: 30 * time.Second, RollbackDelay: 10 * time.Second}
			})
			e.fake.FailResource("Queue", reason)
			csType := types.ChangeSetTypeCreate
			if tc.update {
				if _, err := e.fake.PutStack(StackSeed{Name: "app", TemplateBody: appTemplate, Parameters: map[string]string{"Env": "prod"}}); err != nil {
					t.Fatal(err)
				}
				csType = types.ChangeSetTypeUpdate
			}
			cs := e.createChangeSet(t, "app", "cs", csType, appTemplate, param("Env", "prod"), param("Size", "9"))
			e.describeChangeSet(t, aws.ToString(cs.Id))
			e.execute(t, aws.ToString(cs.Id), tc.disableRollback)
			e.clock.Advance(time.Minute)
			st := e.stack(t, "app")
			if st.StackStatus != tc.wantStatus {
				t.Errorf("status = %s, want %s", st.StackStatus, tc.wantStatus)
			}
			if aws.ToBool(st.DisableRollback) != tc.disableRollback {
				t.Errorf("DisableRollback = %v, want %v", aws.ToBool(st.DisableRollback), tc.disableRollback)
			}
			events := e.allEvents(t, "app")
			if diff := cmp.Diff(tc.wantEvents, statuses(events)); diff != "" {
				t.Errorf("events, oldest first (-want +got):\n%s", diff)
			}
			var failed int
			for _, ev := range events {
				if strings.HasSuffix(string(ev.ResourceStatus), "_FAILED") && aws.ToString(ev.LogicalResourceId) == "Queue" {
					failed++
					if got := aws.ToString(ev.ResourceStatusReason); got != reason {
						t.Errorf("failed event reason = %q, want %q", got, reason)
					}
				}
			}
			if failed != 1 {
				t.Errorf("found %d Queue failure events, want 1", failed)
			}
			if tc.update && !tc.disableRollback {
				if got := paramsMap(st.Parameters)["Size"]; got != "3" {
					t.Errorf("after update rollback Size = %q, want the old 3", got)
				}
			}
			csOut := e.describeChangeSet(t, aws.ToString(cs.Id))
			if csOut.ExecutionStatus != types.ExecutionStatusExecuteFailed {
				t.Errorf("change set ExecutionStatus = %s, want EXECUTE_FAILED", csOut.ExecutionStatus)
			}
		})
	}
}

func TestCreateChangeSetValidation(t *testing.T) {
	t.Parallel()
	iamTemplate := "Resources:\n  Role:\n    Type: AWS::IAM::Role\n"
	tests := []struct {
		name     string
		stack    string
		csName   string
		csType   types.ChangeSetType
		body     string
		caps     []types.Capability
		params   []types.Parameter
		wantCode string
		wantMsg  string
	}{
		{name: "update_missing_stack", stack: "nope", csType: types.ChangeSetTypeUpdate, params: []types.Parameter{param("Env", "x")},
			wantCode: "ValidationError", wantMsg: "Stack [nope] does not exist"},
		{name: "duplicate_name", csName: "taken", csType: types.ChangeSetTypeUpdate, params: []types.Parameter{param("Env", "x")},
			wantCode: "AlreadyExistsException", wantMsg: "ChangeSet [taken] already exists"},
		{name: "use_previous_on_create", stack: "new", csType: types.ChangeSetTypeCreate, params: []types.Parameter{previous("Env")},
			wantCode: "ValidationError", wantMsg: "Cannot specify UsePreviousValue on Parameters when ChangeSetType is CREATE"},
		{name: "unknown_parameter", csType: types.ChangeSetTypeUpdate, params: []types.Parameter{param("Env", "x"), param("Bogus", "1")},
			wantCode: "ValidationError", wantMsg: "Parameters: [Bogus] do not exist in the template"},
		{name: "missing_required", csType: types.ChangeSetTypeUpdate, params: []types.Parameter{param("Size", "1")},
			wantCode: "ValidationError", wantMsg: "Parameters: [Env] must have values"},
		{name: "create_existing", csType: types.ChangeSetTypeCreate, params: []types.Parameter{param("Env", "x")},
			wantCode: "ValidationError", wantMsg: "Stack [app] already exists and cannot be created again with the changeSet [cs]."},
		{name: "bad_change_set_name", csName: "1bad_name", csType: types.ChangeSetTypeUpdate,
			wantCode: "ValidationError", wantMsg: "1 validation error detected: Value '1bad_name' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"},
		{name: "needs_capabilities", stack: "iam", csType: types.ChangeSetTypeCreate, body: iamTemplate,
			wantCode: "InsufficientCapabilitiesException", wantMsg: "Requires capabilities : [CAPABILITY_IAM]"},
		{name: "no_resources", stack: "empty", csType: types.ChangeSetTypeCreate, body: "Description: x\n",
			wantCode: "ValidationError", wantMsg: "Template format error: At least one Resources member must be defined."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if _, err := e.fake.PutStack(StackSeed{Name: "app", TemplateBody: appTemplate, Parameters: map[string]string{"Env": "prod"}}); err != nil {
				t.Fatal(err)
			}
			e.createChangeSet(t, "app", "taken", types.ChangeSetTypeUpdate, appTemplate, param("Env", "other"))
			stack, csName, body := tc.stack, tc.csName, tc.body
			if stack == "" {
				stack = "app"
			}
			if csName == "" {
				csName = "cs"
			}
			if body == "" {
				body = appTemplate
			}
			_, err := e.cfn.CreateChangeSet(context.Background(), &cloudformation.CreateChangeSetInput{
				StackName: aws.String(stack), ChangeSetName: aws.String(csName), ChangeSetType: tc.csType,
				TemplateBody: aws.String(body), Parameters: tc.params, Capabilities: tc.caps,
			})
			code, msg := apiCode(err)
			if diff := cmp.Diff([]string{tc.wantCode, tc.wantMsg}, []string{code, msg}); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if e.fake.CallsTo("cloudformation", "CreateChangeSet")[1].ErrorCode != tc.wantCode {
				t.Errorf("recorded error code = %q, want %q", e.fake.CallsTo("cloudformation", "CreateChangeSet")[1].ErrorCode, tc.wantCode)
			}
		})
	}
}

func TestCreateStackAndUpdateStackAreRefusedButRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.cfn.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String("s"), TemplateBody: aws.String(appTemplate)})
	if code, _ := apiCode(err); code != "ValidationError" {
		t.Errorf("CreateStack: %v, want ValidationError", err)
	}
	_, err = e.cfn.UpdateStack(context.Background(), &cloudformation.UpdateStackInput{StackName: aws.String("s")})
	if code, _ := apiCode(err); code != "ValidationError" {
		t.Errorf("UpdateStack: %v, want ValidationError", err)
	}
	if e.fake.Count("cloudformation", "CreateStack") != 1 || e.fake.Count("cloudformation", "UpdateStack") != 1 {
		t.Errorf("calls = %+v, want one CreateStack and one UpdateStack recorded", e.fake.Calls())
	}
}

func TestThrottling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		times     int
		wantErr   bool
		wantCalls int
	}{
		{name: "retried_to_success", times: 2, wantCalls: 3},
		{name: "exhausts_retries", times: 3, wantErr: true, wantCalls: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if _, err := e.fake.PutStack(StackSeed{Name: "app", TemplateBody: appTemplate, Parameters: map[string]string{"Env": "prod"}}); err != nil {
				t.Fatal(err)
			}
			e.fake.Throttle("DescribeStacks", tc.times)
			_, err := e.cfn.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String("app")})
			if tc.wantErr {
				if code, msg := apiCode(err); code != "Throttling" || msg != "Rate exceeded" {
					t.Errorf("error = %v, want Throttling: Rate exceeded", err)
				}
			} else if err != nil {
				t.Errorf("DescribeStacks: %v", err)
			}
			if got := e.fake.Count("cloudformation", "DescribeStacks"); got != tc.wantCalls {
				t.Errorf("DescribeStacks calls = %d, want %d", got, tc.wantCalls)
			}
			throttled := 0
			for _, c := range e.fake.Calls() {
				if c.ErrorCode == "Throttling" {
					throttled++
				}
			}
			if throttled != min(tc.times, tc.wantCalls) {
				t.Errorf("throttled calls = %d, want %d", throttled, min(tc.times, tc.wantCalls))
			}
		})
	}
}

func TestGenericFault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.InjectFault(fakecore.AnyAction, fakecore.Fault{Times: 5, Code: "InternalFailure", Message: "oops", Delay: time.Millisecond})
	_, err := e.cfn.ListChangeSets(context.Background(), &cloudformation.ListChangeSetsInput{StackName: aws.String("x")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InternalFailure" || ae.ErrorMessage() != "oops" {
		t.Errorf("error = %v, want InternalFailure: oops", err)
	}
	if got := e.fake.Count("cloudformation", "ListChangeSets"); got != 3 {
		t.Errorf("calls = %d, want 3 (the SDK retries 5xx)", got)
	}
	e.fake.ClearFaults()
	_, err = e.cfn.ListChangeSets(context.Background(), &cloudformation.ListChangeSetsInput{StackName: aws.String("x")})
	if code, _ := apiCode(err); code != "ValidationError" {
		t.Errorf("after ClearFaults: %v, want ValidationError for the missing stack", err)
	}
}

func TestStackEventsPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.EventsPageSize = 3 })
	cs := e.createChangeSet(t, "app", "cs", types.ChangeSetTypeCreate, appTemplate, param("Env", "prod"))
	e.describeChangeSet(t, aws.ToString(cs.Id))
	e.execute(t, aws.ToString(cs.Id), false)

	page1, err := e.cfn.DescribeStackEvents(context.Background(), &cloudformation.DescribeStackEventsInput{StackName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if len(page1.StackEvents) != 3 || page1.NextToken == nil {
		t.Fatalf("first page: %d events, token %v; want 3 and a token", len(page1.StackEvents), page1.NextToken)
	}
	// A new operation adds events; the next page must neither repeat nor skip.
	e.clock.Advance(time.Minute)
	if _, err := e.cfn.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	rest := page1.StackEvents
	token := page1.NextToken
	for i := 0; token != nil && i < 20; i++ {
		p, err := e.cfn.DescribeStackEvents(context.Background(), &cloudformation.DescribeStackEventsInput{StackName: aws.String(aws.ToString(page1.StackEvents[0].StackId)), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, p.StackEvents...)
		token = p.NextToken
	}
	want := []string{"app REVIEW_IN_PROGRESS", "app CREATE_IN_PROGRESS",
		"Bucket CREATE_IN_PROGRESS", "Bucket CREATE_IN_PROGRESS", "Bucket CREATE_COMPLETE",
		"Queue CREATE_IN_PROGRESS", "Queue CREATE_IN_PROGRESS", "Queue CREATE_COMPLETE", "app CREATE_COMPLETE"}
	if diff := cmp.Diff(want, statuses(rest)); diff != "" {
		t.Errorf("paged events (-want +got):\n%s", diff)
	}
	ids := map[string]bool{}
	sameTime := 0
	for i, ev := range rest {
		if ids[aws.ToString(ev.EventId)] {
			t.Errorf("duplicate EventId %s", aws.ToString(ev.EventId))
		}
		ids[aws.ToString(ev.EventId)] = true
		if i > 0 && ev.Timestamp.Equal(*rest[i-1].Timestamp) {
			sameTime++
		}
	}
	if sameTime == 0 {
		t.Errorf("no events share a timestamp; the fake should produce some")
	}
}

func TestDeleteRollbackCompleteStack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.Script = Script{DeleteDelay: 5 * time.Second} })
	id, err := e.fake.PutStack(StackSeed{Name: "app", Status: "ROLLBACK_COMPLETE", TemplateBody: appTemplate, Parameters: map[string]string{"Env": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.cfn.CreateChangeSet(context.Background(), &cloudformation.CreateChangeSetInput{
		StackName: aws.String("app"), ChangeSetName: aws.String("cs"), ChangeSetType: types.ChangeSetTypeUpdate,
		TemplateBody: aws.String(appTemplate), Parameters: []types.Parameter{param("Env", "x")},
	})
	if code, msg := apiCode(err); code != "ValidationError" || msg != "Stack:"+id+" is in ROLLBACK_COMPLETE state and can not be updated." {
		t.Errorf("UPDATE on ROLLBACK_COMPLETE: %v", err)
	}
	if _, err := e.cfn.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if got := e.stack(t, "app").StackStatus; got != types.StackStatusDeleteInProgress {
		t.Errorf("status after DeleteStack = %s, want DELETE_IN_PROGRESS", got)
	}
	e.clock.Advance(5 * time.Second)
	_, err = e.cfn.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String("app")})
	if code, msg := apiCode(err); code != "ValidationError" || msg != "Stack with id app does not exist" {
		t.Errorf("DescribeStacks by name after delete: %v, want does not exist", err)
	}
	if got := e.stack(t, id).StackStatus; got != types.StackStatusDeleteComplete {
		t.Errorf("DescribeStacks by id after delete: %s, want DELETE_COMPLETE", got)
	}
	// The name is free again for a CREATE change set.
	cs := e.createChangeSet(t, "app", "again", types.ChangeSetTypeCreate, appTemplate, param("Env", "prod"))
	if aws.ToString(cs.StackId) == id {
		t.Errorf("new stack reused the deleted stack's id")
	}
}

func TestTerminationProtection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.fake.PutStack(StackSeed{Name: "app", TemplateBody: appTemplate, Parameters: map[string]string{"Env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cfn.UpdateTerminationProtection(context.Background(), &cloudformation.UpdateTerminationProtectionInput{
		StackName: aws.String("app"), EnableTerminationProtection: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(e.stack(t, "app").EnableTerminationProtection) {
		t.Errorf("EnableTerminationProtection not reported")
	}
	_, err := e.cfn.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String("app")})
	if code, _ := apiCode(err); code != "ValidationError" {
		t.Errorf("DeleteStack of a protected stack: %v, want ValidationError", err)
	}
}

func TestStuckScripts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.SetStackScript("pending", Script{StuckChangeSet: true})
	e.fake.SetStackScript("running", Script{StuckInProgress: true, StackOperationDelay: time.Minute})

	cs := e.createChangeSet(t, "pending", "cs", types.ChangeSetTypeCreate, appTemplate, param("Env", "prod"))
	e.clock.Advance(time.Hour)
	if d := e.describeChangeSet(t, aws.ToString(cs.Id)); d.Status != types.ChangeSetStatusCreatePending {
		t.Errorf("stuck change set status = %s, want CREATE_PENDING", d.Status)
	}

	cs = e.createChangeSet(t, "running", "cs", types.ChangeSetTypeCreate, appTemplate, param("Env", "prod"))
	e.describeChangeSet(t, aws.ToString(cs.Id))
	e.execute(t, aws.ToString(cs.Id), false)
	e.clock.Advance(24 * time.Hour)
	if got := e.stack(t, "running").StackStatus; got != types.StackStatusCreateInProgress {
		t.Errorf("stuck stack status = %s, want CREATE_IN_PROGRESS", got)
	}
	if !e.fake.TerminalAt("running").IsZero() {
		t.Errorf("stuck stack reports a terminal time")
	}
}

func TestChangeSetScriptedFailureAndDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.Script = Script{ChangeSetFailReason: "Template error: boom"} })
	cs := e.createChangeSet(t, "app", "cs", types.ChangeSetTypeCreate, appTemplate, param("Env", "prod"))
	d := e.describeChangeSet(t, aws.ToString(cs.Id))
	if d.Status != types.ChangeSetStatusFailed || aws.ToString(d.StatusReason) != "Template error: boom" {
		t.Errorf("status %s reason %q, want FAILED with the scripted reason", d.Status, aws.ToString(d.StatusReason))
	}
	list, err := e.cfn.ListChangeSets(context.Background(), &cloudformation.ListChangeSetsInput{StackName: aws.String("app")})
	if err != nil || len(list.Summaries) != 1 {
		t.Fatalf("ListChangeSets = %+v, %v; want one summary", list, err)
	}
	if _, err := e.cfn.DeleteChangeSet(context.Background(), &cloudformation.DeleteChangeSetInput{ChangeSetName: cs.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = e.cfn.DescribeChangeSet(context.Background(), &cloudformation.DescribeChangeSetInput{ChangeSetName: cs.Id})
	var nf *types.ChangeSetNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("describe after delete: %v, want ChangeSetNotFoundException", err)
	}
	if got := e.stack(t, "app").StackStatus; got != types.StackStatusReviewInProgress {
		t.Errorf("stack after failed CREATE change set = %s, want REVIEW_IN_PROGRESS", got)
	}
}

func TestSeededInProgressStackFinishes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	finish := t0.Add(90 * time.Second)
	if _, err := e.fake.PutStack(StackSeed{Name: "app", Status: "UPDATE_IN_PROGRESS", FinishAt: finish, TemplateBody: appTemplate,
		Parameters: map[string]string{"Env": "prod"}, Outputs: map[string]string{"Literal": "seeded"}}); err != nil {
		t.Fatal(err)
	}
	_, err := e.cfn.CreateChangeSet(context.Background(), &cloudformation.CreateChangeSetInput{
		StackName: aws.String("app"), ChangeSetName: aws.String("cs"), TemplateBody: aws.String(appTemplate),
		Parameters: []types.Parameter{param("Env", "x")},
	})
	if code, _ := apiCode(err); code != "ValidationError" {
		t.Errorf("change set on an updating stack: %v, want ValidationError", err)
	}
	e.clock.Advance(90 * time.Second)
	st := e.stack(t, "app")
	if st.StackStatus != types.StackStatusUpdateComplete || outputsMap(st.Outputs)["Literal"] != "seeded" {
		t.Errorf("status %s outputs %v, want UPDATE_COMPLETE with the seeded output", st.StackStatus, outputsMap(st.Outputs))
	}
	if got := e.fake.TerminalAt("app"); !got.Equal(finish) {
		t.Errorf("TerminalAt = %v, want %v", got, finish)
	}
}

func TestGetTemplateSummary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.fake.PutStack(StackSeed{Name: "app", TemplateBody: appTemplate, Parameters: map[string]string{"Env": "prod"}}); err != nil {
		t.Fatal(err)
	}
	for _, in := range []*cloudformation.GetTemplateSummaryInput{
		{StackName: aws.String("app")},
		{TemplateBody: aws.String(appTemplate)},
	} {
		out, err := e.cfn.GetTemplateSummary(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range out.Parameters {
			got = append(got, aws.ToString(p.ParameterKey)+"="+aws.ToString(p.DefaultValue))
		}
		if diff := cmp.Diff([]string{"Env=", "Size=3", "Secret=hunter2"}, got); diff != "" {
			t.Errorf("parameters (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"AWS::S3::Bucket", "AWS::SQS::Queue"}, out.ResourceTypes); diff != "" {
			t.Errorf("resource types (-want +got):\n%s", diff)
		}
	}
	_, err := e.cfn.GetTemplateSummary(context.Background(), &cloudformation.GetTemplateSummaryInput{StackName: aws.String("missing")})
	if code, _ := apiCode(err); code != "ValidationError" {
		t.Errorf("summary of a missing stack: %v, want ValidationError", err)
	}
	v, err := e.cfn.ValidateTemplate(context.Background(), &cloudformation.ValidateTemplateInput{TemplateBody: aws.String(appTemplate)})
	if err != nil || len(v.Parameters) != 3 || aws.ToString(v.Description) != "test stack" {
		t.Errorf("ValidateTemplate = %+v, %v", v, err)
	}
}

func TestChangesPagingAndExecuteCleansUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.ChangesPageSize = 1 })
	ctx := context.Background()
	other := e.createChangeSet(t, "app", "other", types.ChangeSetTypeCreate, appTemplate, param("Env", "dev"))
	cs := e.createChangeSet(t, "app", "cs", types.ChangeSetTypeCreate, appTemplate, param("Env", "prod"))
	var ids []string
	var token *string
	for i := 0; i < 10; i++ {
		out, err := e.cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String("cs"), StackName: aws.String("app"), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range out.Changes {
			ids = append(ids, aws.ToString(ch.ResourceChange.LogicalResourceId))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if diff := cmp.Diff([]string{"Bucket", "Queue"}, ids); diff != "" {
		t.Errorf("paged changes (-want +got):\n%s", diff)
	}
	e.execute(t, aws.ToString(cs.Id), false)
	list, err := e.cfn.ListChangeSets(ctx, &cloudformation.ListChangeSetsInput{StackName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Summaries) != 1 || aws.ToString(list.Summaries[0].ChangeSetId) != aws.ToString(cs.Id) || list.Summaries[0].ExecutionStatus != types.ExecutionStatusExecuteComplete {
		t.Errorf("ListChangeSets after execute = %+v, want only the executed change set", list.Summaries)
	}
	_, err = e.cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: other.Id})
	var nf *types.ChangeSetNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("the other change set after execute: %v, want ChangeSetNotFoundException", err)
	}
}

// TestSDKWaiters checks that the SDK's waiter acceptors read the fake's answers.
func TestSDKWaiters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	cs := e.createChangeSet(t, "app", "cs", types.ChangeSetTypeCreate, appTemplate, param("Env", "prod"))
	in := &cloudformation.DescribeChangeSetInput{ChangeSetName: cs.Id}
	if err := cloudformation.NewChangeSetCreateCompleteWaiter(e.cfn).Wait(ctx, in, 5*time.Second); err != nil {
		t.Fatalf("change set waiter: %v", err)
	}
	e.execute(t, aws.ToString(cs.Id), false)
	if err := cloudformation.NewStackCreateCompleteWaiter(e.cfn).Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("app")}, 5*time.Second); err != nil {
		t.Fatalf("stack waiter: %v", err)
	}
	noop := e.createChangeSet(t, "app", "noop", types.ChangeSetTypeUpdate, appTemplate, param("Env", "prod"))
	err := cloudformation.NewChangeSetCreateCompleteWaiter(e.cfn).Wait(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: noop.Id}, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "waiter state transitioned to Failure") {
		t.Errorf("waiting on an empty change set: %v, want a waiter failure", err)
	}
}

func TestSeededReviewInProgressStack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, err := e.fake.PutStack(StackSeed{Name: "app", Status: "REVIEW_IN_PROGRESS"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.cfn.CreateChangeSet(context.Background(), &cloudformation.CreateChangeSetInput{
		StackName: aws.String("app"), ChangeSetName: aws.String("up"), ChangeSetType: types.ChangeSetTypeUpdate,
		TemplateBody: aws.String(appTemplate), Parameters: []types.Parameter{param("Env", "x")},
	})
	if code, msg := apiCode(err); code != "ValidationError" || msg != "Stack:"+id+" is in REVIEW_IN_PROGRESS state and can not be updated." {
		t.Errorf("UPDATE on REVIEW_IN_PROGRESS: %v", err)
	}
	cs := e.createChangeSet(t, "app", "cs", types.ChangeSetTypeCreate, appTemplate, param("Env", "prod"))
	if aws.ToString(cs.StackId) != id {
		t.Errorf("CREATE change set made a new stack %s, want the seeded %s", aws.ToString(cs.StackId), id)
	}
	e.describeChangeSet(t, aws.ToString(cs.Id))
	e.execute(t, aws.ToString(cs.Id), false)
	if got := e.stack(t, "app").StackStatus; got != types.StackStatusCreateComplete {
		t.Errorf("status = %s, want CREATE_COMPLETE", got)
	}
}
