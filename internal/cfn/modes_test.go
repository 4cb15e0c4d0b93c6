package cfn

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/google/go-cmp/cmp"
)

// executeOnly is the execute-only mode's Options: a stack and a change set.
func executeOnly(ref string) Options {
	return Options{StackName: "app", ExecuteChangeSet: ref, Execute: true, Timeout: 10 * time.Minute}
}

// The create-only run leaves a change set; the execute-only run executes it
// by id or by name, without creating another (CFD main.test.ts:
// "create-only mode creates change set without executing", "execute-only
// mode executes existing change set").
func TestDeploy_create_only_then_execute_only(t *testing.T) {
	t.Parallel()
	for _, byName := range []bool{false, true} {
		t.Run(map[bool]string{false: "by_id", true: "by_name"}[byName], func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.cfn.addStack("app", types.StackStatusUpdateComplete)
			e.cfn.csChanges = []types.Change{{ResourceChange: &types.ResourceChange{Action: types.ChangeActionModify, LogicalResourceId: aws.String("Bucket"), ResourceType: aws.String("AWS::S3::Bucket"), Replacement: types.ReplacementFalse}}}
			o := testOptions(t)
			o.Execute = false
			created, err := e.d.Deploy(context.Background(), o)
			if err != nil || created.Executed || !created.HasChanges {
				t.Fatalf("create-only: %+v, %v", created, err)
			}
			e.cfn.exec.events = []scriptedEvent{{at: 5 * time.Second, logical: "Bucket", typ: "AWS::S3::Bucket", status: types.ResourceStatusUpdateComplete}}
			ref := created.ChangeSetID
			if byName {
				ref = created.ChangeSetName
			}
			res, err := e.d.Deploy(context.Background(), executeOnly(ref))
			if err != nil {
				t.Fatalf("execute-only: %v\n%s", err, e.log.text())
			}
			if diff := cmp.Diff([]string{"CreateChangeSet", "ExecuteChangeSet"}, mutations(e.cfn)); diff != "" {
				t.Errorf("mutating calls over both runs (-want +got):\n%s", diff)
			}
			if !res.Executed || res.StackStatus != "UPDATE_COMPLETE" || res.ChangeSetID != created.ChangeSetID || res.ChangeSetName != "deploy-1" || res.ChangesCount != 1 || res.ChangeSetType != "UPDATE" {
				t.Errorf("Result = %+v", res)
			}
			exec := inputs[*cloudformation.ExecuteChangeSetInput](e.cfn, "ExecuteChangeSet")[0]
			if aws.ToString(exec.ChangeSetName) != created.ChangeSetID {
				t.Errorf("executed %s, want the id %s", aws.ToString(exec.ChangeSetName), created.ChangeSetID)
			}
			if !strings.Contains(e.log.text(), "UPDATE_COMPLETE") || !strings.Contains(e.log.text(), "Bucket") {
				t.Errorf("events not streamed:\n%s", e.log.text())
			}
		})
	}
}

func TestDeploy_execute_only_creates_a_reviewed_stack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st := e.cfn.addStack("app", types.StackStatusReviewInProgress)
	cs := e.cfn.addChangeSet(st, "review-1", types.ChangeSetTypeCreate)
	o := executeOnly(cs.id)
	o.TerminationProtection = true
	res, err := e.d.Deploy(context.Background(), o)
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if !res.Created || res.StackStatus != "CREATE_COMPLETE" || res.ChangeSetType != "CREATE" {
		t.Errorf("Result = %+v", res)
	}
	if diff := cmp.Diff([]string{"ExecuteChangeSet", "UpdateTerminationProtection"}, mutations(e.cfn)); diff != "" {
		t.Errorf("mutating calls (-want +got):\n%s", diff)
	}
}

func TestDeploy_execute_only_refuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		setup   func(f *fakeCFN) string // returns the reference to execute
		wantErr string
	}{
		{"missing", func(f *fakeCFN) string {
			f.addStack("app", types.StackStatusUpdateComplete)
			return "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/gone/0001"
		}, "change set arn:aws:cloudformation:eu-west-1:123456789012:changeSet/gone/0001 of stack app does not exist"},
		{"other_stack", func(f *fakeCFN) string {
			f.addStack("app", types.StackStatusUpdateComplete)
			return f.addChangeSet(f.addStack("other", types.StackStatusUpdateComplete), "cs", types.ChangeSetTypeUpdate).id
		}, "belongs to stack other, not app"},
		{"failed", func(f *fakeCFN) string {
			cs := f.addChangeSet(f.addStack("app", types.StackStatusUpdateComplete), "cs", types.ChangeSetTypeUpdate)
			cs.failReason = "Template format error: Unresolved resource dependencies [X]"
			return cs.id
		}, "change set cs is FAILED: Template format error: Unresolved resource dependencies [X]: it cannot be executed"},
		{"empty", func(f *fakeCFN) string {
			cs := f.addChangeSet(f.addStack("app", types.StackStatusUpdateComplete), "cs", types.ChangeSetTypeUpdate)
			cs.failReason = "The submitted information didn't contain changes."
			return cs.name
		}, "change set cs has no changes"},
		{"stale", func(f *fakeCFN) string {
			cs := f.addChangeSet(f.addStack("app", types.StackStatusUpdateComplete), "cs", types.ChangeSetTypeUpdate)
			cs.obsolete = true
			return cs.id
		}, "change set cs is stale (OBSOLETE): stack app changed after it was created"},
		{"executed", func(f *fakeCFN) string {
			cs := f.addChangeSet(f.addStack("app", types.StackStatusUpdateComplete), "cs", types.ChangeSetTypeUpdate)
			cs.executed = true
			return cs.id
		}, "change set cs was already executed"},
		{"stack_busy", func(f *fakeCFN) string {
			return f.addChangeSet(f.addStack("app", types.StackStatusUpdateInProgress), "cs", types.ChangeSetTypeUpdate).id
		}, "stack app is UPDATE_IN_PROGRESS: another operation is running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ref := tc.setup(e.cfn)
			_, err := e.d.Deploy(context.Background(), executeOnly(ref))
			if !strings.Contains(errString(err), tc.wantErr) {
				t.Fatalf("error = %q, want %q", errString(err), tc.wantErr)
			}
			if m := mutations(e.cfn); len(m) != 0 {
				t.Errorf("mutating calls %v, want none (the change set is not ours to delete)", m)
			}
		})
	}
}

// Cancelling an execute-only run never deletes the reviewed change set.
func TestDeploy_execute_only_cancelled_keeps_the_change_set(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cs := e.cfn.addChangeSet(e.cfn.addStack("app", types.StackStatusUpdateComplete), "cs", types.ChangeSetTypeUpdate)
	ctx, cancel := context.WithCancel(context.Background())
	e.cfn.fail["DescribeStacks"] = context.Canceled
	cancel()
	_, err := e.d.Deploy(ctx, executeOnly(cs.id))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, op := range e.cfn.ops() {
		if op == "DeleteChangeSet" {
			t.Errorf("deleted the change set: %v", e.cfn.ops())
		}
	}
}

// With IncludePropertyValues the table shows values before and after; the
// NoEcho parameter's values never appear, neither where AWS says a change
// comes from it nor anywhere else its value would show.
func TestDeploy_property_values_mask_no_echo(t *testing.T) {
	t.Parallel()
	secret := "hunter2-db-password"
	before, after := "old-"+secret, "new-"+secret
	e := newEnv(t)
	e.cfn.addStack("app", types.StackStatusUpdateComplete, value("Env", "dev"), value("DBPassword", "****"))
	e.cfn.csChanges = []types.Change{{ResourceChange: &types.ResourceChange{
		Action: types.ChangeActionModify, LogicalResourceId: aws.String("Db"), ResourceType: aws.String("AWS::RDS::DBInstance"), Replacement: types.ReplacementTrue,
		BeforeContext: aws.String(`{"Properties":{"MasterUserPassword":"x"}}`), AfterContext: aws.String(`{"Properties":{"MasterUserPassword":"` + secret + `"}}`),
		Details: []types.ResourceChangeDetail{
			{ChangeSource: types.ChangeSourceParameterReference, CausingEntity: aws.String("DBPassword"),
				Target: &types.ResourceTargetDefinition{Attribute: types.ResourceAttributeProperties, Name: aws.String("MasterUserPassword"), RequiresRecreation: types.RequiresRecreationNever, BeforeValue: aws.String(before), AfterValue: aws.String(after)}},
			{ChangeSource: types.ChangeSourceDirectModification,
				Target: &types.ResourceTargetDefinition{Attribute: types.ResourceAttributeProperties, Name: aws.String("Engine"), RequiresRecreation: types.RequiresRecreationAlways, BeforeValue: aws.String("mysql"), AfterValue: aws.String("postgres " + secret)}},
		},
	}}}
	o := testOptions(t)
	o.Template.NoEcho = []string{"DBPassword"}
	o.Execute = false
	o.Parameters = []Parameter{{Key: "Env", Value: "prod"}, {Key: "DBPassword", Value: secret}}
	res, err := e.d.Deploy(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	md, js := res.ChangesMarkdown(), res.ChangesSummaryJSON()
	for name, text := range map[string]string{"markdown": md, "json": js, "summary": res.Markdown(ReportOptions{})} {
		if strings.Contains(text, secret) {
			t.Errorf("%s shows the NoEcho value:\n%s", name, text)
		}
	}
	for _, want := range []string{"| Db | Properties.MasterUserPassword | \\*\\*\\*\\* | \\*\\*\\*\\* | Never |", "| Db | Properties.Engine | mysql | postgres \\*\\*\\*\\* | ⚠️ **Always** |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(e.log.text(), "mask: "+secret) {
		t.Errorf("the NoEcho value was not masked in the log:\n%s", e.log.text())
	}
	var summary struct {
		Changes []struct {
			ResourceChange struct {
				AfterContext string
				Details      []struct{ Target struct{ AfterValue string } }
			}
		} `json:"changes"`
		TotalChanges int `json:"totalChanges"`
	}
	if err := json.Unmarshal([]byte(js), &summary); err != nil || summary.TotalChanges != 1 || len(summary.Changes) != 1 ||
		summary.Changes[0].ResourceChange.AfterContext != `{"Properties":{"MasterUserPassword":"****"}}` {
		t.Errorf("changes-summary = %s (%v)", js, err)
	}

	// Kept from the last deploy, the NoEcho value is unknown here, so no
	// property value can be shown safely.
	e2 := newEnv(t)
	e2.cfn.addStack("app", types.StackStatusUpdateComplete, value("Env", "dev"), value("DBPassword", "****"))
	e2.cfn.csChanges = e.cfn.csChanges
	o.Parameters = []Parameter{{Key: "Env", Value: "prod"}}
	res, err = e2.d.Deploy(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	md = res.ChangesMarkdown()
	if strings.Contains(md, secret) || strings.Contains(md, "mysql") || !strings.Contains(md, "Property values are withheld: the NoEcho parameter(s) DBPassword have values this deploy did not give") {
		t.Errorf("values not withheld:\n%s", md)
	}
}

// include-nested-stacks-change-set: the request says so and the nested
// stack's changes are listed under its logical id.
func TestDeploy_nested_changes_and_deployment_mode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.addStack("app", types.StackStatusUpdateComplete)
	nestedID := "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/nested/0099"
	e.cfn.csChanges = []types.Change{{ResourceChange: &types.ResourceChange{Action: types.ChangeActionModify, LogicalResourceId: aws.String("Network"), ResourceType: aws.String("AWS::CloudFormation::Stack"), ChangeSetId: aws.String(nestedID)}}}
	e.cfn.nested = map[string][]types.Change{nestedID: {{ResourceChange: &types.ResourceChange{Action: types.ChangeActionAdd, LogicalResourceId: aws.String("Subnet"), ResourceType: aws.String("AWS::EC2::Subnet")}}}}
	e.cfn.sets[nestedID] = &fakeChangeSet{id: nestedID, name: "nested", stackID: e.cfn.byName["app"]}
	o := testOptions(t)
	o.Execute = false
	o.IncludeNestedStacks = true
	o.DeploymentMode = "REVERT_DRIFT"
	res, err := e.d.Deploy(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	in := inputs[*cloudformation.CreateChangeSetInput](e.cfn, "CreateChangeSet")[0]
	if !aws.ToBool(in.IncludeNestedStacks) || in.DeploymentMode != types.DeploymentModeRevertDrift {
		t.Errorf("IncludeNestedStacks = %v, DeploymentMode = %q", aws.ToBool(in.IncludeNestedStacks), in.DeploymentMode)
	}
	if res.ChangesCount != 1 || len(res.Changes) != 2 || res.Changes[1].Stack != "Network" {
		t.Errorf("changes = %+v", res.Changes)
	}
	if md := res.ChangesMarkdown(); !strings.Contains(md, "| Add | Network/Subnet | AWS::EC2::Subnet |") {
		t.Errorf("markdown lacks the nested change:\n%s", md)
	}
	for _, d := range inputs[*cloudformation.DescribeChangeSetInput](e.cfn, "DescribeChangeSet") {
		if !aws.ToBool(d.IncludePropertyValues) {
			t.Errorf("DescribeChangeSet without IncludePropertyValues: %+v", d)
		}
	}
}

// CloudFormation takes a deployment mode on updates only.
func TestDeploy_deployment_mode_left_out_on_create(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := testOptions(t)
	o.DeploymentMode = "REVERT_DRIFT"
	if _, err := e.d.Deploy(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if in := inputs[*cloudformation.CreateChangeSetInput](e.cfn, "CreateChangeSet")[0]; in.DeploymentMode != "" {
		t.Errorf("DeploymentMode = %q on a create", in.DeploymentMode)
	}
	if !strings.Contains(e.log.text(), "warning: deployment-mode REVERT_DRIFT is left out") {
		t.Errorf("no warning:\n%s", e.log.text())
	}
}

// GetTemplateSummary gives a URL template's parameters, so previous values
// and unknown keys work as for a local file.
func TestDeploy_url_template_reads_declared_parameters(t *testing.T) {
	t.Parallel()
	summary := &cloudformation.GetTemplateSummaryOutput{Parameters: []types.ParameterDeclaration{
		{ParameterKey: aws.String("Env")}, {ParameterKey: aws.String("DBPassword"), NoEcho: aws.Bool(true)},
	}}
	url := Template{URL: "https://b.s3.eu-west-1.amazonaws.com/app.yaml"}

	e := newEnv(t)
	e.cfn.summary = summary
	e.cfn.addStack("app", types.StackStatusUpdateComplete, value("Env", "dev"), value("DBPassword", "****"), value("Old", "x"))
	o := testOptions(t)
	o.Template = url
	o.Parameters = []Parameter{{Key: "DBPassword", Value: "s3cr3t-value"}}
	if _, err := e.d.Deploy(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	in := inputs[*cloudformation.CreateChangeSetInput](e.cfn, "CreateChangeSet")[0]
	if diff := cmp.Diff(params(value("DBPassword", "s3cr3t-value"), previous("Env")), in.Parameters, ignoreSDK); diff != "" {
		t.Errorf("Parameters (-want +got):\n%s", diff)
	}
	if !strings.Contains(e.log.text(), "mask: s3cr3t-value") {
		t.Errorf("NoEcho value not masked:\n%s", e.log.text())
	}

	// An undeclared key from a split value is refused before any change set,
	// by position.
	e = newEnv(t)
	e.cfn.summary = summary
	o.Parameters = []Parameter{{Key: "Env", Value: "a", Item: 1}, {Key: "b", Value: "c", Item: 2, After: "Env"}}
	_, err := e.d.Deploy(context.Background(), o)
	want := "parameter-overrides: item 2 (after Env) names a parameter the template does not declare"
	if !strings.Contains(errString(err), want) || !strings.Contains(errString(err), "it declares: DBPassword, Env") || len(mutations(e.cfn)) != 0 {
		t.Errorf("error = %q, mutations %v; want %q", errString(err), mutations(e.cfn), want)
	}
}

// Without timeout-in-minutes the action sets no limit of its own: a
// two-hour update succeeds (the job's timeout-minutes bounds the step).
func TestDeploy_no_timeout_by_default(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.exec = stackOp{duration: 2 * time.Hour}
	o := testOptions(t)
	o.Timeout = 0
	res, err := e.d.Deploy(context.Background(), o)
	if err != nil || res.StackStatus != "CREATE_COMPLETE" || res.Elapsed < 2*time.Hour {
		t.Errorf("Deploy = %+v, %v", res, err)
	}
}

// The create-only run with an empty change set sets has-changes false and
// changes-count 0 (CFD main.test.ts: "create-only mode with empty change
// set"); the JSON still has CFD's shape.
func TestDeploy_create_only_empty_change_set_summary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.addStack("app", types.StackStatusUpdateComplete)
	e.cfn.csReason = "The submitted information didn't contain changes. Submit different information to create a change set."
	o := testOptions(t)
	o.Execute = false
	res, err := e.d.Deploy(context.Background(), o)
	if err != nil || res.HasChanges || res.ChangesCount != 0 {
		t.Fatalf("Result = %+v, %v", res, err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(res.ChangesSummaryJSON()), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"changes": []any{}, "totalChanges": 0.0, "truncated": false, "status": "FAILED", "executionStatus": "UNAVAILABLE", "creationTime": "2026-03-01T12:00:00Z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes-summary (-want +got):\n%s", diff)
	}
	if md := res.ChangesMarkdown(); !strings.Contains(md, "No changes: the stack is up to date.") {
		t.Errorf("markdown = %q", md)
	}
}

// The template's NoEcho parameters are read with its parameter names: JSON,
// YAML, a quoted "true" and a merge key.
func TestParseTemplateBody_no_echo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, body string }{
		{"json", `{"Parameters":{"Pw":{"Type":"String","NoEcho":true},"Key":{"Type":"String","NoEcho":"true"},"Env":{"Type":"String"}},"Resources":{}}`},
		{"yaml", "Parameters:\n  Pw:\n    Type: String\n    NoEcho: true\n  Key:\n    Type: String\n    NoEcho: 'True'\n  Env:\n    Type: String\n    NoEcho: false\nResources: {}\n"},
		{"yaml_merge", "Secret: &secret\n  Type: String\n  NoEcho: true\nParameters:\n  Pw:\n    <<: *secret\n  Key: *secret\n  Env:\n    Type: String\nResources: {}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := parseTemplateBody([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"Key", "Pw"}, tmpl.NoEcho); diff != "" {
				t.Errorf("NoEcho (-want +got):\n%s", diff)
			}
		})
	}
}
