package cfnyaml

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestToJSON(t *testing.T) {
	t.Parallel()
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i, prev := range "abcdefg" {
		name := string(rune('b' + i))
		laughs += name + ": &" + name + " [" + strings.Repeat("*"+string(prev)+", ", 9) + "*" + string(prev) + "]\n"
	}
	// Each level merges the one before twice, without any alias outside merges.
	mergeBomb := "m0: &m0 {k: v}\n"
	for i := 1; i < 40; i++ {
		mergeBomb += fmt.Sprintf("m%d: &m%d {<<: [*m%d, *m%d]}\n", i, i, i-1, i-1)
	}
	for _, tc := range []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{
			name: "short_forms_become_long_forms",
			in: `A: !Ref Env
B: !GetAtt Bucket.Arn
C: !GetAtt [Bucket, DomainName]
D: !GetAtt Res.Attr.With.Dots
E: !Sub "${AWS::StackName}-x"
F: !Sub ["${A}", {A: !Ref X}]
G: !If [IsProd, !Ref AWS::NoValue, 1]
H: !Join [",", [a, !Select [0, !GetAZs ""]]]
I: !Condition IsProd
J: !Base64 |
  text
K: !Ref 5
`,
			want: `{"A":{"Ref":"Env"},"B":{"Fn::GetAtt":["Bucket","Arn"]},"C":{"Fn::GetAtt":["Bucket","DomainName"]},` +
				`"D":{"Fn::GetAtt":["Res","Attr.With.Dots"]},"E":{"Fn::Sub":"${AWS::StackName}-x"},"F":{"Fn::Sub":["${A}",{"A":{"Ref":"X"}}]},` +
				`"G":{"Fn::If":["IsProd",{"Ref":"AWS::NoValue"},1]},"H":{"Fn::Join":[",",["a",{"Fn::Select":[0,{"Fn::GetAZs":""}]}]]},` +
				`"I":{"Condition":"IsProd"},"J":{"Fn::Base64":"text\n"},"K":{"Ref":"5"}}`,
		},
		{
			name: "scalars_resolve_like_yaml",
			in:   "a: 1\nb: 1.50\nc: 0x1F\nd: true\ne: ~\nf: '1'\ng: 2010-09-09\nh: .inf\ni: yes\nj: 1_000\nk: \"x\\ty\"\n",
			want: `{"a":1,"b":1.50,"c":31,"d":true,"e":null,"f":"1","g":"2010-09-09","h":".inf","i":"yes","j":1000,"k":"x\ty"}`,
		},
		{name: "key_order_kept", in: "z: 1\na: 2\nm: 3\n", want: `{"z":1,"a":2,"m":3}`},
		{
			name: "aliases_and_merge_keys",
			in:   "base: &base {Type: String, Default: a}\nP:\n  <<: *base\n  Default: b\nQ: *base\n",
			want: `{"base":{"Type":"String","Default":"a"},"P":{"Default":"b","Type":"String"},"Q":{"Type":"String","Default":"a"}}`,
		},
		{name: "json_is_yaml", in: `{"Resources": {"A": {"Type": "X"}}}`, want: `{"Resources":{"A":{"Type":"X"}}}`},
		{name: "empty_document", in: "# nothing\n", want: "null"},
		{name: "duplicate_key", in: "Resources:\n  A: 1\n  B: 2\n  A: 3\n", wantErr: `line 4, column 3: duplicate key "A" (first at line 2)`},
		{name: "duplicate_in_flow", in: "c: {StringEquals: {a: 1}, StringEquals: {b: 2}}\n", wantErr: `line 1, column 27: duplicate key "StringEquals" (first at line 1)`},
		{name: "null_key", in: "~: 1\n", wantErr: "line 1, column 1: a mapping key must be a plain name"},
		{name: "merge_of_scalar", in: "a:\n  <<: x\n", wantErr: "line 2, column 7: a merge key (<<) takes a mapping or a list of them"},
		{name: "alias_inside_own_anchor", in: "a: &a [1, *a]\n", wantErr: "line 1, column 11: alias *a is inside its own anchor"},
		{name: "merge_of_own_anchor", in: "a: &a {<<: *a, y: 2}\n", wantErr: "line 1, column 12: alias *a is inside its own anchor"},
		{name: "merge_bomb", in: mergeBomb, wantErr: "nodes through aliases (an alias bomb?)"},
		{name: "alias_bomb", in: laughs, wantErr: "nodes through aliases (an alias bomb?)"},
		{name: "tab_indent", in: "Resources:\n\tX:\n", wantErr: "line 2, column 1: found character that cannot start any token"},
		{name: "unknown_anchor", in: "a: *nope\n", wantErr: "unknown anchor 'nope' referenced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ToJSON([]byte(tc.in))
			if tc.wantErr != "" {
				var e *Error
				if !errors.As(err, &e) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want an *Error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzToJSON(f *testing.F) {
	for _, s := range []string{
		"A: !Ref X\nB: !GetAtt a.b\nC: [1, 2.5, true, ~]\n",
		"a: &a {x: 1}\nb: {<<: *a, y: 2}\n",
		"a: &a [*a]\n",
		"x: !Sub\n  - s\n  - {k: v}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := ToJSON(body)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("ToJSON(%q) = %q, not JSON", body, out)
		}
	})
}
