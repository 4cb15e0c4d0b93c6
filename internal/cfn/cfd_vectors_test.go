package cfn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The test vectors of aws-cloudformation-github-deploy v2.2.0 (CFD) for
// parameter-overrides and tags, from
// ../shared/peers/aws-cloudformation-github-deploy/__tests__. Each case
// names the CFD test ("file: describe / test") and holds our result; where
// we differ on purpose, why says so. Cases marked "CFD dist" are not CFD
// tests but what its bundle does (run with node against dist/index.js),
// for behaviour its tests leave open.

const cfdUtils = "__tests__/utils.test.ts"

// cfdFiles are CFD's parameter test files, copied into testdata.
func cfdFiles(t *testing.T) func(string) ([]byte, error) {
	t.Helper()
	return func(p string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", "cfd", p)) }
}

func TestParseParameterOverrides_cfd_vectors(t *testing.T) {
	t.Parallel()
	p := func(kv ...string) []Parameter {
		var out []Parameter
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, Parameter{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		cfd     string
		in      string
		want    []Parameter
		wantErr string
		why     string
	}{
		{cfd: cfdUtils + ": Parse Parameters / returns parameters empty string", in: ""},
		{cfd: cfdUtils + ": Parse Parameters / returns parameters list from string", in: "MyParam1=myValue1,MyParam2=myValue2",
			want: p("MyParam1", "myValue1", "MyParam2", "myValue2")},
		{cfd: cfdUtils + ": Parse Parameters / returns parameters list from string (repeated key)", in: "MyParam1=myValue1,MyParam2=myValue2,MyParam2=myValue3",
			want: p("MyParam1", "myValue1", "MyParam2", "myValue2,myValue3")},
		{cfd: cfdUtils + ": Parse Parameters / returns parameters list with an extra equal", in: "MyParam1=myValue1,MyParam2=myValue2=myValue3,MyParam2=myValue4 ",
			want: p("MyParam1", "myValue1", "MyParam2", "myValue2=myValue3,myValue4")},
		{cfd: cfdUtils + ": Parse Parameters / returns parameters list from multiple lists with single quotes", in: "MyParam1=myValue1,MyParam2='myValue2,myValue3',MyParam2=myValue4",
			want: p("MyParam1", "myValue1", "MyParam2", "myValue2,myValue3,myValue4")},
		{cfd: cfdUtils + ": Parse Parameters / returns parameters list from multiple lists with double quotes", in: `MyParam1=myValue1,MyParam2="myValue2,myValue3",MyParam2=myValue4`,
			want: p("MyParam1", "myValue1", "MyParam2", "myValue2,myValue3,myValue4")},
		{cfd: cfdUtils + ": Parse Parameters / returns parameters list from file", in: "file://params.test.json",
			want: p("MyParam1", "myValue1", "MyParam2", "myValue2"),
			why:  "CFD needs an absolute file:///path (file://name has a host and throws); we read paths relative to the workspace, and absolute ones inside it"},
		{cfd: cfdUtils + ": Parse Parameters / throws error if file is not found", in: "file://params.tezt.json", wantErr: "reading params.tezt.json"},
		{cfd: cfdUtils + ": Parse Parameters / throws error if json in file cannot be parsed", in: "file://params-invalid.test.json", wantErr: "parsing params-invalid.test.json: invalid JSON"},
		{cfd: "README: EKS example, repeated keys", in: "Subnets=subnet-a,Subnets=subnet-b", want: p("Subnets", "subnet-a,subnet-b")},
		{cfd: "CFD dist parseParameters(\"A=a\\\\\\\\b\") keeps the backslashes", in: `A=a\\b,B="c\d"`, want: p("A", `a\\b`, "B", `c\d`)},
		{cfd: "CFD dist parseParameters(\"Subnets=a,b\") = Subnets=a and a junk parameter b", in: "Subnets=a,b",
			wantErr: "item 2 (after Subnets) has no '='",
			why:     "CFD sends a parameter named by the piece after the comma (CloudFormation then echoes it in an error); we refuse, naming the position, never the piece"},
		{cfd: "CFD dist parseParameters(\"Password=abc,d=ef\") = a junk parameter d", in: "Password=abc,d=ef",
			want: []Parameter{{Key: "Password", Value: "abc", Item: 1}, {Key: "d", Value: "ef", Item: 2, After: "Password"}},
			why:  "a key from the second item on may be a piece of a value: Template.CheckOverrides names it by position if the template does not declare it"},
		{cfd: "CFD dist parseParameters(\"A=1\\nB=2\") = A with the value \"1\\nB=2\"", in: "A=1\nB=2", want: p("A", "1", "B", "2"),
			why: "CFD does not split on newlines, so a block-style input becomes one corrupt value; we take a newline as a separator"},
		{cfd: "CFD dist parseParameters(\"K=a'b,L=c'd\") = K with the value \"a'b,L=c'd\"", in: "K=a'b,L=c'd", want: p("K", "a'b", "L", "c'd"),
			why: "CFD pairs quotes across items and swallows L; a quote only opens a quoted value at its start here"},
		{cfd: "CFD dist parseParameters(\"A= x\") = \" x\"", in: "A= x", want: p("A", "x"),
			why: "unquoted values are trimmed; quote a value to keep its spaces (A=' x')"},
		{cfd: "CFD dist parseParameters(\"A=1,,B=2\") = a parameter with an empty key", in: "A=1,,B=2", want: p("A", "1", "B", "2"),
			why: "an empty item is skipped rather than sent as a parameter without a name"},
		{cfd: "CFD dist parseParameters(\"https://...\") throws ERR_INVALID_URL_SCHEME", in: "https://example.com/params.json",
			wantErr: "reading https://example.com/params.json",
			why:     "CFD's action.yml promises remote URLs but its code reads only file: URLs; we fetch https URLs (this test has no network: the reader refuses)"},
		{cfd: "CFD dist: a JSON file passes extra members through", in: "file://resolved.json", want: p("Ami", "/aws/service/ami-amazon-linux-latest"),
			why: "ResolvedValue (from describe-stacks output) is accepted and ignored; an unknown member is refused instead of dropped"},
	} {
		t.Run(tc.cfd, func(t *testing.T) {
			t.Parallel()
			read := cfdFiles(t)
			if strings.HasPrefix(tc.in, "https://") {
				read = files(nil)
			}
			got, err := ParseParameterOverrides(tc.in, read)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q (%s)", err, tc.wantErr, tc.why)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			opts := []cmp.Option{ignorePosition}
			for _, w := range tc.want {
				if w.Item != 0 {
					opts = nil // the case checks the positions
				}
			}
			if diff := cmp.Diff(tc.want, got, opts...); diff != "" {
				t.Errorf("parameters (-want +got):\n%s%s", diff, tc.why)
			}
		})
	}
}

func TestParseTags_cfd_vectors(t *testing.T) {
	t.Parallel()
	tg := func(kv ...string) []Tag {
		var out []Tag
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, Tag{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		cfd     string
		in      string
		want    []Tag
		wantErr string
		why     string
	}{
		{cfd: cfdUtils + ": Parse Tags / returns undefined on non valid JSON", in: ""},
		{cfd: cfdUtils + ": Parse Tags / returns valid Array on valid JSON", in: `[{"Key":"Test","Value":"Value"}]`, want: tg("Test", "Value")},
		{cfd: cfdUtils + ": Parse Tags / returns valid Array from YAML key-value object format", in: "\nKey1: Value1\nKey2: Value2\n", want: tg("Key1", "Value1", "Key2", "Value2")},
		{cfd: cfdUtils + ": Parse Tags / returns valid Array from YAML array format", in: "\n- Key: keyname1\n  Value: value1\n- Key: keyname2\n  Value: value2\n",
			want: tg("keyname1", "value1", "keyname2", "value2")},
		{cfd: cfdUtils + ": Parse Tags / returns undefined for invalid YAML", in: "\n    Key1: 'Value1\n    Key2: Value2\n    ",
			wantErr: "is neither K=V pairs nor valid YAML or JSON", why: "CFD silently deploys without tags; we refuse"},
		{cfd: cfdUtils + ": Parse Tags / parses tags from YAML array format", in: "\n- Key: Environment\n  Value: Production\n- Key: Project\n  Value: MyApp\n- Key: CostCenter\n  Value: '12345'\n",
			want: tg("Environment", "Production", "Project", "MyApp", "CostCenter", "12345")},
		{cfd: cfdUtils + ": Parse Tags / parses tags from YAML object format", in: "\nEnvironment: Production\nProject: MyApp\nCostCenter: '12345'\n",
			want: tg("Environment", "Production", "Project", "MyApp", "CostCenter", "12345")},
		{cfd: cfdUtils + ": Parse Tags / handles empty YAML input ('')", in: ""},
		{cfd: cfdUtils + ": Parse Tags / handles empty YAML input ('0')", in: "0", wantErr: "is not a list of tags", why: "CFD silently deploys without tags; we refuse a value that holds no tags"},
		{cfd: cfdUtils + ": Parse Tags / handles YAML with different value types", in: "\nEnvironment: Production\nIsProduction: true\nInstanceCount: 5\nFloatValue: 3.14\n",
			want: tg("Environment", "Production", "IsProduction", "true", "InstanceCount", "5", "FloatValue", "3.14")},
		{cfd: cfdUtils + ": Parse Tags / handles malformed YAML", in: "\n    This is not valid YAML\n    - Key: Missing Value\n    ",
			wantErr: "is neither K=V pairs nor valid YAML or JSON", why: "CFD silently deploys without tags; we refuse"},
		{cfd: cfdUtils + ": Parse Tags / handles array format with missing required fields", in: "\n- Key: ValidTag\n  Value: ValidValue\n- Value: MissingKey\n- Key: MissingValue\n",
			wantErr: "item 2 needs both Key and Value", why: "CFD silently drops the two incomplete items; we refuse"},
		{cfd: cfdUtils + ": Parse Tags / handles object format with empty values", in: "\nEnvironment:\nProject: MyApp\nEmptyString: ''\n",
			want: tg("Environment", "", "Project", "MyApp", "EmptyString", "")},
		{cfd: cfdUtils + ": Parse Tags / preserves whitespace in tag values", in: "\nDescription: This is a long description with spaces\nPath: /path/to/something\n",
			want: tg("Description", "This is a long description with spaces", "Path", "/path/to/something")},
		{cfd: cfdMain + ": deploys the stack with tags", in: `[{"Key":"Test","Value":"Value"}]`, want: tg("Test", "Value")},
		{cfd: "CFD dist parseTags(\"Team=payments\") = undefined", in: "Team=payments", want: tg("Team", "payments"),
			why: "CFD silently drops K=V tags; we read them"},
		{cfd: "CFD dist parseTags(\"x: 3.140\") = \"3.14\"", in: "x: 3.140\ny: 0x1A", want: tg("x", "3.140", "y", "0x1A"),
			why: "numbers are kept as written, not re-printed by a JavaScript number"},
		{cfd: "CFD dist parseTags(\"a: {b: c}\") = \"[object Object]\"", in: "a: {b: c}", wantErr: `the value of tag "a" (line 1) must be text`,
			why: "CFD tags the stack with the text [object Object]; we refuse"},
	} {
		t.Run(tc.cfd, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTags(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q (%s)", err, tc.wantErr, tc.why)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("tags (-want +got):\n%s%s", diff, tc.why)
			}
		})
	}
}

const cfdMain = "__tests__/main.test.ts"
