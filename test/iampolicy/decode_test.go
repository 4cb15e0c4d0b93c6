package iampolicy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeTemplate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		body    string
		want    map[string]any
		wantErr string
	}{
		{
			name: "short_tags_become_long_forms",
			body: "Resources:\n  R:\n    Properties:\n      Sub: !Sub 'repo:${Org}/*'\n      Arn: !GetAtt Role.Arn\n      If: !If [C, !Ref A, !Ref AWS::NoValue]\n",
			want: map[string]any{"Resources": map[string]any{"R": map[string]any{"Properties": map[string]any{
				"Sub": map[string]any{"Fn::Sub": "repo:${Org}/*"},
				"Arn": map[string]any{"Fn::GetAtt": []any{"Role", "Arn"}},
				"If":  map[string]any{"Fn::If": []any{"C", map[string]any{"Ref": "A"}, map[string]any{"Ref": "AWS::NoValue"}}},
			}}}},
		},
		{
			// A YAML loader would keep the second block and drop the sub condition.
			name:    "duplicate_condition_operator",
			body:    "Condition:\n  StringEquals:\n    a:sub: repo:o/r:ref:refs/heads/main\n  StringEquals:\n    a:aud: sts.amazonaws.com\n",
			wantErr: `line 4, column 3: duplicate key "StringEquals" (first at line 2)`,
		},
		{name: "not_a_mapping", body: "- a\n", wantErr: "the template is not a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "t.yaml")
			if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := DecodeTemplate(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("template (-want +got):\n%s", diff)
			}
		})
	}
}
