package e2e

import (
	"strings"
	"testing"
)

// The CFD v2 step, its review with no-execute-changeset "1" and the
// execute-only step on moto, an independent CloudFormation: the inputs
// unchanged, the credentials from a previous step. moto has no
// UpdateTerminationProtection, so that one input is "0" here.
func TestMoto_cfd_workflow(t *testing.T) {
	t.Parallel()
	moto := startMoto(t)
	cfdV2 := func(extra map[string]string) map[string]string {
		in := cfdV2(extra)
		in["termination-protection"] = "0"
		return in
	}
	j := credentialsStep(t, nil, moto)
	r := j.Run(cfdV2(nil)).MustSucceed(t)
	if r.Outputs["stack-status"] != "CREATE_COMPLETE" {
		t.Fatalf("create: outputs = %v", r.Outputs)
	}

	// moto diffs templates, not parameter values: the change under review
	// is a new queue.
	review := credentialsStep(t, nil, moto)
	review.Write("infra/cfd.yaml", strings.Replace(cfdTemplate, "Outputs:", "  Queue:\n    Type: AWS::SQS::Queue\nOutputs:", 1))
	r = review.Run(cfdV2(map[string]string{"no-execute-changeset": "1"})).MustSucceed(t)
	id := r.Outputs["change-set-id"]
	if id == "" || r.Outputs["has-changes"] != "true" || r.Outputs["changes-count"] != "1" || !strings.Contains(r.Outputs["changes-markdown"], "| Add | Queue | AWS::SQS::Queue |") || !strings.Contains(r.Outputs["changes-summary"], `"totalChanges": 1`) {
		t.Fatalf("review: outputs = %v", r.Outputs)
	}
	if strings.Contains(r.Stdout, "Executing change set") {
		t.Fatalf("the review step executed the change set:\n%s", r.Stdout)
	}

	exec := credentialsStep(t, nil, moto)
	r = exec.Run(map[string]string{"name": "app", "mode": "execute-only", "execute-change-set-id": id}).MustSucceed(t)
	if r.Outputs["stack-status"] != "UPDATE_COMPLETE" || r.Outputs["change-set-id"] != id {
		t.Errorf("execute-only: outputs = %v", r.Outputs)
	}
	if strings.Contains(r.Stdout, "Created UPDATE change set") || strings.Contains(r.Stdout, "Created CREATE change set") {
		t.Errorf("execute-only created a change set:\n%s", r.Stdout)
	}
}
