package yamlsafe

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g"} {
		laughs += name + ": &" + name + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+", ", 10), ", ") + "]\n"
		prev = name
	}
	cases := []struct {
		name, in  string
		wantLoop  string // "alias line/anchor line", or ""
		wantLarge bool
	}{
		{name: "plain", in: "a: [1, 2]\nb: {c: d}\n"},
		{name: "shared_anchor", in: "a: &x {k: v}\nb: *x\nc: *x\n"},
		{name: "merge_key", in: "a: &x {k: v}\nb: {<<: *x, j: w}\n"},
		{name: "alias_in_own_anchor", in: "a: &a [1, *a]\n", wantLoop: "1/1"},
		{name: "merge_of_own_anchor", in: "a: &a\n  <<: *a\n", wantLoop: "2/1"},
		{name: "billion_laughs", in: laughs, wantLarge: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.in), &doc); err != nil {
				t.Fatal(err)
			}
			err := Check(&doc, MaxNodes)
			var loop *AliasLoopError
			var large *TooLargeError
			switch {
			case tc.wantLoop != "":
				if !errors.As(err, &loop) {
					t.Fatalf("err = %v, want an alias loop", err)
				}
				if got := strconv.Itoa(loop.Alias.Line) + "/" + strconv.Itoa(loop.Anchor.Line); got != tc.wantLoop {
					t.Errorf("lines %s, want %s", got, tc.wantLoop)
				}
			case tc.wantLarge:
				if !errors.As(err, &large) || large.Max != MaxNodes {
					t.Fatalf("err = %v, want too large", err)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
		})
	}
}
