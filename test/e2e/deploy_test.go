package e2e

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
)

const appTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
  ImageTag:
    Type: String
    Default: latest
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Bucket:
    Type: AWS::S3::Bucket
Outputs:
  BucketName:
    Value: !Ref Bucket
`

const cfnRoleARN = "arn:aws:iam::123456789012:role/" + cfnRole

// deployFake is a fake AWS with CloudFormation and S3 mounted, scripted fast.
func deployFake(t *testing.T, script fakecfn.Script) (*fakeaws.Server, *fakecfn.CloudFormation, *fakecfn.S3) {
	t.Helper()
	srv := newFake(t, fakeaws.Options{})
	s3 := fakecfn.NewS3()
	cfn := fakecfn.NewCloudFormation(func(o *fakecfn.Options) { o.S3, o.Script, o.EventsPageSize = s3, script, 3 })
	srv.Mount("cloudformation", cfn)
	srv.Mount("s3", s3)
	return srv, cfn, s3
}

func fast() fakecfn.Script {
	return fakecfn.Script{ChangeSetCreateDelay: 300 * time.Millisecond, StackOperationDelay: 1500 * time.Millisecond, DeleteDelay: 500 * time.Millisecond}
}

func deployInput(extra map[string]string) map[string]string {
	return keysInput(actionrun.Merge(map[string]string{
		"stack-name": "app", "template": "infra/app.yaml", "cloudformation-role-arn": cfnRoleARN,
		"parameter-overrides": "Env=prod,ImageTag=v1",
	}, extra))
}

func TestDeploy_create_through_change_set_with_service_role(t *testing.T) {
	t.Parallel()
	srv, cfn, _ := deployFake(t, fast())
	j := newJob(t, srv)
	j.Write("infra/app.yaml", appTemplate)
	r := j.Run(deployInput(nil)).MustSucceed(t)

	st, ok := cfn.Stack("app")
	if !ok || st.Status != "CREATE_COMPLETE" {
		t.Fatalf("stack = %+v", st)
	}
	if r.Outputs["stack-status"] != "CREATE_COMPLETE" || r.Outputs["has-changes"] != "true" || r.Outputs["changes-count"] != "2" || r.Outputs["stack-id"] != st.ID {
		t.Errorf("outputs = %v", r.Outputs)
	}
	if r.Outputs["BucketName"] != st.Outputs["BucketName"] || r.Outputs["BucketName"] == "" {
		t.Errorf("stack output BucketName = %q, want %q", r.Outputs["BucketName"], st.Outputs["BucketName"])
	}
	for _, c := range cfn.CallsTo("cloudformation", "CreateChangeSet") {
		if c.Param("RoleARN") != cfnRoleARN || c.Param("ChangeSetType") != "CREATE" {
			t.Errorf("CreateChangeSet params = %v", c.Params)
		}
		if !strings.Contains(c.CallerARN, "assumed-role/"+deployRole+"/") {
			t.Errorf("change set created by %s, not the deploy role session", c.CallerARN)
		}
	}
	for _, forbidden := range []string{"CreateStack", "UpdateStack"} {
		if n := cfn.Count("cloudformation", forbidden); n != 0 {
			t.Errorf("%s called %d times", forbidden, n)
		}
	}
	if !strings.Contains(r.Stdout, "::group::Stack events: app") || !strings.Contains(r.Stdout, "CREATE_COMPLETE") {
		t.Errorf("events not streamed in a group:\n%s", r.Stdout)
	}
	summary, _ := os.ReadFile(j.SummaryFile)
	if !strings.Contains(string(summary), "| Add | Topic | AWS::SNS::Topic |") {
		t.Errorf("step summary lacks the change table:\n%s", summary)
	}
	wantEnvKeys(t, r.Env)
}

func TestDeploy_update_keeps_previous_values_and_no_op_succeeds(t *testing.T) {
	t.Parallel()
	srv, cfn, _ := deployFake(t, fast())
	j := newJob(t, srv)
	j.Write("infra/app.yaml", appTemplate)
	j.Run(deployInput(nil)).MustSucceed(t)

	// Update: ImageTag changes, Env is left out and must keep "prod".
	cfn.ResetCalls()
	r := newJobIn(t, srv, j).Run(deployInput(map[string]string{"parameter-overrides": "ImageTag=v2"})).MustSucceed(t)
	calls := cfn.CallsTo("cloudformation", "CreateChangeSet")
	if len(calls) != 1 {
		t.Fatalf("CreateChangeSet calls = %d", len(calls))
	}
	p := calls[0].Params
	if p.Get("ChangeSetType") != "UPDATE" || !paramUsesPrevious(p, "Env") {
		t.Errorf("update params = %v", p)
	}
	if st, _ := cfn.Stack("app"); st.Parameters["Env"] != "prod" || st.Parameters["ImageTag"] != "v2" || st.Status != "UPDATE_COMPLETE" {
		t.Errorf("stack after update = %+v", st)
	}
	if r.Outputs["stack-status"] != "UPDATE_COMPLETE" {
		t.Errorf("outputs = %v", r.Outputs)
	}

	// No-op: same inputs again -> success, has-changes false, the empty change set deleted.
	r = newJobIn(t, srv, j).Run(deployInput(map[string]string{"parameter-overrides": "ImageTag=v2"})).MustSucceed(t)
	if r.Outputs["has-changes"] != "false" || r.Outputs["changes-count"] != "0" {
		t.Errorf("no-op outputs = %v", r.Outputs)
	}
	if cfn.Count("cloudformation", "ExecuteChangeSet") != 1 {
		t.Errorf("ExecuteChangeSet calls = %d, want 1 (none for the no-op)", cfn.Count("cloudformation", "ExecuteChangeSet"))
	}
	for _, cs := range cfn.ChangeSets() {
		if cs.Status == "FAILED" && !cs.Deleted {
			t.Errorf("empty change set %s left behind", cs.Name)
		}
	}
	// fail-on-empty-changeset turns the no-op into a failure.
	newJobIn(t, srv, j).Run(deployInput(map[string]string{"parameter-overrides": "ImageTag=v2", "fail-on-empty-changeset": "true"})).
		MustFail(t, "no changes")
}

func paramUsesPrevious(p map[string][]string, key string) bool {
	for i := 1; i <= 20; i++ {
		k := "Parameters.member." + strconv.Itoa(i)
		if v := p[k+".ParameterKey"]; len(v) == 1 && v[0] == key {
			u := p[k+".UsePreviousValue"]
			return len(u) == 1 && u[0] == "true"
		}
	}
	return false
}

func TestDeploy_failure_reports_root_cause_first(t *testing.T) {
	t.Parallel()
	s := fast()
	s.FailResources = map[string]string{"Bucket": "bucket app-data already exists in another account"}
	s.RollbackDelay = 300 * time.Millisecond
	srv, cfn, _ := deployFake(t, s)
	j := newJob(t, srv)
	j.Write("infra/app.yaml", appTemplate)
	r := j.Run(deployInput(nil)).MustFail(t, "bucket app-data already exists in another account", "ROLLBACK_COMPLETE")
	errLine := ""
	if errs := r.ErrorLines(); len(errs) > 0 {
		errLine = errs[len(errs)-1]
	}
	if i, k := strings.Index(errLine, "already exists"), strings.Index(errLine, "ROLLBACK_COMPLETE"); i < 0 || k < 0 || i > k {
		t.Errorf("root cause is not first in the error: %s", errLine)
	}
	if st, _ := cfn.Stack("app"); st.Status != "ROLLBACK_COMPLETE" {
		t.Errorf("stack = %s", st.Status)
	}
	// The next deploy recovers: the ROLLBACK_COMPLETE stack is deleted and created afresh.
	cfn.SetScript(fast())
	r = newJobIn(t, srv, j).Run(deployInput(nil)).MustSucceed(t)
	if !strings.Contains(r.Stdout, "ROLLBACK_COMPLETE") || cfn.Count("cloudformation", "DeleteStack") != 1 {
		t.Errorf("no logged deletion of the ROLLBACK_COMPLETE stack (DeleteStack×%d):\n%s", cfn.Count("cloudformation", "DeleteStack"), r.Stdout)
	}
}

func TestDeploy_review_in_progress_stack_is_created_in_place(t *testing.T) {
	t.Parallel()
	srv, cfn, _ := deployFake(t, fast())
	if _, err := cfn.PutStack(fakecfn.StackSeed{Name: "app", Status: "REVIEW_IN_PROGRESS"}); err != nil {
		t.Fatal(err)
	}
	j := newJob(t, srv)
	j.Write("infra/app.yaml", appTemplate)
	j.Run(deployInput(nil)).MustSucceed(t)
	if st, _ := cfn.Stack("app"); st.Status != "CREATE_COMPLETE" {
		t.Errorf("stack = %s", st.Status)
	}
}

func TestDeploy_execute_changeset_false_leaves_it_for_review(t *testing.T) {
	t.Parallel()
	srv, cfn, _ := deployFake(t, fast())
	j := newJob(t, srv)
	j.Write("infra/app.yaml", appTemplate)
	r := j.Run(deployInput(map[string]string{"execute-changeset": "false"})).MustSucceed(t)
	if cfn.Count("cloudformation", "ExecuteChangeSet") != 0 {
		t.Errorf("change set executed")
	}
	if r.Outputs["change-set-id"] == "" || r.Outputs["has-changes"] != "true" {
		t.Errorf("outputs = %v", r.Outputs)
	}
	css := cfn.ChangeSets()
	if len(css) != 1 || css[0].Deleted || css[0].Status != "CREATE_COMPLETE" {
		t.Errorf("change sets = %+v", css)
	}
}

func TestDeploy_large_template_goes_through_s3(t *testing.T) {
	t.Parallel()
	srv, cfn, s3 := deployFake(t, fast())
	j := newJob(t, srv)
	big := appTemplate + "\n# " + strings.Repeat("padding ", 8000) + "\n"
	j.Write("infra/app.yaml", big)
	j.Run(deployInput(nil)).MustFail(t, "input template:", "s3-bucket")
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d requests before refusing the large template", n)
	}
	newJobIn(t, srv, j).Run(deployInput(map[string]string{"s3-bucket": "artifacts-bucket", "s3-prefix": "cfn/app"})).MustSucceed(t)
	puts := s3.Puts()
	if len(puts) != 1 || puts[0].Bucket != "artifacts-bucket" || !strings.HasPrefix(puts[0].Key, "cfn/app/") {
		t.Fatalf("S3 puts = %+v", puts)
	}
	if u := cfn.CallsTo("cloudformation", "CreateChangeSet")[0].Param("TemplateURL"); !strings.Contains(u, puts[0].Key) {
		t.Errorf("TemplateURL = %q", u)
	}
}

func TestDeploy_timeout_is_a_failure(t *testing.T) {
	t.Parallel()
	s := fast()
	s.StuckInProgress = true
	srv, _, _ := deployFake(t, s)
	j := newJob(t, srv)
	j.Write("infra/app.yaml", appTemplate)
	r := j.Run(deployInput(map[string]string{"action-timeout-s": "5"}))
	r.MustFail(t, "CREATE_IN_PROGRESS")
	if r.Elapsed > 15*time.Second {
		t.Errorf("took %s with a 5 s limit", r.Elapsed)
	}
}

func TestDeploy_cancellation_reports_and_exits_nonzero(t *testing.T) {
	t.Parallel()
	s := fast()
	s.ChangeSetCreateDelay = 30 * time.Second
	srv, cfn, _ := deployFake(t, s)
	j := newJob(t, srv)
	j.Write("infra/app.yaml", appTemplate)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := j.Command(ctx, deployInput(nil))
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for cfn.Count("cloudformation", "CreateChangeSet") == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if err == nil {
		t.Fatalf("exit 0 after SIGTERM:\n%s", out.String())
	}
	if !strings.Contains(strings.ToLower(out.String()), "cancel") {
		t.Errorf("no cancellation message:\n%s", out.String())
	}
	for _, cs := range cfn.ChangeSets() {
		if !cs.Deleted {
			t.Errorf("change set %s (%s) left behind after cancellation", cs.Name, cs.Status)
		}
	}
	if b, _ := os.ReadFile(j.EnvFile); len(b) != 0 {
		t.Errorf("GITHUB_ENV written after cancellation")
	}
}
