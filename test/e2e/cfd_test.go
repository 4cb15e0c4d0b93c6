package e2e

// aws-cloudformation-github-deploy (CFD) workflows run through the binary
// with their inputs unchanged: a configure-aws-credentials-like step puts
// credentials and the region in the environment, and the CFD step names
// only CFD inputs.

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
)

// cfdTemplate has a list parameter for the README's repeated-key form.
const cfdTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
  Subnets:
    Type: CommaDelimitedList
  RetentionDays:
    Type: Number
    Default: "7"
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${Env}-events"
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: !Ref RetentionDays
Outputs:
  TopicArn:
    Value: !Ref Topic
`

// cfdV2 is a CFD v2.2.0 step's with: block as its README and tests write it:
// name, role-arn, a repeated-key list parameter, YAML tags with a number,
// and "1"/"0" booleans.
func cfdV2(extra map[string]string) map[string]string {
	return actionrun.Merge(map[string]string{
		"name":                       "app",
		"template":                   "infra/cfd.yaml",
		"role-arn":                   cfnRoleARN,
		"capabilities":               "CAPABILITY_IAM",
		"parameter-overrides":        "Env=prod,Subnets=subnet-a,Subnets=subnet-b",
		"tags":                       "Team: payments\nCostCenter: 12345\n",
		"no-fail-on-empty-changeset": "1",
		"no-execute-changeset":       "0",
		"no-delete-failed-changeset": "0",
		"disable-rollback":           "0",
		"termination-protection":     "1",
	}, extra)
}

// credentialsStep runs the action as the job's credentials step (as
// configure-aws-credentials would be) and returns the next step, which sees
// its GITHUB_ENV as its environment.
func credentialsStep(t *testing.T, srv *fakeaws.Server, endpoint string) *actionrun.Job {
	t.Helper()
	creds := newJob(t, srv)
	if endpoint != "" {
		creds.Endpoint(endpoint)
	}
	r := creds.Run(keysInput(nil)).MustSucceed(t)
	next := newJobIn(t, srv, creds)
	if endpoint != "" {
		next.Endpoint(endpoint)
	}
	for k, v := range r.Env {
		next.Env[k] = v
	}
	next.Write("infra/cfd.yaml", cfdTemplate)
	return next
}

func TestCFD_v2_step_runs_unchanged(t *testing.T) {
	t.Parallel()
	srv, cfn, _ := deployFake(t, fast())
	j := credentialsStep(t, srv, "")
	r := j.Run(cfdV2(nil)).MustSucceed(t)

	st, ok := cfn.Stack("app")
	if !ok || st.Status != "CREATE_COMPLETE" || !st.TerminationProtection || st.RoleARN != cfnRoleARN {
		t.Fatalf("stack = %+v", st)
	}
	if st.Parameters["Subnets"] != "subnet-a,subnet-b" || st.Parameters["Env"] != "prod" {
		t.Errorf("parameters = %v", st.Parameters)
	}
	if st.Tags["CostCenter"] != "12345" || st.Tags["Team"] != "payments" {
		t.Errorf("tags = %v", st.Tags)
	}
	calls := cfn.CallsTo("cloudformation", "CreateChangeSet")
	if len(calls) != 1 || !strings.Contains(calls[0].CallerARN, "assumed-role/"+deployRole+"/") {
		t.Fatalf("CreateChangeSet calls = %+v, want one by the credentials step's session", calls)
	}
	if r.Outputs["stack-id"] != st.ID || r.Outputs["TopicArn"] == "" {
		t.Errorf("outputs = %v", r.Outputs)
	}
	if !strings.Contains(r.Stdout, "checking the credentials of the SDK's default chain") {
		t.Errorf("log does not say where the credentials came from:\n%s", r.Stdout)
	}
}

// no-execute-changeset "1" creates the change set for review and sets every
// CFD output; a later mode: execute-only step executes that change set by
// id, creating no other.
func TestCFD_review_then_execute_only(t *testing.T) {
	t.Parallel()
	srv, cfn, _ := deployFake(t, fast())
	j := credentialsStep(t, srv, "")
	j.Run(cfdV2(nil)).MustSucceed(t)

	// The update waits for review: RetentionDays changes in place.
	review := credentialsStep(t, srv, "")
	r := review.Run(cfdV2(map[string]string{"no-execute-changeset": "1", "parameter-overrides": "Env=prod,Subnets=subnet-a,Subnets=subnet-b,RetentionDays=30"})).MustSucceed(t)
	if n := cfn.Count("cloudformation", "ExecuteChangeSet"); n != 1 {
		t.Fatalf("ExecuteChangeSet calls = %d, want 1 (the first deploy only)", n)
	}
	for _, out := range []string{"stack-id", "change-set-id", "change-set-name", "has-changes", "changes-count", "changes-summary", "changes-markdown"} {
		if r.Outputs[out] == "" {
			t.Errorf("CFD output %s is not set", out)
		}
	}
	var summary struct {
		Changes []struct {
			ResourceChange struct {
				LogicalResourceId string
				Details           []struct {
					Target struct{ BeforeValue, AfterValue string }
				}
			}
		} `json:"changes"`
		TotalChanges int  `json:"totalChanges"`
		Truncated    bool `json:"truncated"`
	}
	if err := json.Unmarshal([]byte(r.Outputs["changes-summary"]), &summary); err != nil {
		t.Fatalf("changes-summary is not JSON: %v\n%s", err, r.Outputs["changes-summary"])
	}
	if summary.TotalChanges != 1 || r.Outputs["changes-count"] != "1" || r.Outputs["has-changes"] != "true" || len(summary.Changes) != 1 || summary.Changes[0].ResourceChange.LogicalResourceId != "Logs" {
		t.Errorf("changes-summary = %s, outputs = %v", r.Outputs["changes-summary"], r.Outputs)
	}
	md := r.Outputs["changes-markdown"]
	if !strings.Contains(md, "| Modify | Logs | AWS::Logs::LogGroup |") || !strings.Contains(md, "| 7 | 30 |") {
		t.Errorf("changes-markdown lacks the change or its values:\n%s", md)
	}
	if summaryFile, _ := os.ReadFile(review.SummaryFile); !strings.Contains(string(summaryFile), md) {
		t.Errorf("the step summary does not show the same table:\n%s", summaryFile)
	}

	exec := credentialsStep(t, srv, "")
	r2 := exec.Run(map[string]string{"name": "app", "mode": "execute-only", "execute-change-set-id": r.Outputs["change-set-id"]}).MustSucceed(t)
	if n := cfn.Count("cloudformation", "CreateChangeSet"); n != 2 {
		t.Errorf("CreateChangeSet calls = %d, want 2 (execute-only creates none)", n)
	}
	calls := cfn.CallsTo("cloudformation", "ExecuteChangeSet")
	if len(calls) != 2 || calls[1].Param("ChangeSetName") != r.Outputs["change-set-id"] {
		t.Fatalf("ExecuteChangeSet calls = %+v", calls)
	}
	if st, _ := cfn.Stack("app"); st.Status != "UPDATE_COMPLETE" || st.Parameters["RetentionDays"] != "30" {
		t.Errorf("stack = %+v", st)
	}
	if r2.Outputs["stack-status"] != "UPDATE_COMPLETE" || r2.Outputs["change-set-id"] != r.Outputs["change-set-id"] || r2.Outputs["TopicArn"] == "" {
		t.Errorf("execute-only outputs = %v", r2.Outputs)
	}
	if !strings.Contains(r2.Stdout, "::group::Stack events: app") {
		t.Errorf("events not streamed:\n%s", r2.Stdout)
	}
	// Executed, the change set cannot be executed again.
	credentialsStep(t, srv, "").Run(map[string]string{"name": "app", "mode": "execute-only", "execute-change-set-id": r.Outputs["change-set-id"]}).
		MustFail(t, "was already executed")
}

// A leftover or misspelt input would be silently ignored by the runner; the
// step stops before any request, naming it and the closest input.
func TestCFD_misspelt_input_is_refused_with_no_requests(t *testing.T) {
	t.Parallel()
	srv, cfn, _ := deployFake(t, fast())
	j := newJob(t, srv)
	j.Write("infra/cfd.yaml", cfdTemplate)
	r := j.Run(keysInput(cfdV2(map[string]string{"no-execute-changeset": actionrun.Delete, "no-execute-changset": "1"}))).
		MustFail(t, "input no-execute-changset: is not an input of this action", "did you mean no-execute-changeset?")
	if n := len(srv.Calls()) + len(cfn.Calls()); n != 0 {
		t.Errorf("%d requests made", n)
	}
	if strings.Contains(r.Stdout, "::group::") {
		t.Errorf("a phase started:\n%s", r.Stdout)
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

const nestedParent = `Resources:
  Topic:
    Type: AWS::SNS::Topic
  Child:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://templates.s3.amazonaws.com/child.yaml
      Parameters:
        Prefix: !Ref AWS::StackName
`

// include-nested-stacks-change-set and deployment-mode reach the wire, and
// the nested stack's changes are listed under its logical id.
func TestCFD_nested_stacks_and_revert_drift_reach_the_wire(t *testing.T) {
	t.Parallel()
	srv, cfn, s3 := deployFake(t, fast())
	s3.PutObject("templates", "child.yaml", []byte(nestedChild))
	if _, err := cfn.PutStack(fakecfn.StackSeed{Name: "app", TemplateBody: "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"}); err != nil {
		t.Fatal(err)
	}
	j := credentialsStep(t, srv, "")
	j.Write("infra/nested.yaml", nestedParent)
	r := j.Run(map[string]string{
		"name": "app", "template": "infra/nested.yaml", "role-arn": cfnRoleARN, "mode": "create-only",
		"include-nested-stacks-change-set": "1", "deployment-mode": "REVERT_DRIFT",
	}).MustSucceed(t)
	calls := cfn.CallsTo("cloudformation", "CreateChangeSet")
	if len(calls) != 1 || calls[0].Param("IncludeNestedStacks") != "true" || calls[0].Param("DeploymentMode") != "REVERT_DRIFT" {
		t.Fatalf("CreateChangeSet = %+v", calls)
	}
	for _, c := range cfn.CallsTo("cloudformation", "DescribeChangeSet") {
		if c.Param("IncludePropertyValues") != "true" {
			t.Errorf("DescribeChangeSet without IncludePropertyValues: %v", c.Params)
		}
	}
	md := r.Outputs["changes-markdown"]
	if !strings.Contains(md, "| Add | Child | AWS::CloudFormation::Stack |") || !strings.Contains(md, "| Add | Child/Log | AWS::Logs::LogGroup |") {
		t.Errorf("changes-markdown lacks the nested change:\n%s", md)
	}
	if r.Outputs["changes-count"] != "1" {
		t.Errorf("changes-count = %q, want the stack's own change only", r.Outputs["changes-count"])
	}
}

// A CFD v1 step (its README's example, with v1's no-fail-on-empty-changeset
// and JSON tags) runs unchanged, and again as a no-op.
func TestCFD_v1_step_runs_unchanged(t *testing.T) {
	t.Parallel()
	srv, cfn, _ := deployFake(t, fast())
	v1 := map[string]string{
		"name": "MyStack", "template": "myStack.yaml", "capabilities": "CAPABILITY_IAM,CAPABILITY_NAMED_IAM",
		"parameter-overrides":        "Env=staging,Subnets=\"subnet-a,subnet-b\",RetentionDays=14",
		"no-fail-on-empty-changeset": "1", "no-execute-changeset": "0", "no-delete-failed-changeset": "0",
		"disable-rollback": "0", "termination-protection": "0", "timeout-in-minutes": "30",
		"notification-arns": "arn:aws:sns:ap-northeast-1:123456789012:deploys", "role-arn": cfnRoleARN,
		"tags": `[{"Key":"Team","Value":"payments"},{"Key":"CostCenter","Value":"12345"}]`,
	}
	j := credentialsStep(t, srv, "")
	j.Write("myStack.yaml", cfdTemplate)
	j.Run(v1).MustSucceed(t)
	st, _ := cfn.Stack("MyStack")
	if st.Status != "CREATE_COMPLETE" || st.Parameters["Subnets"] != "subnet-a,subnet-b" || st.Tags["CostCenter"] != "12345" {
		t.Fatalf("stack = %+v", st)
	}
	again := credentialsStep(t, srv, "")
	again.Write("myStack.yaml", cfdTemplate)
	r := again.Run(v1).MustSucceed(t)
	if r.Outputs["has-changes"] != "false" || cfn.Count("cloudformation", "ExecuteChangeSet") != 1 {
		t.Errorf("no-op run: outputs %v, ExecuteChangeSet ×%d", r.Outputs, cfn.Count("cloudformation", "ExecuteChangeSet"))
	}
}
