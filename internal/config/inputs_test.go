package config

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
)

func TestLoad_refuses_undeclared_inputs(t *testing.T) {
	t.Parallel()
	declared := actionInputs(t)
	for _, tc := range []struct {
		name    string
		environ []string
		want    []string
	}{
		{"typo_with_suggestion", []string{"INPUT_NO-EXECUTE-CHANGSET=1"}, []string{"input no-execute-changset: is not an input of this action (INPUT_NO-EXECUTE-CHANGSET)", "did you mean no-execute-changeset?"}},
		{"underscores", []string{"INPUT_STACK_NAME=app"}, []string{"input stack_name:", "did you mean stack-name?"}},
		{"far_from_everything", []string{"INPUT_TERRAFORM-VERSION=1.9"}, []string{"input terraform-version: is not an input", "check the name against the action's inputs"}},
		{"runner_inputs_allowed", []string{"INPUT_ENTRYPOINT=", "INPUT_ARGS=x", "INPUT_AWS-REGION=us-east-1", "NOT_AN_INPUT=1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := gha.ReadRunner(noEnv)
			r.Workspace.Root = t.TempDir()
			_, err := Load(context.Background(), getter(keys(nil)), noEnv, func(o *Options) {
				o.Runner, o.Declared, o.Environ = &r, declared, tc.environ
			})
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if err != nil && (strings.Contains(err.Error(), "=1") || strings.Contains(err.Error(), "=app")) {
				t.Errorf("error shows a value: %v", err)
			}
		})
	}
}

// actionInputs reads the repository's action.yml as main reads its
// embedded copy.
func actionInputs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	names, err := ParseActionInputs(b)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// Every input action.yml declares is read by Load, and Load reads no other:
// across a credentials-only step, a create-and-execute deploy with every
// deploy input set, and an execute-only step.
func TestLoad_reads_exactly_the_inputs_action_yml_declares(t *testing.T) {
	t.Parallel()
	declared := actionInputs(t)
	read := map[string]bool{}
	record := func(m map[string]string) Getter {
		return func(k string) string { read[k] = true; return m[k] }
	}
	files := map[string]string{"template.yaml": cfdTemplate}
	every := map[string]string{}
	for _, n := range declared {
		every[n] = ""
	}
	for _, in := range []map[string]string{
		keys(nil),
		cfdInputs(map[string]string{"tags": "a=b", "notification-arns": "arn:aws:sns:us-east-1:123456789012:t", "s3-bucket": "my-bucket", "s3-prefix": "p", "change-set-name": "cs", "deployment-mode": "REVERT_DRIFT"}),
		cfdInputs(map[string]string{"mode": "execute-only", "execute-change-set-id": "cs-1", "fail-on-empty-changeset": "<unset>"}),
	} {
		if _, err := load(t, record(in), noEnv, files); err != nil {
			t.Fatal(err)
		}
	}
	var unread, undeclared []string
	for _, n := range declared {
		if !read[n] {
			unread = append(unread, n)
		}
	}
	for n := range read {
		if _, ok := every[n]; !ok {
			undeclared = append(undeclared, n)
		}
	}
	slices.Sort(undeclared)
	if len(unread) > 0 || len(undeclared) > 0 {
		t.Errorf("declared but never read: %v\nread but not declared: %v", unread, undeclared)
	}
}
