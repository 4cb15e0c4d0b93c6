package fakecfn

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/google/go-cmp/cmp"
)

const cliTemplate = `Parameters:
  K:
    Type: String
  Mode:
    Type: String
    Default: a
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: !Ref K
Outputs:
  TopicName:
    Value: !Ref Topic
`

// TestRealCLIDeploy runs the real `aws cloudformation deploy` against the fake.
// Delays are zero, so the CLI's waiters succeed on their first poll.
func TestRealCLIDeploy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the AWS CLI (a few seconds)")
	}
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the AWS CLI (aws) is not on PATH")
	}
	t.Parallel()
	fake := NewCloudFormation()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	tmplPath := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(tmplPath, []byte(cliTemplate), 0o600); err != nil {
		t.Fatal(err)
	}

	deploy := func(stack string, extra ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		args := append([]string{"cloudformation", "deploy", "--template-file", tmplPath, "--stack-name", stack,
			"--role-arn", roleARN}, extra...)
		cmd := exec.CommandContext(ctx, awsPath, args...)
		// Only what the CLI needs: no developer AWS settings leak in.
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + os.Getenv("HOME"), // pyenv shims find their Python through it
			"AWS_ENDPOINT_URL=" + srv.URL,
			"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
			"AWS_SECRET_ACCESS_KEY=secret",
			"AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE=/dev/null",
			"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_EC2_METADATA_DISABLED=true",
			"AWS_PAGER=",
		}
		for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION"} {
			if v, ok := os.LookupEnv(k); ok {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
		}
		out, err := cmd.CombinedOutput()
		// The CLI names change sets by the unix second; the next deploy
		// must not reuse the name (AlreadyExistsException, as on AWS).
		now := time.Now()
		time.Sleep(now.Truncate(time.Second).Add(time.Second).Sub(now))
		return string(out), err
	}
	actions := func() []string {
		var out []string
		for _, c := range fake.Calls() {
			out = append(out, c.Action)
		}
		fake.ResetCalls()
		return out
	}

	// 1. Create.
	out, err := deploy("s", "--parameter-overrides", "K=V")
	if err != nil {
		t.Fatalf("create deploy: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Successfully created/updated stack - s") {
		t.Errorf("create output:\n%s", out)
	}
	calls := fake.CallsTo("cloudformation", "CreateChangeSet")
	if len(calls) != 1 || calls[0].Param("RoleARN") != roleARN || calls[0].Param("ChangeSetType") != "CREATE" {
		t.Errorf("CreateChangeSet calls = %+v", calls)
	}
	if diff := cmp.Diff([]string{"DescribeStacks", "CreateChangeSet", "DescribeChangeSet", "ExecuteChangeSet", "DescribeStacks"}, actions()); diff != "" {
		t.Errorf("create call sequence (-want +got):\n%s", diff)
	}
	st, _ := fake.Stack("s")
	if diff := cmp.Diff([]string{"CREATE_COMPLETE", "V", "a"}, []string{st.Status, st.Parameters["K"], st.Parameters["Mode"]}); diff != "" {
		t.Errorf("stack after create (-want +got):\n%s", diff)
	}

	// 2. The same again: an empty change set, which the CLI reports as up to date.
	out, err = deploy("s", "--parameter-overrides", "K=V", "--no-fail-on-empty-changeset")
	if err != nil || !strings.Contains(out, "No changes to deploy. Stack s is up to date") {
		t.Errorf("no-op deploy: %v\n%s", err, out)
	}
	if diff := cmp.Diff([]string{"DescribeStacks", "GetTemplateSummary", "CreateChangeSet", "DescribeChangeSet"}, actions()); diff != "" {
		t.Errorf("no-op call sequence (-want +got):\n%s", diff)
	}

	// The CLI leaves the empty change set behind and names change sets by the
	// second, so a deploy within the same second would collide with it.
	client := cloudformation.New(cloudformation.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	for _, cs := range fake.ChangeSets() {
		if !cs.Deleted && cs.Status == "FAILED" {
			if _, err := client.DeleteChangeSet(context.Background(), &cloudformation.DeleteChangeSetInput{ChangeSetName: aws.String(cs.ID)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	actions()

	// 3. A changed parameter updates; the unchanged one is sent as UsePreviousValue.
	out, err = deploy("s", "--parameter-overrides", "K=W")
	if err != nil {
		t.Fatalf("update deploy: %v\n%s", err, out)
	}
	update := fake.CallsTo("cloudformation", "CreateChangeSet")
	actions()
	if len(update) != 1 {
		t.Fatalf("update CreateChangeSet calls = %d, want 1", len(update))
	}
	sent := map[string]string{}
	for _, m := range members(update[0].Params, "Parameters") {
		sent[m["ParameterKey"]] = m["ParameterValue"] + "|" + m["UsePreviousValue"]
	}
	if diff := cmp.Diff(map[string]string{"K": "W|", "Mode": "|true"}, sent); diff != "" {
		t.Errorf("update parameters (-want +got):\n%s", diff)
	}
	st, _ = fake.Stack("s")
	if st.Status != "UPDATE_COMPLETE" || st.Parameters["K"] != "W" {
		t.Errorf("stack after update: %s K=%s, want UPDATE_COMPLETE K=W", st.Status, st.Parameters["K"])
	}

	// 4. A failing resource: the stack rolls back and the CLI fails.
	fake.SetStackScript("bad", Script{FailResources: map[string]string{"Topic": "Resource handler returned message: \"denied\""}})
	out, err = deploy("bad", "--parameter-overrides", "K=V")
	if err == nil || !strings.Contains(out, "Failed to create/update the stack") {
		t.Errorf("failing deploy: err %v\n%s", err, out)
	}
	if st, _ := fake.Stack("bad"); st.Status != "ROLLBACK_COMPLETE" {
		t.Errorf("failing stack status = %s, want ROLLBACK_COMPLETE", st.Status)
	}
}
