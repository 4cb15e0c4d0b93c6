package iampolicy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The template bucket's objects may be written and read only in a bucket of
// the deploy role's own account: a mistyped or re-registered bucket of
// someone else must not receive, or serve, the template CloudFormation runs
// with the service role (issue 14, finding 10).
func TestBootstrap_template_bucket_only_in_this_account(t *testing.T) {
	t.Parallel()
	st := deployStatement(t, bootstrap(t), "StageLargeTemplates")
	want := map[string]any{"StringEquals": map[string]any{"s3:ResourceAccount": map[string]any{"Ref": "AWS::AccountId"}}}
	if d := cmp.Diff(want, st["Condition"]); d != "" {
		t.Errorf("StageLargeTemplates condition (-want +got):\n%s", d)
	}
}
