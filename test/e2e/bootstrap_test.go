package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
)

// The IAM setup the action ships must deploy through the action itself.
func bootstrapInput(extra map[string]string) map[string]string {
	return keysInput(actionrun.Merge(map[string]string{
		"stack-name": "aws-assume-deploy-bootstrap", "template": "iam/bootstrap.yaml",
		"capabilities": "CAPABILITY_IAM,CAPABILITY_NAMED_IAM",
		"parameter-overrides": "GitHubOrg=octo-org\nGitHubRepo=octo-repo\nStackNamePrefix=app\n" +
			"CloudFormationManagedPolicyArns=\"arn:aws:iam::aws:policy/AmazonS3FullAccess,arn:aws:iam::aws:policy/AmazonSNSFullAccess\"\nCreateDeployUser=true",
	}, extra))
}

func copyBootstrap(t *testing.T, j *actionrun.Job) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "iam", "bootstrap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	j.Write("iam/bootstrap.yaml", string(b))
}

func TestBootstrap_deploys_through_the_action_on_the_fake(t *testing.T) {
	t.Parallel()
	srv, cfn, _ := deployFake(t, fakecfn.Script{ChangeSetCreateDelay: 200 * time.Millisecond, StackOperationDelay: time.Second})
	j := newJob(t, srv)
	copyBootstrap(t, j)
	r := j.Run(bootstrapInput(nil)).MustSucceed(t)
	for _, k := range []string{"DeployRoleArn", "CloudFormationRoleArn"} {
		if r.Outputs[k] == "" {
			t.Errorf("output %s missing: %v", k, r.Outputs)
		}
	}
	if st, _ := cfn.Stack("aws-assume-deploy-bootstrap"); st.Status != "CREATE_COMPLETE" || st.Parameters["StackNamePrefix"] != "app" {
		t.Errorf("stack = %s %v", st.Status, st.Parameters)
	}
}

func TestBootstrap_deploys_through_the_action_on_moto(t *testing.T) {
	t.Parallel()
	moto := startMoto(t)
	j := newJob(t, nil)
	j.Env["AWS_ENDPOINT_URL"] = moto
	copyBootstrap(t, j)
	r := j.Run(bootstrapInput(nil)).MustSucceed(t)
	if r.Outputs["stack-status"] != "CREATE_COMPLETE" || !strings.Contains(r.Stdout, "AWS::IAM::Role") {
		t.Errorf("outputs = %v\n%s", r.Outputs, r.Stdout)
	}
}
