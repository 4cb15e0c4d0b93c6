package fakecfn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

const propsBefore = `Parameters:
  Size:
    Type: Number
    Default: "3"
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      Tags:
        - Key: team
          Value: a
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: !Ref Size
  Topic:
    Type: AWS::SNS::Topic
    DeletionPolicy: Retain
`

const propsAfter = `Parameters:
  Size:
    Type: Number
    Default: "3"
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-data"
      Tags:
        - Key: team
          Value: b
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      DelaySeconds: !Ref Size
`

// changeSummary flattens a change as the tests compare it.
func changeSummary(c types.Change) []string {
	rc := c.ResourceChange
	out := []string{fmt.Sprintf("%s %s replacement=%s policy=%s", rc.Action, aws.ToString(rc.LogicalResourceId), rc.Replacement, rc.PolicyAction)}
	for _, d := range rc.Details {
		tg := d.Target
		line := fmt.Sprintf("  %s/%s %s %s %s", tg.Attribute, aws.ToString(tg.Name), tg.RequiresRecreation, d.Evaluation, d.ChangeSource)
		if d.CausingEntity != nil {
			line += " by " + *d.CausingEntity
		}
		if tg.Path != nil {
			line += fmt.Sprintf(" %s %s", *tg.Path, tg.AttributeChangeType)
		}
		if tg.BeforeValue != nil || tg.AfterValue != nil {
			line += fmt.Sprintf(" %q->%q", aws.ToString(tg.BeforeValue), aws.ToString(tg.AfterValue))
		}
		out = append(out, line)
	}
	return out
}

func TestDescribeChangeSetPropertyValues(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.fake.PutStack(StackSeed{Name: "app", TemplateBody: propsBefore}); err != nil {
		t.Fatal(err)
	}
	cs := e.createChangeSet(t, "app", "props", types.ChangeSetTypeUpdate, propsAfter, param("Size", "5"))

	tests := []struct {
		name       string
		withValues bool
		want       [][]string
	}{
		{name: "property_names_only", want: [][]string{
			{"Modify Bucket replacement=True policy=ReplaceAndDelete",
				"  Properties/BucketName Always Static DirectModification",
				"  Properties/Tags Never Static DirectModification"},
			{"Modify Queue replacement=False policy=",
				"  Properties/DelaySeconds Never Static ParameterReference by Size"},
			{"Remove Topic replacement= policy=Retain"},
		}},
		{name: "property_values", withValues: true, want: [][]string{
			{"Modify Bucket replacement=True policy=ReplaceAndDelete",
				`  Properties/BucketName Always Static DirectModification /Properties/BucketName Add ""->"app-data"`,
				`  Properties/Tags Never Static DirectModification /Properties/Tags/0/Value Modify "a"->"b"`},
			{"Modify Queue replacement=False policy=",
				`  Properties/DelaySeconds Never Static ParameterReference by Size /Properties/DelaySeconds Modify "3"->"5"`},
			{"Remove Topic replacement= policy=Retain"},
		}},
	}
	for _, tc := range tests {
		out, err := e.cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{
			ChangeSetName: cs.Id, IncludePropertyValues: aws.Bool(tc.withValues)})
		if err != nil {
			t.Fatalf("%s: DescribeChangeSet: %v", tc.name, err)
		}
		var got [][]string
		for _, c := range out.Changes {
			got = append(got, changeSummary(c))
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: changes (-want +got):\n%s", tc.name, diff)
		}
		bucket := out.Changes[0].ResourceChange
		if tc.withValues {
			if aws.ToString(bucket.BeforeContext) != `{"Properties":{"Tags":[{"Key":"team","Value":"a"}]}}` ||
				aws.ToString(bucket.AfterContext) != `{"Properties":{"BucketName":"app-data","Tags":[{"Key":"team","Value":"b"}]}}` {
				t.Errorf("%s: contexts %s -> %s", tc.name, aws.ToString(bucket.BeforeContext), aws.ToString(bucket.AfterContext))
			}
		} else if bucket.BeforeContext != nil || bucket.AfterContext != nil {
			t.Errorf("%s: contexts without IncludePropertyValues", tc.name)
		}
	}
	if got := e.fake.CallsTo("cloudformation", "DescribeChangeSet")[1].Param("IncludePropertyValues"); got != "true" {
		t.Errorf("recorded IncludePropertyValues = %q", got)
	}
}

func TestCreateChangeSetClientToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	create := func(token string) (*cloudformation.CreateChangeSetOutput, error) {
		return e.cfn.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
			StackName: aws.String("app"), ChangeSetName: aws.String("cs"), ChangeSetType: types.ChangeSetTypeCreate,
			TemplateBody: aws.String(appTemplate), Parameters: []types.Parameter{param("Env", "prod")},
			ClientToken: aws.String(token),
		})
	}
	first, err := create("run-1-attempt-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := create("run-1-attempt-1")
	if err != nil {
		t.Fatalf("retry with the same token: %v", err)
	}
	if aws.ToString(again.Id) != aws.ToString(first.Id) || aws.ToString(again.StackId) != aws.ToString(first.StackId) {
		t.Errorf("retry answered %s, want the first change set %s", aws.ToString(again.Id), aws.ToString(first.Id))
	}
	if _, err := create("run-2-attempt-1"); err == nil {
		t.Error("another token with the same name succeeded")
	} else if code, _ := apiCode(err); code != "AlreadyExistsException" {
		t.Errorf("another token: %v, want AlreadyExistsException", err)
	}
	sets := e.fake.ChangeSets()
	if len(sets) != 1 || sets[0].ClientToken != "run-1-attempt-1" {
		t.Errorf("change sets = %+v, want one with the token", sets)
	}
}

const nestedChild = `Parameters:
  Prefix:
    Type: String
Resources:
  Log:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub "${Prefix}-logs"
`

func TestNestedChangeSetsAndDeploymentMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.s3.PutObject("templates", "child.yaml", []byte(nestedChild))
	parent := `Resources:
  Topic:
    Type: AWS::SNS::Topic
  Child:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://templates.s3.amazonaws.com/child.yaml
      Parameters:
        Prefix: !Ref AWS::StackName
`
	if _, err := e.fake.PutStack(StackSeed{Name: "root", TemplateBody: "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"}); err != nil {
		t.Fatal(err)
	}
	cs, err := e.cfn.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName: aws.String("root"), ChangeSetName: aws.String("nested"), TemplateBody: aws.String(parent),
		IncludeNestedStacks: aws.Bool(true), DeploymentMode: types.DeploymentModeRevertDrift,
	})
	if err != nil {
		t.Fatalf("CreateChangeSet: %v", err)
	}
	root := e.describeChangeSet(t, aws.ToString(cs.Id))
	if !aws.ToBool(root.IncludeNestedStacks) || root.DeploymentMode != types.DeploymentModeRevertDrift || root.StackDriftStatus != types.StackDriftStatusInSync {
		t.Errorf("root: IncludeNestedStacks %v, DeploymentMode %q, StackDriftStatus %q", aws.ToBool(root.IncludeNestedStacks), root.DeploymentMode, root.StackDriftStatus)
	}
	if root.ParentChangeSetId != nil || root.RootChangeSetId != nil {
		t.Errorf("root change set names a parent or root")
	}
	if len(root.Changes) != 1 || aws.ToString(root.Changes[0].ResourceChange.LogicalResourceId) != "Child" {
		t.Fatalf("root changes = %+v, want only the added Child", root.Changes)
	}
	nestedID := aws.ToString(root.Changes[0].ResourceChange.ChangeSetId)
	if !strings.Contains(nestedID, ":changeSet/nested-Child-") {
		t.Fatalf("nested change set id = %q", nestedID)
	}
	nested, err := e.cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String(nestedID), IncludePropertyValues: aws.Bool(true)})
	if err != nil {
		t.Fatalf("describing the nested change set: %v", err)
	}
	if aws.ToString(nested.ParentChangeSetId) != aws.ToString(cs.Id) || aws.ToString(nested.RootChangeSetId) != aws.ToString(cs.Id) {
		t.Errorf("nested parent %s, root %s; want %s", aws.ToString(nested.ParentChangeSetId), aws.ToString(nested.RootChangeSetId), aws.ToString(cs.Id))
	}
	if len(nested.Changes) != 1 || !strings.HasSuffix(aws.ToString(nested.Changes[0].ResourceChange.AfterContext), `"LogGroupName":"root-logs"}}`) {
		t.Errorf("nested changes = %+v", nested.Changes)
	}
	_, err = e.cfn.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: aws.String(nestedID)})
	if code, _ := apiCode(err); code != "InvalidChangeSetStatus" {
		t.Errorf("executing the nested change set: %v, want InvalidChangeSetStatus", err)
	}
	info := e.fake.ChangeSets()
	if len(info) != 2 || !info[0].IncludeNestedStacks || info[0].DeploymentMode != "REVERT_DRIFT" || info[1].ParentID != info[0].ID {
		t.Errorf("recorded change sets = %+v", info)
	}

	_, err = e.cfn.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName: aws.String("root"), ChangeSetName: aws.String("bad"), TemplateBody: aws.String(parent),
		DeploymentMode: types.DeploymentMode("REVERT_EVERYTHING"),
	})
	if code, msg := apiCode(err); code != "ValidationError" || !strings.Contains(msg, "deploymentMode") {
		t.Errorf("unknown DeploymentMode: %v, want ValidationError", err)
	}
}

func TestExecuteChangeSetRefusedUnlessAvailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *Options) { o.Script.ChangeSetCreateDelay = 10 * time.Second })
	ctx := context.Background()
	execute := func(id string) string {
		_, err := e.cfn.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: aws.String(id)})
		code, msg := apiCode(err)
		return code + ": " + msg
	}
	cs := aws.ToString(e.createChangeSet(t, "app", "cs", types.ChangeSetTypeCreate, appTemplate, param("Env", "prod")).Id)
	if got, want := execute(cs), "InvalidChangeSetStatus: ChangeSet ["+cs+"] cannot be executed in its current status of [CREATE_PENDING]"; got != want {
		t.Errorf("pending: %s\nwant %s", got, want)
	}
	e.clock.Advance(10 * time.Second)
	if got := execute(cs); got != ": " {
		t.Fatalf("available: %s", got)
	}
	if got, want := execute(cs), "InvalidChangeSetStatus: ChangeSet ["+cs+"] cannot be executed in its current execution status of [EXECUTE_COMPLETE]"; got != want {
		t.Errorf("executed: %s\nwant %s", got, want)
	}
	noop := aws.ToString(e.createChangeSet(t, "app", "noop", types.ChangeSetTypeUpdate, appTemplate, param("Env", "prod")).Id)
	e.clock.Advance(10 * time.Second)
	if got, want := execute(noop), "InvalidChangeSetStatus: ChangeSet ["+noop+"] cannot be executed in its current status of [FAILED]"; got != want {
		t.Errorf("failed: %s\nwant %s", got, want)
	}
}

func TestGetTemplateSummaryFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	body := `Description: summary test
Parameters:
  Env:
    Type: String
    Description: the environment
    AllowedValues: [dev, prod]
  Secret:
    Type: String
    NoEcho: true
    Default: hunter2
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: named
  Bucket:
    Type: AWS::S3::Bucket
`
	e.s3.PutObject("templates", "summary.yaml", []byte(body))
	for _, in := range []*cloudformation.GetTemplateSummaryInput{
		{TemplateBody: aws.String(body)},
		{TemplateURL: aws.String("https://templates.s3.us-east-1.amazonaws.com/summary.yaml")},
		{TemplateURL: aws.String(e.s3URL + "/templates/summary.yaml")},
	} {
		out, err := e.cfn.GetTemplateSummary(ctx, in)
		if err != nil {
			t.Fatalf("GetTemplateSummary(%s%s): %v", aws.ToString(in.TemplateBody)[:min(5, len(aws.ToString(in.TemplateBody)))], aws.ToString(in.TemplateURL), err)
		}
		var params []string
		for _, p := range out.Parameters {
			params = append(params, fmt.Sprintf("%s type=%s default=%q noecho=%v desc=%q allowed=%v", aws.ToString(p.ParameterKey),
				aws.ToString(p.ParameterType), aws.ToString(p.DefaultValue), aws.ToBool(p.NoEcho), aws.ToString(p.Description), p.ParameterConstraints.AllowedValues))
		}
		want := []string{
			`Env type=String default="" noecho=false desc="the environment" allowed=[dev prod]`,
			`Secret type=String default="hunter2" noecho=true desc="" allowed=[]`,
		}
		if diff := cmp.Diff(want, params); diff != "" {
			t.Errorf("parameters (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]types.Capability{types.CapabilityCapabilityNamedIam}, out.Capabilities); diff != "" {
			t.Errorf("capabilities (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"AWS::IAM::Role", "AWS::S3::Bucket"}, out.ResourceTypes); diff != "" {
			t.Errorf("resource types (-want +got):\n%s", diff)
		}
		if aws.ToString(out.Description) != "summary test" || aws.ToString(out.Version) != "2010-09-09" {
			t.Errorf("description %q, version %q", aws.ToString(out.Description), aws.ToString(out.Version))
		}
	}
	_, err := e.cfn.GetTemplateSummary(ctx, &cloudformation.GetTemplateSummaryInput{TemplateURL: aws.String("https://templates.s3.amazonaws.com/missing.yaml")})
	if code, _ := apiCode(err); code != "ValidationError" {
		t.Errorf("missing TemplateURL object: %v, want ValidationError", err)
	}
}

// TestAccountThrottleMatrix deploys 24 stacks at once, each with its own SDK
// client as a matrix job has, against an account-wide throttle: every deploy
// must finish through the SDK's retries, and some calls must have been
// throttled.
func TestAccountThrottleMatrix(t *testing.T) {
	t.Parallel()
	fake := NewCloudFormation(func(o *Options) { o.Throttle = Throttle{Rate: 20, Burst: 10} })
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const jobs = 24
	var wg sync.WaitGroup
	errs := make(chan error, jobs)
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := cloudformation.New(cloudformation.Options{
				Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(),
				Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
				Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = 20
					o.RateLimiter = ratelimit.None
					// Full jitter on an exponential ceiling, as the SDK's own
					// backoff, but capped at 1 s to keep the test short.
					o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
						ceiling := min(50*time.Millisecond<<attempt, time.Second)
						return time.Duration(rand.Int64N(int64(ceiling))), nil
					})
				}),
			})
			errs <- deployOnce(ctx, client, fmt.Sprintf("job-%02d", i))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	throttled := len(filterCalls(fake.Calls(), func(c fakecore.Call) bool { return c.ErrorCode == "Throttling" }))
	if throttled == 0 {
		t.Errorf("no call was throttled in %d calls; the throttle did nothing", fake.Count("", ""))
	}
	for _, c := range fake.CallsTo("cloudformation", "") {
		if c.ErrorCode == "Throttling" && c.Status != http.StatusBadRequest {
			t.Errorf("throttled call answered %d, want 400", c.Status)
		}
	}

	// The bucket is per account: another account still has its burst.
	fake.SetThrottle(0.001, 1)
	post := func(account string) int {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(url.Values{"Action": {"DescribeStacks"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(fakecore.HeaderAccount, account)
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := []int{post("111111111111"), post("111111111111"), post("222222222222")}; !cmp.Equal(got, []int{200, 400, 200}) {
		t.Errorf("statuses = %v, want the second call of one account throttled only", got)
	}
}

func filterCalls(calls []fakecore.Call, keep func(fakecore.Call) bool) []fakecore.Call {
	var out []fakecore.Call
	for _, c := range calls {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// deployOnce creates a stack through a change set and waits for it.
func deployOnce(ctx context.Context, client *cloudformation.Client, stack string) error {
	cs, err := client.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName: aws.String(stack), ChangeSetName: aws.String("cs"), ChangeSetType: types.ChangeSetTypeCreate,
		TemplateBody: aws.String(appTemplate), Parameters: []types.Parameter{param("Env", "prod")},
	})
	if err != nil {
		return fmt.Errorf("%s: creating the change set: %w", stack, err)
	}
	for {
		d, err := client.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: cs.Id})
		if err != nil {
			return fmt.Errorf("%s: describing the change set: %w", stack, err)
		}
		if d.Status == types.ChangeSetStatusCreateComplete {
			break
		}
		time.Sleep(pollDelay)
	}
	if _, err := client.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: cs.Id}); err != nil {
		return fmt.Errorf("%s: executing: %w", stack, err)
	}
	for {
		out, err := client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
		if err != nil {
			return fmt.Errorf("%s: describing the stack: %w", stack, err)
		}
		if s := out.Stacks[0].StackStatus; s == types.StackStatusCreateComplete {
			return nil
		} else if !strings.HasSuffix(string(s), "_IN_PROGRESS") {
			return fmt.Errorf("%s: ended %s", stack, s)
		}
		time.Sleep(pollDelay)
	}
}

// pollDelay spaces a deploy's polls, as waiters do.
const pollDelay = 100 * time.Millisecond
