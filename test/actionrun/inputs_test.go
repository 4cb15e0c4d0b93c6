package actionrun

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The action reads INPUT_AWS-REGION, not INPUT_AWS_REGION: an encoder that
// turned hyphens into underscores would make every input look unset.
func TestInputVar_follows_the_runner(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, want string }{
		{"hyphens_kept", "aws-region", "INPUT_AWS-REGION"},
		{"spaces_to_underscores", "role to assume", "INPUT_ROLE_TO_ASSUME"},
		{"already_upper", "TEMPLATE", "INPUT_TEMPLATE"},
		{"digits_and_underscores", "retry_max-attempts2", "INPUT_RETRY_MAX-ATTEMPTS2"},
		// Only ASCII spaces are replaced, as in the runner's Replace(' ', '_').
		{"tab_kept", "a\tb", "INPUT_A\tB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := InputVar(tc.in); got != tc.want {
				t.Errorf("InputVar(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestInputEnv_sorted_entries(t *testing.T) {
	t.Parallel()
	got := InputEnv(map[string]string{"stack-name": "app", "aws-region": "eu-west-1", "a b": "x=y"})
	// Byte order: '-' sorts before '_'.
	want := []string{"INPUT_AWS-REGION=eu-west-1", "INPUT_A_B=x=y", "INPUT_STACK-NAME=app"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("InputEnv (-want +got):\n%s", d)
	}
}
