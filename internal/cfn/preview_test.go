package cfn

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/google/go-cmp/cmp"
)

func TestPreviewChangeSetName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		pr   int
		sha  string
		want string
	}{
		{"full_sha", 42, "0123456789ABCDEF0123456789abcdef01234567", "preview-pr42-0123456"},
		{"short_sha", 7, "abc", "preview-pr7-abc"},
		{"no_sha", 7, "", "preview-pr7-head"},
		{"hostile_sha", 7, "../x;y", "preview-pr7-x-y"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := PreviewChangeSetName(tc.pr, tc.sha)
			if got != tc.want || ValidChangeSetName(got) != nil || !IsPreviewChangeSetName(got) {
				t.Errorf("PreviewChangeSetName(%d, %q) = %q (valid: %v), want %q", tc.pr, tc.sha, got, ValidChangeSetName(got), tc.want)
			}
		})
	}
	if !IsPreviewChangeSetName("arn:aws:cloudformation:eu-west-1:123456789012:changeSet/preview-pr7-abc/1234") {
		t.Errorf("a preview's ARN is not recognised")
	}
	for _, name := range []string{"deploy-1", "Preview-pr1-x", "pr-preview-1", "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/deploy-1/preview-x"} {
		if IsPreviewChangeSetName(name) {
			t.Errorf("IsPreviewChangeSetName(%q) = true", name)
		}
	}
}

// previewOptions is a preview of pull request 7 at commit ccccccc.
func previewOptions(t *testing.T) Options {
	o := testOptions(t)
	o.Execute, o.Preview, o.ChangeSetName = false, &Preview{PullRequest: 7}, PreviewChangeSetName(7, "ccccccc")
	return o
}

// seedChangeSets creates change sets on the stack and forgets the calls.
func seedChangeSets(t *testing.T, e *env, stack string, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := e.cfn.CreateChangeSet(context.Background(), &cloudformation.CreateChangeSetInput{
			StackName: aws.String(stack), ChangeSetName: aws.String(n), ChangeSetType: types.ChangeSetTypeUpdate,
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.cfn.mu.Lock()
	e.cfn.calls = nil
	e.cfn.mu.Unlock()
}

// liveChangeSets lists the names of the change sets not deleted, sorted.
func liveChangeSets(e *env) []string {
	e.cfn.mu.Lock()
	defer e.cfn.mu.Unlock()
	var out []string
	for _, cs := range e.cfn.sets {
		if cs.deletedAt.IsZero() {
			out = append(out, cs.name)
		}
	}
	slices.Sort(out)
	return out
}

// deletedNames are the change sets named in DeleteChangeSet calls, by id.
func deletedNames(e *env) []string {
	var out []string
	for _, in := range inputs[*cloudformation.DeleteChangeSetInput](e.cfn, "DeleteChangeSet") {
		id := aws.ToString(in.ChangeSetName)
		out = append(out, strings.Split(strings.TrimPrefix(id, "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/"), "/")[0])
	}
	return out
}

func TestDeploy_preview_deletes_only_the_pull_requests_earlier_previews(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.addStack("app", types.StackStatusUpdateComplete)
	e.cfn.pageSize = 2 // the listing takes several pages
	seedChangeSets(t, e, "app", "preview-pr7-aaaaaaa", "preview-pr8-bbbbbbb", "deploy-9", "preview-pr7-bbbbbbb", "preview-pr70-ddddddd")
	e.cfn.csChanges = []types.Change{{ResourceChange: &types.ResourceChange{Action: types.ChangeActionModify, LogicalResourceId: aws.String("Bucket"), ResourceType: aws.String("AWS::S3::Bucket")}}}
	res, err := e.d.Deploy(context.Background(), previewOptions(t))
	if err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.log.text())
	}
	if diff := cmp.Diff([]string{"ListChangeSets", "ListChangeSets", "ListChangeSets", "DeleteChangeSet", "DeleteChangeSet", "CreateChangeSet"}, mutations(e.cfn)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"preview-pr7-aaaaaaa", "preview-pr7-bbbbbbb"}, deletedNames(e)); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"deploy-9", "preview-pr7-ccccccc", "preview-pr70-ddddddd", "preview-pr8-bbbbbbb"}, liveChangeSets(e)); diff != "" {
		t.Errorf("change sets left (-want +got):\n%s", diff)
	}
	if !res.Preview || res.Executed || !res.HasChanges || res.ChangeSetName != "preview-pr7-ccccccc" {
		t.Errorf("Result = %+v", res)
	}
	if log := e.log.text(); !strings.Contains(log, "never executed") || strings.Contains(log, "execute-change-set") {
		t.Errorf("log should say the preview is never executed, and not how to execute it:\n%s", log)
	}
}

func TestDeploy_preview_rerun_at_the_same_commit_waits_for_the_old_one(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.addStack("app", types.StackStatusUpdateComplete)
	seedChangeSets(t, e, "app", "preview-pr7-ccccccc")
	if _, err := e.d.Deploy(context.Background(), previewOptions(t)); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, e.log.text())
	}
	ops := strings.Join(e.cfn.ops(), " ")
	// The old one is seen gone (DescribeChangeSet) before the new one is created.
	if !strings.Contains(ops, "DeleteChangeSet DescribeChangeSet") || strings.Index(ops, "CreateChangeSet") < strings.LastIndex(ops, "DeleteChangeSet") {
		t.Errorf("calls = %s", ops)
	}
	if diff := cmp.Diff([]string{"preview-pr7-ccccccc"}, liveChangeSets(e)); diff != "" {
		t.Errorf("change sets left (-want +got):\n%s", diff)
	}
}

func TestDeploy_preview_of_a_new_stack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.d.Deploy(context.Background(), previewOptions(t)); err != nil {
		t.Fatalf("first preview: %v\n%s", err, e.log.text())
	}
	if diff := cmp.Diff([]string{"CreateChangeSet"}, mutations(e.cfn)); diff != "" {
		t.Errorf("first preview calls (-want +got):\n%s", diff)
	}
	// The next push: the stack is REVIEW_IN_PROGRESS; the earlier preview
	// goes, the stack stays (the preview role may not delete stacks).
	e.cfn.mu.Lock()
	e.cfn.calls = nil
	e.cfn.mu.Unlock()
	o := previewOptions(t)
	o.ChangeSetName = PreviewChangeSetName(7, "ddddddd")
	res, err := e.d.Deploy(context.Background(), o)
	if err != nil {
		t.Fatalf("second preview: %v\n%s", err, e.log.text())
	}
	if diff := cmp.Diff([]string{"ListChangeSets", "DeleteChangeSet", "CreateChangeSet"}, mutations(e.cfn)); diff != "" {
		t.Errorf("second preview calls (-want +got):\n%s", diff)
	}
	if in := inputs[*cloudformation.CreateChangeSetInput](e.cfn, "CreateChangeSet")[0]; in.ChangeSetType != types.ChangeSetTypeCreate || len(in.Parameters) != 2 {
		t.Errorf("CreateChangeSet = %s with %d parameters, want CREATE with the 2 given", in.ChangeSetType, len(in.Parameters))
	}
	if res.StackStatus != "REVIEW_IN_PROGRESS" || res.Executed {
		t.Errorf("Result = %+v", res)
	}
}

func TestDeploy_preview_without_list_permission_still_previews(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfn.addStack("app", types.StackStatusUpdateComplete)
	e.cfn.fail["ListChangeSets"] = apiErr("AccessDenied", "User is not authorized to perform: cloudformation:ListChangeSets")
	if _, err := e.d.Deploy(context.Background(), previewOptions(t)); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if !strings.Contains(e.log.text(), "warning: Could not look for earlier previews of pull request #7") {
		t.Errorf("no warning:\n%s", e.log.text())
	}
}

func TestDeploy_preview_options_are_checked(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*Options){
		"executed":   func(o *Options) { o.Execute = true },
		"wrong_name": func(o *Options) { o.ChangeSetName = "deploy-1" },
		"other_pr":   func(o *Options) { o.ChangeSetName = PreviewChangeSetName(8, "ccccccc") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			o := previewOptions(t)
			mutate(&o)
			if _, err := e.d.Deploy(context.Background(), o); err == nil || len(e.cfn.ops()) != 0 {
				t.Errorf("Deploy = %v after %v, want a refusal before any call", err, e.cfn.ops())
			}
		})
	}
}
