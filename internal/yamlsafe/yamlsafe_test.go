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

func TestEntries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		want     string // keys=values in order, or the error type
	}{
		{name: "plain", in: "m: {a: 1, b: 2}\n", want: "a=1 b=2"},
		{name: "written_keys_win_over_merged", in: "x: &x {a: 1, c: 3}\nm:\n  <<: *x\n  a: 9\n", want: "a=9 c=3"},
		{name: "earlier_merge_wins", in: "x: &x {a: 1}\ny: &y {a: 2, b: 2}\nm: {<<: [*x, *y]}\n", want: "a=1 b=2"},
		{name: "duplicate", in: "m: {a: 1, b: 2, a: 3}\n", want: "duplicate"},
		{name: "duplicate_inside_merge", in: "x: &x {a: 1, a: 2}\nm: {<<: *x}\n", want: "duplicate"},
		{name: "null_key", in: "m: {~: 1}\n", want: "key"},
		{name: "merge_of_scalar", in: "m: {<<: x}\n", want: "merge"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.in), &doc); err != nil {
				t.Fatal(err)
			}
			top, err := Entries(Deref(doc.Content[0]))
			if err != nil {
				t.Fatal(err)
			}
			m := Deref(top[len(top)-1].Value)
			es, err := Entries(m)
			var dup *DuplicateKeyError
			var key *KeyError
			var merge *MergeError
			got := ""
			switch {
			case errors.As(err, &dup):
				got = "duplicate"
			case errors.As(err, &key):
				got = "key"
			case errors.As(err, &merge):
				got = "merge"
			case err != nil:
				t.Fatal(err)
			default:
				var parts []string
				for _, e := range es {
					parts = append(parts, e.Key+"="+Deref(e.Value).Value)
				}
				got = strings.Join(parts, " ")
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
