package fakecfn

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		wantParams []templateParam
		wantRes    []string // "ID Type"
		wantOuts   map[string]valueExpr
		wantErr    string
	}{
		{
			name: "yaml_short_and_long_forms",
			body: `# leading comment
AWSTemplateFormatVersion: '2010-09-09'
Description: >
  multi line
Parameters:
  Env: # trailing comment
    Type: String
    AllowedValues: [dev, prod]
  Pass:
    Type: String
    NoEcho: "true"
    Default: 'it''s # not a comment'
  Flow: {Type: Number, Default: 5}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      Tags:
        - Key: Type
          Value: nested-type-is-ignored
  Fn:
    Type: "AWS::Lambda::Function"
Outputs:
  A:
    Value: !Ref Bucket
  B:
    Value: !GetAtt Bucket.Arn
  C:
    Value: !Sub "${AWS::StackName}-x"
  D:
    Value:
      Fn::GetAtt: [Fn, Arn]
  E:
    Value:
      Ref: Env
  F:
    Value: "plain # text"
  G:
    Value: !Join [",", [a, b]]
  H:
    Value: !GetAtt [Bucket, DomainName]
    Export:
      Name: !Sub "${AWS::StackName}-H"
`,
			wantParams: []templateParam{
				{Name: "Env", Type: "String", AllowedValues: []string{"dev", "prod"}},
				{Name: "Pass", Type: "String", NoEcho: true, Default: "it's # not a comment", HasDefault: true},
				{Name: "Flow", Type: "Number", Default: "5", HasDefault: true},
			},
			wantRes: []string{"Bucket AWS::S3::Bucket", "Fn AWS::Lambda::Function"},
			wantOuts: map[string]valueExpr{
				"A": {Kind: "ref", Text: "Bucket"},
				"B": {Kind: "getatt", Text: "Bucket", Attr: "Arn"},
				"C": {Kind: "sub", Text: "${AWS::StackName}-x"},
				"D": {Kind: "getatt", Text: "Fn", Attr: "Arn"},
				"E": {Kind: "ref", Text: "Env"},
				"F": {Kind: "literal", Text: "plain # text"},
				"G": {Kind: "other", Origin: "Fn::Join"},
				"H": {Kind: "getatt", Text: "Bucket", Attr: "DomainName"},
			},
		},
		{
			name: "json",
			body: `{"Parameters": {"Z": {"Type": "String", "Default": 7, "NoEcho": true}, "A": {"Type": "String"}},
 "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}, "Queue": {"Type": "AWS::SQS::Queue"}},
 "Outputs": {"O1": {"Value": {"Ref": "Topic"}}, "O2": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}},
   "O3": {"Value": {"Fn::Sub": "${A}-y"}}, "O4": {"Value": "lit"}, "O5": {"Value": {"Fn::GetAtt": "Queue.QueueName"}}}}`,
			wantParams: []templateParam{
				{Name: "Z", Type: "String", Default: "7", HasDefault: true, NoEcho: true},
				{Name: "A", Type: "String"},
			},
			wantRes: []string{"Topic AWS::SNS::Topic", "Queue AWS::SQS::Queue"},
			wantOuts: map[string]valueExpr{
				"O1": {Kind: "ref", Text: "Topic"},
				"O2": {Kind: "getatt", Text: "Queue", Attr: "Arn"},
				"O3": {Kind: "sub", Text: "${A}-y"},
				"O4": {Kind: "literal", Text: "lit"},
				"O5": {Kind: "getatt", Text: "Queue", Attr: "QueueName"},
			},
		},
		{name: "json_malformed", body: `{"Resources": `, wantErr: "Template format error: JSON not well-formed. (unexpected end of JSON input)"},
		{name: "yaml_tab_indent", body: "Resources:\n\tX:\n", wantErr: "Template format error: YAML not well-formed. (line 2, column 1)"},
		{
			name: "yaml_anchors_merge_keys_and_empty_sections",
			body: `Parameters:
Mappings:
  Shared: &queue
    Type: AWS::SQS::Queue
    Properties: {DelaySeconds: 5}
Resources:
  A: *queue
  B:
    <<: *queue
    Type: AWS::SNS::Topic
Outputs:
  Arn:
    Value: !GetAtt A.Arn
`,
			wantRes:  []string{"A AWS::SQS::Queue", "B AWS::SNS::Topic"},
			wantOuts: map[string]valueExpr{"Arn": {Kind: "getatt", Text: "A", Attr: "Arn"}},
		},
		{name: "yaml_duplicate_key", body: "Resources:\n  X:\n    Type: A\n  X:\n    Type: B\n", wantErr: "Template format error: YAML not well-formed. (line 4, column 3)"},
		{name: "yaml_unknown_alias", body: "Resources:\n  X: *nope\n", wantErr: "Template format error: YAML not well-formed. (unknown anchor 'nope' referenced)"},
		{name: "yaml_not_a_mapping", body: "- a\n- b\n", wantErr: "Template format error: At least one Resources member must be defined."},
		{name: "no_resources", body: "Parameters: {}\n", wantErr: "Template format error: At least one Resources member must be defined."},
		{name: "resource_without_type", body: "Resources:\n  X:\n    Properties: {}\n", wantErr: "Template format error: [/Resources/X] Every Resources object must contain a Type member."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseTemplate(tc.body)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantParams, got.Params); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
			var res []string
			for _, r := range got.Resources {
				res = append(res, r.ID+" "+r.Type)
			}
			if diff := cmp.Diff(tc.wantRes, res); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			outs := map[string]valueExpr{}
			for _, o := range got.Outputs {
				outs[o.Name] = o.Value
			}
			if diff := cmp.Diff(tc.wantOuts, outs); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
		})
	}
}

// A resource reads the same from YAML and JSON, so converting a stack's
// template between the two is no change.
func TestParseTemplate_same_resource_in_yaml_and_json(t *testing.T) {
	t.Parallel()
	y, err := parseTemplate("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      DelaySeconds: !Ref Size # why not\n")
	if err != nil {
		t.Fatal(err)
	}
	j, err := parseTemplate(`{"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": {"Ref": "Size"}}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(j.Resources, y.Resources); diff != "" {
		t.Errorf("resources (-json +yaml):\n%s", diff)
	}
}

func TestResolveOutputs(t *testing.T) {
	t.Parallel()
	ctx := resolveCtx{
		params:    map[string]string{"Env": "prod"},
		physical:  map[string]string{"Bucket": "app-Bucket-ABC"},
		types:     map[string]string{"Bucket": "AWS::S3::Bucket"},
		stackName: "app", region: "eu-west-1", account: "111122223333",
	}
	tests := []struct {
		expr valueExpr
		want string
	}{
		{valueExpr{Kind: "literal", Text: "x"}, "x"},
		{valueExpr{Kind: "ref", Text: "Env"}, "prod"},
		{valueExpr{Kind: "ref", Text: "Bucket"}, "app-Bucket-ABC"},
		{valueExpr{Kind: "ref", Text: "AWS::Region"}, "eu-west-1"},
		{valueExpr{Kind: "getatt", Text: "Bucket", Attr: "Arn"}, "arn:aws:s3:eu-west-1:111122223333:app-Bucket-ABC"},
		{valueExpr{Kind: "getatt", Text: "Bucket", Attr: "DomainName"}, "app-Bucket-ABC.DomainName"},
		{valueExpr{Kind: "sub", Text: "${AWS::StackName}-${Env}-${Bucket.Arn}-${!Literal}"}, "app-prod-arn:aws:s3:eu-west-1:111122223333:app-Bucket-ABC-${Literal}"},
		{valueExpr{Kind: "other"}, "fake-Out-value"},
	}
	for _, tc := range tests {
		if got := ctx.resolve(tc.expr, "Out"); got != tc.want {
			t.Errorf("resolve(%+v) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func FuzzParseTemplate(f *testing.F) {
	f.Add(appTemplate)
	f.Add(`{"Resources": {"A": {"Type": "X"}}}`)
	f.Add("Outputs:\n  A:\n    Value:\n      Fn::Sub:\n        - x\n")
	f.Fuzz(func(t *testing.T, body string) {
		tmpl, err := parseTemplate(body)
		if err == nil && len(tmpl.Resources) == 0 {
			t.Errorf("parsed a template without resources")
		}
	})
}
