package cfn

import (
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// files is an in-memory readFile.
func files(m map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		s, ok := m[p]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return []byte(s), nil
	}
}

func TestParseParameterOverrides(t *testing.T) {
	t.Parallel()
	fsys := files(map[string]string{
		"params/cli.json":      `[{"ParameterKey":"Env","ParameterValue":"prod"},{"ParameterKey":"Port","ParameterValue":80},{"ParameterKey":"Keep","UsePreviousValue":true}]`,
		"params/pipeline.json": "\ufeff" + `{"Parameters":{"Env":"prod","Subnets":"a,b"}}`,
		"params/strings.json":  `["Env=prod","Tag=\"x,y\""]`,
		"params/bad.json":      `{"Parameters":{"Env":"prod"},"Tags":{"a":"b"}}`,
		"params/broken.json":   `[{"ParameterKey":"Env","ParameterValue":"s3cr3t"`,
		"params/dup.json":      `{"Env":"a","Env":"s3cr3t"}`,
		"params/list.json":     `{"Env":["a","b"]}`,
		"params/resolved.json": `[{"ParameterKey":"Ami","ParameterValue":"/aws/service/ami","ResolvedValue":"ami-123"},{"ParameterKey":"Keep","UsePreviousValue":true,"ResolvedValue":"x"}]`,
		"params/typo.json":     `[{"ParameterKey":"Env","ParameterValues":"s3cr3t"}]`,
		"https://b.s3.amazonaws.com/params.json?X-Amz-Security-Token=s3cr3t": `[{"ParameterKey":"Env","ParameterValue":"remote"}]`,
	})
	for _, tc := range []struct {
		name    string
		in      string
		want    []Parameter
		wantErr string
	}{
		{name: "empty", in: "  \n "},
		{name: "comma_pairs", in: "Env=prod,ImageTag=abc123", want: []Parameter{{Key: "Env", Value: "prod"}, {Key: "ImageTag", Value: "abc123"}}},
		{name: "newline_pairs_crlf", in: "Env=prod\r\nImageTag=abc\r\n", want: []Parameter{{Key: "Env", Value: "prod"}, {Key: "ImageTag", Value: "abc"}}},
		{name: "spaces_trimmed", in: " Env = prod , Port=80 ", want: []Parameter{{Key: "Env", Value: "prod"}, {Key: "Port", Value: "80"}}},
		{name: "trailing_comma_and_blank_lines", in: "Env=prod,\n\nPort=80,", want: []Parameter{{Key: "Env", Value: "prod"}, {Key: "Port", Value: "80"}}},
		{name: "quoted_commas_and_equals", in: `Subnets="a,b,c",Q="x=y"`, want: []Parameter{{Key: "Subnets", Value: "a,b,c"}, {Key: "Q", Value: "x=y"}}},
		{name: "single_quoted", in: `Subnets='a,b',Msg='say "hi"'`, want: []Parameter{{Key: "Subnets", Value: "a,b"}, {Key: "Msg", Value: `say "hi"`}}},
		{name: "backslashes_kept", in: `Path=a\\b,Q="c\d"`, want: []Parameter{{Key: "Path", Value: `a\\b`}, {Key: "Q", Value: `c\d`}}},
		{name: "apostrophe_inside_value_is_literal", in: "A=don't,B=won't", want: []Parameter{{Key: "A", Value: "don't"}, {Key: "B", Value: "won't"}}},
		{name: "repeated_key_is_a_list", in: "Subnets=a,Env=prod,Subnets=b", want: []Parameter{{Key: "Subnets", Value: "a,b"}, {Key: "Env", Value: "prod"}}},
		{name: "quoted_newline", in: "Key=\"line1\nline2\"", want: []Parameter{{Key: "Key", Value: "line1\nline2"}}},
		{name: "equals_in_unquoted_value", in: "Token=a=b==", want: []Parameter{{Key: "Token", Value: "a=b=="}}},
		{name: "empty_value", in: "Env=", want: []Parameter{{Key: "Env", Value: ""}}},
		{name: "quote_inside_value_is_literal", in: `Env=a"b`, want: []Parameter{{Key: "Env", Value: `a"b`}}},
		{name: "unbalanced_quote", in: `Env="prod,Port=80`, wantErr: "item 1: its value has an unbalanced double quote: close it with \""},
		{name: "unbalanced_single_quote", in: `Env='prod`, wantErr: "item 1: its value has an unbalanced single quote"},
		{name: "text_after_quote", in: `Env="prod"x`, wantErr: "item 1: its value has text after its closing quote"},
		{name: "empty_key", in: "=prod", wantErr: "item 1 has an empty key: write Key=Value"},
		{name: "no_equals_first", in: "prod", wantErr: "item 1 has no '='"},
		{name: "unquoted_list", in: "Subnets=a,b", wantErr: `item 2 (after Subnets) has no '=': if it is part of the value before it, quote that value (Key='a,b' or Key="a,b") or repeat the key for a list (Key=a,Key=b); the item is not shown`},
		{name: "key_not_alnum", in: "my-key=1", wantErr: `parameter key "my-key" is not alphanumeric`},
		{name: "split_value_key_hidden", in: "DBPassword=s3cr3t,x y=1", wantErr: `item 2 (after DBPassword) has a key that is not a parameter name`},
		{name: "duplicate_json_item", in: `[{"ParameterKey":"Env","ParameterValue":"a"},{"ParameterKey":"Env","ParameterValue":"s3cr3t"}]`, wantErr: "items 1 and 2 name the same parameter"},
		{name: "https_file", in: "https://b.s3.amazonaws.com/params.json?X-Amz-Security-Token=s3cr3t", want: []Parameter{{Key: "Env", Value: "remote"}}},
		{name: "https_missing_hides_query", in: "https://b.s3.amazonaws.com/nope.json?X-Amz-Signature=s3cr3t", wantErr: "reading https://b.s3.amazonaws.com/nope.json: file does not exist"},
		{name: "http_file", in: "http://b/params.json", wantErr: "must use https://"},
		{name: "cli_json_extra_members", in: "params/resolved.json", want: []Parameter{{Key: "Ami", Value: "/aws/service/ami"}, {Key: "Keep", UsePrevious: true}}},
		{name: "cli_json_misspelt_member", in: "params/typo.json", wantErr: "item 1: expected an object with ParameterKey and ParameterValue"},
		{name: "cli_json_file", in: "file://params/cli.json", want: []Parameter{{Key: "Env", Value: "prod"}, {Key: "Port", Value: "80"}, {Key: "Keep", UsePrevious: true}}},
		{name: "codepipeline_file_with_bom", in: "params/pipeline.json", want: []Parameter{{Key: "Env", Value: "prod"}, {Key: "Subnets", Value: "a,b"}}},
		{name: "string_list_file", in: "file://params/strings.json", want: []Parameter{{Key: "Env", Value: "prod"}, {Key: "Tag", Value: "x,y"}}},
		{name: "inline_json_object", in: `{"Env":"prod","Port":8080}`, want: []Parameter{{Key: "Env", Value: "prod"}, {Key: "Port", Value: "8080"}}},
		{name: "codepipeline_extra_key", in: "params/bad.json", wantErr: `key Tags is not supported next to Parameters`},
		{name: "broken_json_hides_value", in: "file://params/broken.json", wantErr: "parsing params/broken.json: invalid JSON"},
		{name: "duplicate_json_key", in: "params/dup.json", wantErr: `items 1 and 2 have the same key`},
		{name: "list_value", in: "params/list.json", wantErr: "item 1: the value must be a string, number or boolean"},
		{name: "missing_file", in: "file://nope.json", wantErr: "reading nope.json: file does not exist"},
		{name: "file_prefix_without_path", in: "file://", wantErr: "file:// names no file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseParameterOverrides(tc.in, fsys)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("error shows a value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got, ignorePosition); diff != "" {
				t.Errorf("parameters (-want +got):\n%s", diff)
			}
		})
	}
}

// ignorePosition compares parameters by content: Item and After only
// shape messages.
var ignorePosition = cmpopts.IgnoreFields(Parameter{}, "Item", "After")

func TestParseTags(t *testing.T) {
	t.Parallel()
	many := strings.Repeat("k=v,", 51)
	for _, tc := range []struct {
		name    string
		in      string
		want    []Tag
		wantErr string
	}{
		{name: "pairs", in: "team=web,cost center=42", want: []Tag{{Key: "team", Value: "web"}, {Key: "cost center", Value: "42"}}},
		{name: "json_object_keeps_order", in: `{"b":"2","a":"1"}`, want: []Tag{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}}},
		{name: "json_array", in: `[{"Key":"team","Value":"web"}]`, want: []Tag{{Key: "team", Value: "web"}}},
		{name: "unicode_value", in: "owner=Zoë", want: []Tag{{Key: "owner", Value: "Zoë"}}},
		{name: "empty_value_allowed", in: "flag=", want: []Tag{{Key: "flag", Value: ""}}},
		{name: "aws_prefix", in: "AWS:x=1", wantErr: `tag key "AWS:x" uses the reserved prefix aws:`},
		{name: "too_many", in: many, wantErr: "51 tags given: CloudFormation allows at most 50"},
		{name: "long_key", in: strings.Repeat("k", 129) + "=v", wantErr: "is 129 characters: at most 128 are allowed"},
		{name: "long_value", in: "k=" + strings.Repeat("v", 257), wantErr: `the value of tag "k" is 257 characters`},
		{name: "bad_char", in: "k=a;b", wantErr: `the value of tag "k" has characters CloudFormation refuses`},
		{name: "duplicate", in: "k=1,k=2", wantErr: `tag "k" is given twice`},
		{name: "array_missing_value", in: `[{"Key":"k"}]`, wantErr: "item 1 needs both Key and Value"},
		{name: "json_number_and_bool_as_text", in: `{"k":1,"b":true,"f":3.140}`, want: []Tag{{Key: "k", Value: "1"}, {Key: "b", Value: "true"}, {Key: "f", Value: "3.140"}}},
		{name: "yaml_mapping", in: "Team: payments\nCostCenter: 12345\nEmpty:\n", want: []Tag{{Key: "Team", Value: "payments"}, {Key: "CostCenter", Value: "12345"}, {Key: "Empty", Value: ""}}},
		{name: "yaml_list", in: "- Key: Team\n  Value: payments\n- Key: n\n  Value: 5\n", want: []Tag{{Key: "Team", Value: "payments"}, {Key: "n", Value: "5"}}},
		{name: "multiline_pairs", in: "team=web\nenv=prod", want: []Tag{{Key: "team", Value: "web"}, {Key: "env", Value: "prod"}}},
		{name: "pair_value_with_colon", in: "url=https://example.com", want: []Tag{{Key: "url", Value: "https://example.com"}}},
		{name: "nested_value", in: "a: {b: c}", wantErr: `the value of tag "a" (line 1) must be text, a number or a boolean`},
		{name: "unknown_member", in: `[{"Key":"k","Value":"v","Extra":1}]`, wantErr: `item 1 has member "Extra"`},
		{name: "not_tags", in: "0", wantErr: "is not a list of tags"},
		{name: "bad_yaml", in: "Key1: 'Value1\nKey2: Value2", wantErr: "is neither K=V pairs nor valid YAML or JSON"},
		{name: "yaml_duplicate", in: "a: 1\na: 2", wantErr: `tag "a" is given twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTags(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadTemplate(t *testing.T) {
	t.Parallel()
	fsys := files(map[string]string{
		"/ws/t.json":          `{"Parameters":{"B":{"Type":"String"},"A":{"Type":"String"}},"Resources":{}}`,
		"/ws/t.yaml":          "# comment\n---\nAWSTemplateFormatVersion: '2010-09-09'\nParameters: # the inputs\n  Env:\n    Type: String\n    Description: |\n      Foo: not a key\n\n  'Quoted':   # c\n    Type: String\n  \"Dq\": {Type: String}\nResources:\n  Bucket:\n    Type: AWS::S3::Bucket\n",
		"/ws/crlf.yaml":       "Parameters:\r\n    Env:\r\n        Type: String\r\nResources: {}\r\n",
		"/ws/flow.yaml":       "Parameters: {A: {Type: String, Default: 'x,y'}, \"B\": {Type: Number}}\nResources: {}\n",
		"/ws/multiflow.yaml":  "Parameters: {A: {Type: String},\n  B: {Type: Number}}\nResources: {}\n",
		"/ws/emptyflow.yaml":  "Parameters: {}\nResources: {}\n",
		"/ws/none.yaml":       "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n",
		"/ws/alias.yaml":      "Metadata:\n  Shared: &common {A: {Type: String}, B: {Type: String}}\nParameters: *common\nResources: {}\n",
		"/ws/merge.yaml":      "Metadata:\n  Shared: &common {A: {Type: String}, Env: {Type: Number}}\nParameters:\n  <<: *common\n  Env:\n    Type: String\nResources: {}\n",
		"/ws/dup.yaml":        "Parameters:\n  Env:\n    Type: String\n  Other: {Type: String}\n  Env:\n    Type: Number\nResources: {}\n",
		"/ws/dupsection.yaml": "Parameters: {A: {Type: String}}\nResources: {}\nParameters: {B: {Type: String}}\n",
		"/ws/dup.json":        "{\"Parameters\": {\"Env\": {},\n \"Env\": {}}, \"Resources\": {}}",
		"/ws/dupsection.json": "{\"Parameters\": {},\n\"Parameters\": {}, \"Resources\": {}}",
		"/ws/listparams.yaml": "Parameters:\n  - Env\nResources: {}\n",
		"/ws/broken.yaml":     "Parameters:\n  Env:\n    Type: String\n  Bad: [\nResources: {}\n",
		"/ws/tab.yaml":        "Resources:\n\tQ: {}\n",
		"/ws/selfalias.yaml":  "Parameters: &p\n  A: *p\nResources: {}\n",
		"/ws/empty.yaml":      " \n\n",
		"/ws/bin.yaml":        "Resources:\x00\x01",
		"/ws/latin1.yaml":     "Resources: caf\xe9\n",
		"/ws/prose.txt":       "this is not a template\n",
		"/ws/bad.json":        "{\"Resources\": {\n\"A\": }\n}",
		"/ws/big.yaml":        "Resources: {}\n#" + strings.Repeat("x", MaxTemplateSize),
		"/ws/large.yaml":      "Resources: {}\n#" + strings.Repeat("x", MaxTemplateBodySize),
		"/abs/t.yaml":         "Resources: {}\n",
	})
	for _, tc := range []struct {
		name       string
		in         string
		wantParams []string
		wantKnown  bool
		wantURL    string
		wantUpload bool
		wantErr    string
	}{
		{name: "json", in: "t.json", wantParams: []string{"A", "B"}, wantKnown: true},
		{name: "yaml_comments_quotes_block_scalar", in: "t.yaml", wantParams: []string{"Dq", "Env", "Quoted"}, wantKnown: true},
		{name: "yaml_crlf", in: "./crlf.yaml", wantParams: []string{"Env"}, wantKnown: true},
		{name: "yaml_flow", in: "flow.yaml", wantParams: []string{"A", "B"}, wantKnown: true},
		{name: "yaml_flow_multiline", in: "multiflow.yaml", wantParams: []string{"A", "B"}, wantKnown: true},
		{name: "yaml_empty_flow", in: "emptyflow.yaml", wantKnown: true},
		{name: "yaml_no_parameters", in: "file://none.yaml", wantKnown: true},
		{name: "yaml_alias_resolved", in: "alias.yaml", wantParams: []string{"A", "B"}, wantKnown: true},
		{name: "yaml_merge_key_resolved", in: "merge.yaml", wantParams: []string{"A", "Env"}, wantKnown: true},
		{name: "yaml_duplicate_parameter", in: "dup.yaml", wantErr: "template /ws/dup.yaml declares parameter Env twice (lines 2 and 5): remove one"},
		{name: "yaml_duplicate_section", in: "dupsection.yaml", wantErr: "has two Parameters sections (lines 1 and 3): merge them into one"},
		{name: "json_duplicate_parameter", in: "dup.json", wantErr: "declares parameter Env twice (lines 1 and 2)"},
		{name: "json_duplicate_section", in: "dupsection.json", wantErr: "has two Parameters sections (lines 1 and 2)"},
		{name: "yaml_parameters_not_mapping", in: "listparams.yaml", wantErr: "has a Parameters section that is not a mapping (line 2)"},
		{name: "yaml_syntax_error_line", in: "broken.yaml", wantErr: "template /ws/broken.yaml is not valid YAML: line 3: did not find expected ',' or ']'"},
		{name: "yaml_tab_indent", in: "tab.yaml", wantErr: "is not valid YAML: line 2: found character that cannot start any token"},
		{name: "yaml_alias_inside_own_anchor", in: "selfalias.yaml", wantErr: "has an alias *p inside its own anchor (line 1)"},
		{name: "absolute_path", in: "/abs/t.yaml", wantKnown: true},
		{name: "large_needs_upload", in: "large.yaml", wantKnown: true, wantUpload: true},
		{name: "https_url", in: "https://b.s3.eu-west-1.amazonaws.com/app.yaml", wantURL: "https://b.s3.eu-west-1.amazonaws.com/app.yaml"},
		{name: "empty_input", in: " ", wantErr: "no template given"},
		{name: "missing", in: "nope.yaml", wantErr: "template /ws/nope.yaml not found: the path is relative to the repository root"},
		{name: "empty_file", in: "empty.yaml", wantErr: "template /ws/empty.yaml is empty"},
		{name: "binary", in: "bin.yaml", wantErr: "is not a text file"},
		{name: "not_utf8", in: "latin1.yaml", wantErr: "is not a text file"},
		{name: "not_a_template", in: "prose.txt", wantErr: "is neither JSON nor YAML"},
		{name: "bad_json_line", in: "bad.json", wantErr: "is not valid JSON: line 2"},
		{name: "over_1mb", in: "big.yaml", wantErr: "CloudFormation accepts at most 1048576 (1 MB)"},
		{name: "http_url", in: "http://b/x.yaml", wantErr: "must use https://"},
		{name: "s3_url", in: "s3://b/x.yaml", wantErr: "use https://BUCKET.s3.REGION.amazonaws.com/KEY"},
		{name: "url_without_key", in: "https://b.s3.amazonaws.com/", wantErr: "needs a host and an object key"},
		{name: "url_with_credentials", in: "https://u:p@b.s3.amazonaws.com/k", wantErr: "must not contain credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The caller resolves paths (the workspace rule is config's).
			in := strings.TrimPrefix(tc.in, "file://")
			if !strings.Contains(in, "://") && strings.TrimSpace(in) != "" && !path.IsAbs(in) {
				in = path.Join("/ws", in)
			}
			got, err := LoadTemplate(in, fsys)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if diff := cmp.Diff(tc.wantParams, got.Parameters); diff != "" || got.ParametersKnown != tc.wantKnown {
				t.Errorf("parameters (-want +got):\n%s known=%v, want %v", diff, got.ParametersKnown, tc.wantKnown)
			}
			if got.URL != tc.wantURL || got.NeedsUpload() != tc.wantUpload {
				t.Errorf("URL=%q NeedsUpload=%v, want %q %v", got.URL, got.NeedsUpload(), tc.wantURL, tc.wantUpload)
			}
			if tc.wantURL == "" && (got.Body == "" || got.Size != len(got.Body)) {
				t.Errorf("Body/Size not set: size %d", got.Size)
			}
		})
	}
}

func TestCheckOverrides(t *testing.T) {
	t.Parallel()
	tmpl := Template{Parameters: []string{"A", "B"}, ParametersKnown: true}
	err := tmpl.CheckOverrides([]Parameter{{Key: "A"}, {Key: "X", Value: "secret"}, {Key: "Y"}})
	want := `items 2 and 3 name parameters the template does not declare (it declares: A, B): fix the names or drop the items; if it is part of the value before it, quote that value (Key='a,b' or Key="a,b") or repeat the key for a list (Key=a,Key=b)`
	if diff := cmp.Diff(want, errString(err)); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if err := (Template{URL: "https://x/y"}).CheckOverrides([]Parameter{{Key: "X"}}); err != nil {
		t.Errorf("URL template: %v, want no check", err)
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, wantErr string
	}{
		{name: "valid", in: "my-App-2"},
		{name: "empty", in: "", wantErr: "stack name is empty"},
		{name: "leading_digit", in: "1app", wantErr: "must start with a letter"},
		{name: "underscore", in: "my_app", wantErr: `contains '_'`},
		{name: "too_long", in: "a" + strings.Repeat("b", 128), wantErr: "is 129 characters long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidStackName(tc.in)
			if got := errString(err); !strings.Contains(got, tc.wantErr) || (tc.wantErr == "") != (err == nil) {
				t.Errorf("ValidStackName(%q) = %q, want %q", tc.in, got, tc.wantErr)
			}
		})
	}
}

func TestParseCapabilities(t *testing.T) {
	t.Parallel()
	got, err := ParseCapabilities("CAPABILITY_IAM, CAPABILITY_AUTO_EXPAND\nCAPABILITY_IAM")
	if diff := cmp.Diff([]string{CapabilityIAM, CapabilityAutoExpand}, got); diff != "" || err != nil {
		t.Errorf("capabilities (-want +got):\n%s err=%v", diff, err)
	}
	_, err = ParseCapabilities("CAPABILITY_IAM,capability_iam,CAPABILITY_ADMIN")
	if got := errString(err); !strings.Contains(got, `unknown capability "capability_iam"`) || !strings.Contains(got, `"CAPABILITY_ADMIN"`) {
		t.Errorf("error = %q, want both unknown capabilities", got)
	}
}

func TestDefaultChangeSetName(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 30, 5, 42e6, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		name, run, attempt, job, want string
	}{
		{name: "run", run: "123456", attempt: "2", job: "deploy_prod", want: "deploy-deploy-prod-123456-2-20260301t113005042"},
		{name: "local", want: "deploy-20260301t113005042"},
		{name: "odd_job", run: "1", attempt: "1", job: "--Ünïcode job!!", want: "deploy-n-code-job-1-1-20260301t113005042"},
		{name: "long_job", run: "9", attempt: "1", job: strings.Repeat("j", 300), want: "deploy-" + strings.Repeat("j", 128-len("deploy-")-len("-20260301t113005042")) + "-20260301t113005042"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := DefaultChangeSetName(tc.run, tc.attempt, tc.job, now)
			if got != tc.want {
				t.Errorf("DefaultChangeSetName = %q, want %q", got, tc.want)
			}
			if err := ValidChangeSetName(got); err != nil {
				t.Errorf("not valid: %v", err)
			}
		})
	}
}

func TestTemplateObjectURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ bucket, region, key, want string }{
		{"b", "eu-west-1", "p/app-1.template", "https://b.s3.eu-west-1.amazonaws.com/p/app-1.template"},
		{"b", "cn-north-1", "k", "https://b.s3.cn-north-1.amazonaws.com.cn/k"},
		{"my.bucket", "us-east-1", "a b", "https://s3.us-east-1.amazonaws.com/my.bucket/a%20b"},
		{"b", "", "k", "https://b.s3.amazonaws.com/k"},
	} {
		if got := TemplateObjectURL(tc.bucket, tc.region, tc.key); got != tc.want {
			t.Errorf("TemplateObjectURL(%q, %q, %q) = %q, want %q", tc.bucket, tc.region, tc.key, got, tc.want)
		}
	}
}

func FuzzParseParameterOverrides(f *testing.F) {
	for _, s := range []string{"Env=prod,Port=80", `A="x,y",B="q\"r"`, "A=1\nB=2", `[{"ParameterKey":"A","ParameterValue":"1"}]`, `{"Parameters":{"A":"1"}}`, `A="`, "=,=", `["A=1"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseParameterOverrides(s, files(nil))
		if err != nil {
			return
		}
		if checkParameterKeys(ps) != nil {
			t.Fatalf("accepted invalid keys: %+v", ps)
		}
		// Round trip: quoting every value and parsing again gives the
		// same parameters. Without escapes a value holding both quote
		// characters cannot be quoted.
		var b strings.Builder
		for _, p := range ps {
			if p.UsePrevious {
				return
			}
			q := `"`
			switch {
			case strings.Contains(p.Value, `"`) && strings.Contains(p.Value, "'"):
				return
			case strings.Contains(p.Value, `"`):
				q = "'"
			}
			b.WriteString(p.Key + "=" + q + p.Value + q + "\n")
		}
		again, err := ParseParameterOverrides(b.String(), nil)
		if err != nil {
			t.Fatalf("re-parsing %q: %v", b.String(), err)
		}
		if len(ps) == 0 {
			ps = nil
		}
		if diff := cmp.Diff(ps, again, ignorePosition); diff != "" && utf8.ValidString(s) {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func BenchmarkParseParameterOverrides(b *testing.B) {
	var sb strings.Builder
	for i := range 20 {
		sb.WriteString("Param")
		sb.WriteByte(byte('A' + i))
		sb.WriteString(`="value,with,commas",`)
	}
	in := sb.String()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseParameterOverrides(in, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseTags: whatever the text, ParseTags does not panic, and what it
// accepts is within CloudFormation's tag rules.
func FuzzParseTags(f *testing.F) {
	for _, s := range []string{"a=b,c=d", "Team: x\nCost: 12", "- Key: a\n  Value: 1", `{"a":1}`, `[{"Key":"k","Value":"v"}]`, "a: &x 1\nb: *x", "0", "a: {b: c}", ": :"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := ParseTags(s)
		if err == nil && checkTags(tags) != nil {
			t.Fatalf("accepted invalid tags: %+v", tags)
		}
	})
}
