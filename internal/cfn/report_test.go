package cfn

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	stackARN = "arn:aws:cloudformation:eu-west-1:123456789012:stack/app/5e2a7f00-1111-2222-3333-444455556666"
	csARN    = "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/preview-pr42-0123456/9d8c7b6a-1111-2222-3333-444455556666"
	commit   = "0123456789abcdef0123456789abcdef01234567"
)

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", p, diff)
	}
}

func ptr(s string) *string { return &s }

func previewResult() *Result {
	return &Result{
		StackName: "app", Region: "eu-west-1", StackID: stackARN, StackStatus: "UPDATE_COMPLETE",
		ChangeSetID: csARN, ChangeSetName: "preview-pr42-0123456", ChangeSetType: "UPDATE", ChangeSetStatus: "CREATE_COMPLETE",
		Preview: true, HasChanges: true, ChangesCount: 4,
		Changes: []Change{
			{Action: "Add", LogicalID: "Queue", ResourceType: "AWS::SQS::Queue"},
			{Action: "Modify", LogicalID: "Bucket", PhysicalID: "app-bucket-1x2y", ResourceType: "AWS::S3::Bucket", Replacement: "True",
				Details: []ChangeDetail{{Attribute: "Properties", Name: "BucketName", Path: "/Properties/BucketName", RequiresRecreation: "Always",
					BeforeValue: ptr("app-bucket-1x2y"), AfterValue: ptr("app-data"), AttributeChangeType: "Modify"}}},
			{Action: "Modify", LogicalID: "Fn", PhysicalID: "app-Fn-ABC", ResourceType: "AWS::Lambda::Function", Replacement: "Conditional",
				Details: []ChangeDetail{{Attribute: "Properties", Name: "Environment", Path: "/Properties/Environment/Variables/API_KEY", RequiresRecreation: "Never",
					BeforeValue: ptr("****"), AfterValue: ptr("****"), AttributeChangeType: "Modify", ChangeSource: "ParameterReference", CausingEntity: "ApiKey"}}},
			{Action: "Remove", LogicalID: "Topic", PhysicalID: "arn:aws:sns:eu-west-1:123456789012:app-Topic", ResourceType: "AWS::SNS::Topic"},
		},
		Outputs:           []Output{{Key: "BucketName", Value: "app-bucket-1x2y", Description: "the bucket"}},
		ChangeSetDuration: 3200 * time.Millisecond, Elapsed: 4 * time.Second,
	}
}

func TestMarkdown_golden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		r    func() *Result
		o    ReportOptions
	}{
		{"preview_changes.md", previewResult, ReportOptions{Commit: commit}},
		{"preview_no_changes.md", func() *Result {
			r := previewResult()
			r.HasChanges, r.Empty, r.ChangesCount, r.Changes, r.ChangeSetStatus = false, true, 0, nil, "FAILED"
			r.ChangeSetStatusReason = "The submitted information didn't contain changes. Submit different information to create a change set."
			return r
		}, ReportOptions{Commit: commit}},
		{"preview_settings_only.md", func() *Result {
			r := previewResult()
			r.ChangesCount, r.Changes = 0, nil
			return r
		}, ReportOptions{Commit: commit}},
		{"preview_failed.md", func() *Result {
			r := previewResult()
			r.HasChanges, r.ChangesCount, r.Changes, r.Outputs, r.ChangeSetStatus = false, 0, nil, nil, "FAILED"
			r.ChangeSetStatusReason = "Template format error: Unresolved resource dependencies [Buckt] in the Resources block of the template"
			return r
		}, ReportOptions{Commit: commit, Err: errors.New("change set preview-pr42-0123456 FAILED: Template format error: ...")}},
		{"deploy_succeeded.md", func() *Result {
			r := previewResult()
			r.Preview, r.Executed, r.ChangeSetName, r.ChangeSetID = false, true, "deploy-main-100-1-20260501t100000000", "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/deploy-main/1"
			r.ExecutionDuration, r.Elapsed = 61*time.Second, 65*time.Second
			return r
		}, ReportOptions{Commit: commit}},
		{"deploy_failed.md", func() *Result {
			r := previewResult()
			r.Preview, r.Executed, r.StackStatus, r.Outputs = false, true, "UPDATE_ROLLBACK_COMPLETE", nil
			r.ChangeSetName = "deploy-1"
			r.Failures = []Failure{{Time: t0, LogicalID: "Fn", ResourceType: "AWS::Lambda::Function", Status: "UPDATE_FAILED", Reason: "Resource handler returned message: \"Invalid request\""}}
			return r
		}, ReportOptions{Err: errors.New("stack app failed: Fn (AWS::Lambda::Function) UPDATE_FAILED\nfinal status UPDATE_ROLLBACK_COMPLETE")}},
		{"not_created.md", func() *Result {
			return &Result{StackName: "app", Region: "eu-west-1", ChangeSetName: "preview-pr42-0123456", Preview: true}
		}, ReportOptions{Commit: commit, Err: errors.New("creating change set preview-pr42-0123456: User: arn:aws:sts::123456789012:assumed-role/preview/x is not authorized to perform: cloudformation:CreateChangeSet (AccessDenied)")}},
		{"hostile_text.md", func() *Result {
			r := previewResult()
			r.StackID, r.ChangesCount = "arn:aws:cloudformation:eu-west-1:123456789012:stack/app/x) [evil](https://evil.example", 2
			r.Changes = []Change{
				{Action: "Modify", LogicalID: "@octocat #1 https://evil.example www.evil.example mail@evil.example", ResourceType: "<img src=x onerror=alert(1)>", Replacement: "True"},
				{Action: "Add\n### Approved", LogicalID: "[click](https://evil.example) ![i](https://evil.example/i.png) `code` | cell", ResourceType: "&lt;b&gt; ~~s~~ **b** _i_ \u202eevil"},
			}
			r.Outputs = []Output{{Key: "Url", Value: "must-not-show", Description: "<details><summary>x</summary>"}}
			return r
		}, ReportOptions{Commit: commit}},
		{"redacted_account.md", previewResult, ReportOptions{Commit: commit, Redact: []string{"123456789012", ""}}},
		{"truncated.md", func() *Result {
			r := previewResult()
			r.Changes = nil
			for i := range 40 {
				r.Changes = append(r.Changes, Change{Action: "Add", LogicalID: fmt.Sprintf("Queue%02d", i), ResourceType: "AWS::SQS::Queue"})
			}
			r.ChangesCount = len(r.Changes)
			return r
		}, ReportOptions{Commit: commit, MaxLen: 2000, Limit: "GitHub's 65,536-character comment limit"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.r().Markdown(tc.o)
			if tc.o.MaxLen > 0 && len(got) > tc.o.MaxLen {
				t.Errorf("%d bytes, over MaxLen %d", len(got), tc.o.MaxLen)
			}
			if strings.Contains(got, "must-not-show") || strings.Contains(got, "app-bucket-1x2y") && strings.Contains(tc.name, "Outputs") {
				t.Errorf("an output value is shown")
			}
			golden(t, tc.name, got)
		})
	}
}

func TestMarkdown_status_line_first(t *testing.T) {
	t.Parallel()
	for _, r := range []*Result{previewResult(), {StackName: "x", Region: "us-east-1"}} {
		first, _, _ := strings.Cut(r.Markdown(ReportOptions{}), "\n")
		if !strings.HasPrefix(first, "### ") || !strings.Contains(first, r.StackName) || !strings.Contains(first, r.Region) {
			t.Errorf("first line %q is not the status line", first)
		}
	}
}

func TestMarkdown_console_links(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, stackID, region, want string
	}{
		{"aws", "arn:aws:cloudformation:eu-west-1:1:stack/app/1", "eu-west-1",
			"https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/stackinfo?stackId=arn%3Aaws%3Acloudformation%3Aeu-west-1%3A1%3Astack%2Fapp%2F1"},
		{"china", "arn:aws-cn:cloudformation:cn-north-1:1:stack/app/1", "cn-north-1",
			"https://cn-north-1.console.amazonaws.cn/cloudformation/home?region=cn-north-1#/stacks/stackinfo?stackId=arn%3Aaws-cn%3Acloudformation%3Acn-north-1%3A1%3Astack%2Fapp%2F1"},
		{"govcloud", "arn:aws-us-gov:cloudformation:us-gov-west-1:1:stack/app/1", "us-gov-west-1",
			"https://console.amazonaws-us-gov.com/cloudformation/home?region=us-gov-west-1#/stacks/stackinfo?stackId=arn%3Aaws-us-gov%3Acloudformation%3Aus-gov-west-1%3A1%3Astack%2Fapp%2F1"},
		{"iso_has_no_public_console", "arn:aws-iso:cloudformation:us-iso-east-1:1:stack/app/1", "us-iso-east-1", ""},
		{"not_an_arn", "app", "eu-west-1", ""},
		{"bad_region", "arn:aws:cloudformation:eu-west-1:1:stack/app/1", "evil.example/x", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := consoleURL(tc.stackID, tc.region, "stacks/stackinfo", map[string][]string{"stackId": {tc.stackID}})
			if got != tc.want {
				t.Errorf("consoleURL = %q\nwant         %q", got, tc.want)
			}
		})
	}
}

func TestMarkdownCell(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, want string }{
		{"table_and_html", "a|b\n<img src=x>[l](u) *x*", `a\|b\\n\<img src=x\>\[l\](u) \*x\*`},
		{"mention", "@octocat", "@&#8203;octocat"},
		{"team_mention", "@org/team", "@&#8203;org/team"},
		{"issue_reference", "fixes #12 and o/r#3", `fixes \#&#8203;12 and o/r\#&#8203;3`},
		{"url", "see https://evil.example/x", "see https:&#8203;//evil.example/x"},
		{"www", "WWW.evil.example", "WWW&#8203;.evil.example"},
		{"email", "a@b.example", "a@&#8203;b.example"},
		{"entity", "&lt;script&gt;", `\&lt;script\&gt;`},
		{"cloudformation_type_untouched", "AWS::S3::Bucket", "AWS::S3::Bucket"},
		{"controls_visible", "a\tb\x1b[31m\u202e", `a\\tb\\x1b\[31m\\u202e`},
		{"invalid_utf8", "a\xffb", `a\\xffb`},
		{"backslash_and_backtick", "\\`x`", "\\\\\\`x\\`"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := markdownCell(tc.in); got != tc.want {
				t.Errorf("markdownCell(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzMarkdownCell: whatever AWS sends stays inside its cell and its line,
// and produces no tag, link, mention or image.
func FuzzMarkdownCell(f *testing.F) {
	for _, s := range []string{"a|b", "@x #1", "https://x", "<a href=x>", "[x](y)", "\r\n", "www.x", "\\|"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := markdownCell(s)
		if strings.ContainsAny(got, "\n\r") {
			t.Fatalf("line break in %q", got)
		}
		unescaped := func(c byte) bool {
			for i := 0; i < len(got); i++ {
				if got[i] != c {
					continue
				}
				n := 0
				for j := i - 1; j >= 0 && got[j] == '\\'; j-- {
					n++
				}
				if n%2 == 0 {
					return true
				}
			}
			return false
		}
		for _, c := range []byte{'|', '<', '>', '[', ']', '`', '*', '_'} {
			if unescaped(c) {
				t.Fatalf("unescaped %q in %q", c, got)
			}
		}
		if strings.Contains(strings.ReplaceAll(got, "@"+zwsp, ""), "@") {
			t.Fatalf("a mention can form in %q", got)
		}
		if strings.Contains(got, "://") {
			t.Fatalf("a URL can form in %q", got)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
	})
}

func TestMarkdown_truncation(t *testing.T) {
	t.Parallel()
	r := previewResult()
	r.Changes = nil
	for i := range 3000 {
		r.Changes = append(r.Changes, Change{Action: "Modify", LogicalID: fmt.Sprintf("Resource%04d", i), ResourceType: "AWS::Lambda::Function", Replacement: "False"})
	}
	r.ChangesCount = len(r.Changes)
	full := r.Markdown(ReportOptions{})
	for _, max := range []int{65536 - 60, 10000, 1500, 600, 100} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			t.Parallel()
			got := r.Markdown(ReportOptions{MaxLen: max, Limit: "the limit"})
			if len(got) > max || !utf8.ValidString(got) {
				t.Fatalf("%d bytes (valid UTF-8: %v), max %d", len(got), utf8.ValidString(got), max)
			}
			if max >= 1500 && !strings.Contains(got, "_Truncated to stay within the limit:") {
				t.Errorf("no truncation note:\n%s", got)
			}
			if max >= 1500 && !strings.HasPrefix(full, got[:strings.Index(got, "\n_Truncated")]) {
				t.Errorf("the kept part is not the start of the full report")
			}
		})
	}
	if got := r.Markdown(ReportOptions{MaxLen: len(full)}); got != full {
		t.Errorf("a report of exactly MaxLen was cut")
	}
	// A multi-byte character at the cut stays whole.
	if got := cutBytes("aé", 2); got != "a" {
		t.Errorf("cutBytes = %q", got)
	}
}
