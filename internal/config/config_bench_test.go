package config_test

import (
	"context"
	"testing"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/config"
)

// BenchmarkLoad validates a whole set of inputs, as every run does before
// any network call.
func BenchmarkLoad(b *testing.B) {
	base := map[string]string{
		"aws-region":     "ap-northeast-1",
		"role-to-assume": "arn:aws:iam::123456789012:role/deploy-role-for-ci",
	}
	keys := map[string]string{
		"aws-access-key-id":     "AKIAIOSFODNN7EXAMPLE",
		"aws-secret-access-key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	}
	deploy := map[string]string{
		"stack-name":              "sample-app-dev",
		"template":                "examples/templates/app.yaml",
		"cloudformation-role-arn": "arn:aws:iam::123456789012:role/deploy-role-for-cloudformation",
		"parameter-overrides":     "Env=dev,ImageTag=4b825dc",
		"capabilities":            "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND",
		"custom-tags":             `{"team":"platform","cost-center":"1234","service":"sample-app"}`,
		"transitive-tag-keys":     "team\nservice",
		"tags":                    `{"env":"dev"}`,
		"timeout-in-minutes":      "30",
	}
	oidcEnv := map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL":   "https://token.actions.example/token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "bearer-token",
	}
	cases := []struct {
		name   string
		inputs []map[string]string
		env    map[string]string
	}{
		{"stored_keys", []map[string]string{base, keys}, nil},
		{"oidc", []map[string]string{base}, oidcEnv},
		{"keys_and_deploy", []map[string]string{base, keys, deploy}, nil},
	}
	for _, tc := range cases {
		in := map[string]string{}
		for _, m := range tc.inputs {
			for k, v := range m {
				in[k] = v
			}
		}
		get := func(name string) string { return in[name] }
		env := func(key string) string {
			if key == "GITHUB_WORKSPACE" {
				return "../.." // the repository, for examples/templates
			}
			return tc.env[key]
		}
		if _, err := config.Load(context.Background(), get, env); err != nil {
			b.Fatalf("%s: %v", tc.name, err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := config.Load(context.Background(), get, env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoad_invalid is the failure path: every problem collected and
// explained.
func BenchmarkLoad_invalid(b *testing.B) {
	in := map[string]string{
		"aws-region":            "ap-northeast-1a",
		"role-to-assume":        "arn:aws:iam:us-east-1:12345:user/me",
		"aws-access-key-id":     "not a key",
		"aws-secret-access-key": "short",
		"role-duration-seconds": "abc",
		"custom-tags":           `{"bad key!":"v"}`,
	}
	get := func(name string) string { return in[name] }
	env := func(string) string { return "" }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := config.Load(context.Background(), get, env); err == nil {
			b.Fatal("invalid inputs were accepted")
		}
	}
}
