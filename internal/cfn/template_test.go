package cfn

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Pathological bodies: each must end quickly, with a result or a clear error.
var (
	// unclosedFlowBody opens a flow mapping and never closes it (300 kB).
	unclosedFlowBody = "Parameters: {\n" + strings.Repeat("a\n", 150_000)
	// escapedQuotesBody is one 500 kB line of escaped quotes with no closing quote.
	escapedQuotesBody = `"` + strings.Repeat(`\"`, 250_000)
	// deepFlowBody nests 9,000 flow sequences in a default: deep but valid.
	deepFlowBody = "Parameters:\n  A:\n    Type: String\n    Default: " + strings.Repeat("[", 9_000) + strings.Repeat("]", 9_000) + "\nResources: {}\n"
	// tooDeepBody nests flow sequences past any sane depth (200 kB).
	tooDeepBody = "Parameters:\n  A:\n    Default: " + strings.Repeat("[", 200_000) + "\n"
	// laughsBody is a billion-laughs alias bomb inside Parameters.
	laughsBody = billionLaughs()
	// bigBody is a valid template of almost 1 MB with 2,000 parameters.
	bigBody = bigTemplate()
)

func billionLaughs() string {
	var b strings.Builder
	b.WriteString("Parameters:\n  L0:\n    Default: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 10; i++ {
		p := fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&b, "  L%d:\n    Default: &l%d [%s]\n", i, i, strings.Repeat(p+", ", 8)+p)
	}
	b.WriteString("Resources: {}\n")
	return b.String()
}

func bigTemplate() string {
	var b strings.Builder
	b.WriteString("AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n")
	for i := range 2_000 {
		fmt.Fprintf(&b, "  P%04d:\n    Type: String\n    Default: !Sub '${AWS::StackName}-%d' # why not\n", i, i)
	}
	b.WriteString("Resources:\n")
	for i := 0; b.Len() < MaxTemplateSize-300; i++ {
		fmt.Fprintf(&b, "  Q%06d:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: !Ref P%04d, Tags: [{Key: k, Value: \"v\\\"\"}]}\n", i, i%2_000)
	}
	return b.String()
}

func BenchmarkParseTemplateBody(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"unclosed_flow_300kB", unclosedFlowBody},
		{"escaped_quotes_500kB", escapedQuotesBody},
		{"deep_flow_9000", deepFlowBody},
		{"too_deep_200000", tooDeepBody},
		{"billion_laughs", laughsBody},
		{"big_1MB", bigBody},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := []byte(bc.body)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = parseTemplateBody(data)
			}
		})
	}
}

// TestParseTemplateBody_pathological checks results; the benchmarks above
// measure the time (the old hand scanner took 45 to 85 s on two of these).
func TestParseTemplateBody_pathological(t *testing.T) {
	t.Parallel()
	var bigParams []string
	for i := range 2_000 {
		bigParams = append(bigParams, fmt.Sprintf("P%04d", i))
	}
	for _, tc := range []struct {
		name       string
		body       string
		wantParams []string
		wantErr    string
	}{
		{name: "unclosed_flow", body: unclosedFlowBody, wantErr: "is not valid YAML: line 150001: did not find expected ',' or '}'"},
		{name: "escaped_quotes", body: escapedQuotesBody, wantErr: "is not valid YAML: found unexpected end of stream"},
		{name: "deep_flow", body: deepFlowBody, wantParams: []string{"A"}},
		{name: "too_deep", body: tooDeepBody, wantErr: "is not valid YAML: line 3: exceeded max depth of 10000"},
		{name: "billion_laughs", body: laughsBody, wantErr: "expands to more than 1000000 nodes through YAML aliases (an alias bomb?): write the values out"},
		{name: "big", body: bigBody, wantParams: bigParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseTemplateBody([]byte(tc.body))
			if diff := cmp.Diff(tc.wantErr, errString(err)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantParams, got.Parameters); diff != "" {
				t.Errorf("parameters (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseTemplateBody(f *testing.F) {
	for _, s := range []string{
		"Parameters:\n  A: {Type: String}\nResources: {}\n",
		"Parameters: {A: {}, 'B': {}}\n",
		"x: &a {A: 1}\nParameters:\n  <<: [*a, {B: 2}]\n",
		`{"Parameters": {"A": {}}, "Resources": {}}`,
		"Parameters: &p {A: *p}\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nParameters: {P: *b}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseTemplateBody(data)
		if err != nil {
			return
		}
		if !slices.IsSorted(got.Parameters) || len(slices.Compact(slices.Clone(got.Parameters))) != len(got.Parameters) {
			t.Fatalf("parameters not sorted and unique: %q", got.Parameters)
		}
	})
}
