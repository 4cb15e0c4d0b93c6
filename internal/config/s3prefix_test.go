package config

import (
	"strings"
	"testing"
)

// s3-prefix may not lead out of the prefix; the check runs with the other
// inputs, before any call.
func TestLoad_s3_prefix(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, prefix, want string
	}{
		{"plain", "cloudformation/app/", ""},
		{"parent", "../other-team", `input s3-prefix: "../other-team" has a ".." segment`},
		{"parent_inside", "cfn/../../x", `input s3-prefix: "cfn/../../x" has a ".." segment`},
		{"empty_segment", "cfn//x", "input s3-prefix: \"cfn//x\" has an empty segment"},
		{"control", "cfn/\nx", `input s3-prefix: "cfn/\nx" contains a backslash or a control character`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := load(t, getter(withDeploy(map[string]string{"s3-bucket": "artifacts", "s3-prefix": tc.prefix})), noEnv, map[string]string{"infra/app.yaml": template})
			if tc.want == "" {
				if err != nil || p.Deploy.S3Prefix != strings.Trim(tc.prefix, "/") {
					t.Fatalf("err = %v, prefix %q", err, p.Deploy.S3Prefix)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
