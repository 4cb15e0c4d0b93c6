package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/config"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/fault"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/runnerfile"
)

// deps runs the app in-process (so the race detector sees it) against srv.
func deps(t *testing.T, srv *fakeaws.Server, env map[string]string, stdout *bytes.Buffer) Deps {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"GITHUB_ENV", "GITHUB_OUTPUT"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		env[name] = p
	}
	env["GITHUB_WORKSPACE"] = dir
	return Deps{
		Getenv: func(k string) string { return env[k] },
		Environ: func() []string {
			var kv []string
			for k, v := range env {
				kv = append(kv, k+"="+v)
			}
			return kv
		},
		Inputs:   declaredInputs(t),
		Stdout:   stdout,
		ReadFile: os.ReadFile,
		Now:      time.Now,
		Sleep:    fault.Sleep,
		LoadAWSConfig: func(ctx context.Context, region string, hc aws.HTTPClient, _ config.DefaultChain) (aws.Config, error) {
			c, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region), awsconfig.WithHTTPClient(hc),
				awsconfig.WithCredentialsProvider(aws.AnonymousCredentials{}), awsconfig.WithBaseEndpoint(srv.URL()),
				// Keep the developer's ~/.aws out of the test.
				awsconfig.WithSharedConfigFiles([]string{}), awsconfig.WithSharedCredentialsFiles([]string{}))
			return c, err
		},
	}
}

// declaredInputs reads the repository's action.yml, as main reads its
// embedded copy.
func declaredInputs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	names, err := config.ParseActionInputs(b)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func read(t *testing.T, p string) []runnerfile.KV {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := runnerfile.Parse(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestRun_stored_keys_in_process(t *testing.T) {
	t.Parallel()
	srv := fakeaws.New()
	defer srv.Close()
	srv.AddUser("ci", "AKIAAPPTESTUSER00001", "appTestSecret/0123456789abcdefghijklmno")
	srv.AddRole(fakeaws.Role{Name: "deploy", AllowTagSession: true})
	env := map[string]string{
		"INPUT_AWS-REGION": "eu-west-1", "INPUT_AWS-ACCESS-KEY-ID": "AKIAAPPTESTUSER00001",
		"INPUT_AWS-SECRET-ACCESS-KEY": "appTestSecret/0123456789abcdefghijklmno", "INPUT_ROLE-TO-ASSUME": "arn:aws:iam::123456789012:role/deploy",
		"INPUT_OUTPUT-CREDENTIALS": "true",
	}
	var out bytes.Buffer
	d := deps(t, srv, env, &out)
	if err := Run(context.Background(), d); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	got := map[string]string{}
	for _, kv := range read(t, env["GITHUB_ENV"]) {
		got[kv.Key] = kv.Value
	}
	if !strings.HasPrefix(got["AWS_ACCESS_KEY_ID"], "ASIA") || got["AWS_REGION"] != "eu-west-1" {
		t.Errorf("env = %v", got)
	}
	outs := map[string]string{}
	for _, kv := range read(t, env["GITHUB_OUTPUT"]) {
		outs[kv.Key] = kv.Value
	}
	if outs["aws-secret-access-key"] != got["AWS_SECRET_ACCESS_KEY"] || outs["aws-account-id"] != "123456789012" {
		t.Errorf("outputs = %v", outs)
	}
	if !strings.Contains(out.String(), "::add-mask::"+got["AWS_SECRET_ACCESS_KEY"]) {
		t.Errorf("secret not masked")
	}
}

func TestRun_bad_inputs_report_everything_and_write_nothing(t *testing.T) {
	t.Parallel()
	srv := fakeaws.New()
	defer srv.Close()
	env := map[string]string{"INPUT_AWS-REGION": "nowhere", "INPUT_STACK-NAME": "app", "INPUT_TEMPLATE": "missing.yaml",
		"INPUT_PARAMETER-OVERRIDES": `A="unbalanced`, "ACTIONS_ID_TOKEN_REQUEST_URL": "http://x", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
		"INPUT_ROLE-TO-ASSUME": "arn:aws:iam::123456789012:role/deploy"}
	var out bytes.Buffer
	d := deps(t, srv, env, &out)
	err := Run(context.Background(), d)
	var ie *InputError
	if err == nil || !asInputError(err, &ie) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"input aws-region", "input template", "input parameter-overrides"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d requests made", n)
	}
	if kv := read(t, env["GITHUB_ENV"]); len(kv) != 0 {
		t.Errorf("env written: %v", kv)
	}
}

func asInputError(err error, target **InputError) bool {
	ie, ok := err.(*InputError)
	*target = ie
	return ok
}

// A leftover aws-cloudformation-github-deploy input with a typo would be
// silently ignored by the runner; the step stops before any request.
func TestRun_undeclared_input_stops_before_any_request(t *testing.T) {
	t.Parallel()
	srv := fakeaws.New()
	defer srv.Close()
	env := map[string]string{
		"INPUT_AWS-REGION": "eu-west-1", "INPUT_AWS-ACCESS-KEY-ID": "AKIAAPPTESTUSER00001",
		"INPUT_AWS-SECRET-ACCESS-KEY": "appTestSecret/0123456789abcdefghijklmno", "INPUT_ROLE-TO-ASSUME": "arn:aws:iam::123456789012:role/deploy",
		"INPUT_NO-EXECUTE-CHANGSET": "secret-looking-value", "INPUT_ENTRYPOINT": "", "INPUT_ARGS": "",
	}
	var out bytes.Buffer
	err := Run(context.Background(), deps(t, srv, env, &out))
	if err == nil || !strings.Contains(err.Error(), "input no-execute-changset: is not an input of this action") || !strings.Contains(err.Error(), "did you mean no-execute-changeset?") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "secret-looking-value") || strings.Contains(out.String(), "secret-looking-value") {
		t.Errorf("the value was shown: %v", err)
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d requests made", n)
	}
}
