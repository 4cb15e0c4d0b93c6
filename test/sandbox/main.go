// Command sandbox runs the action end to end with no AWS account: it starts
// the embedded fakes (STS, GitHub's OIDC endpoint, CloudFormation, S3) on
// 127.0.0.1, builds the action, runs it as GitHub's runner runs a Docker
// action, and prints the job log as GitHub would show it (masked), what went
// to GITHUB_ENV and the step outputs.
//
//	go run ./test/sandbox            # the whole seed flow
//	go run ./test/sandbox -debug     # with step debug on
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/runnerfile"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/runnerlog"
)

const (
	account  = "123456789012"
	region   = "ap-northeast-1"
	keyID    = "AKIASANDBOXUSER00001"
	secret   = "sandboxSecretKey/abcdefghijklmnopqrstuvw"
	stack    = "sample-app"
	template = "examples/templates/app.yaml"
)

func main() {
	debug := flag.Bool("debug", false, "run with step debug on (RUNNER_DEBUG=1)")
	opTime := flag.Duration("stack-time", 4*time.Second, "how long the fake CloudFormation takes per stack operation")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *debug, *opTime); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, debug bool, opTime time.Duration) error {
	root, err := actionrun.RepoRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "aws-assume-deploy-sandbox-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Println("Building the action ...")
	bin, err := actionrun.Build(ctx, root, tmp)
	if err != nil {
		return err
	}

	// The seed design: an IAM user that may only assume the deploy role, an
	// OIDC-trusted deploy role, and the CloudFormation service role.
	srv := fakeaws.New(func(o *fakeaws.Options) { o.AccountID, o.Region = account, region })
	defer srv.Close()
	s3 := fakecfn.NewS3()
	cfn := fakecfn.NewCloudFormation(func(o *fakecfn.Options) {
		o.S3, o.Region, o.AccountID = s3, region, account
		o.Script = fakecfn.Script{ChangeSetCreateDelay: time.Second, StackOperationDelay: opTime}
	})
	srv.Mount("cloudformation", cfn)
	srv.Mount("s3", s3)
	srv.AddUser("deploy-user", keyID, secret)
	srv.AddRole(fakeaws.Role{Name: "deploy-role-for-ci", TrustedUsers: []string{"deploy-user"}, AllowTagSession: true,
		Audience: "sts.amazonaws.com", SubPatterns: []string{"repo:octo-org/octo-repo:ref:refs/heads/main"}})
	fmt.Printf("Fake AWS (STS, CloudFormation, S3) and GitHub OIDC listening on %s\n\n", srv.URL())

	body, err := os.ReadFile(filepath.Join(root, template))
	if err != nil {
		return err
	}
	job := runnerlog.New(debug)
	// On top of the runner's defaults (actionrun.DefaultEnv).
	base := map[string]string{
		"GITHUB_RUN_ID": "1001", "GITHUB_WORKFLOW": "deploy", "GITHUB_SHA": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
		"AWS_ENDPOINT_URL": srv.URL(),
	}
	if debug {
		base["RUNNER_DEBUG"] = "1"
	}
	steps := []step{
		{
			title: "Step 1: keyless (GitHub OIDC) -> sts:AssumeRoleWithWebIdentity -> deploy role",
			env:   map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": srv.OIDCRequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN": srv.OIDCRequestToken()},
			inputs: map[string]string{
				"aws-region": region, "role-to-assume": "arn:aws:iam::" + account + ":role/deploy-role-for-ci",
			},
		},
		{
			title: "Step 2: assume-only IAM user -> deploy role -> change set through the CloudFormation service role",
			inputs: map[string]string{
				"aws-region": region, "aws-access-key-id": keyID, "aws-secret-access-key": secret,
				"role-to-assume": "arn:aws:iam::" + account + ":role/deploy-role-for-ci",
				"stack-name":     stack, "template": template,
				"cloudformation-role-arn": "arn:aws:iam::" + account + ":role/deploy-role-for-cloudformation",
				"parameter-overrides":     "Env=dev,ImageTag=4b825dc",
			},
		},
	}
	var env map[string]string
	for i, s := range steps {
		if env, err = s.run(ctx, bin, filepath.Join(tmp, fmt.Sprintf("step%d", i)), string(body), base, job); err != nil {
			return err
		}
	}
	if aws, err := exec.LookPath("aws"); err == nil {
		fmt.Println("=== Step 3: a later step runs `aws sts get-caller-identity` with the exported variables ===")
		cmd := exec.CommandContext(ctx, aws, "sts", "get-caller-identity", "--output", "json")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "AWS_ENDPOINT_URL=" + srv.URL(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		fmt.Print(job.Mask(string(out)))
		if err != nil {
			return fmt.Errorf("aws sts get-caller-identity: %w", err)
		}
	}
	fmt.Printf("\nCloudFormation calls made by the action: %s\n", callSummary(cfn))
	fmt.Println("Sandbox finished: every secret above is masked as GitHub would mask it.")
	return nil
}

type step struct {
	title  string
	env    map[string]string
	inputs map[string]string
}

// run executes one step like the runner: fresh file-command files, inputs as
// INPUT_<NAME> with hyphens kept, stdout through the job log.
func (s step) run(ctx context.Context, bin, dir, body string, base map[string]string, job *runnerlog.Log) (map[string]string, error) {
	fmt.Printf("=== %s ===\n", s.title)
	st, err := actionrun.NewStep(bin, dir, "")
	if err != nil {
		return nil, err
	}
	if err := st.WriteFile(template, body); err != nil {
		return nil, err
	}
	for _, m := range []map[string]string{base, s.env} {
		for k, v := range m {
			st.Env[k] = v
		}
	}
	r, err := st.Run(ctx, s.inputs)
	if err != nil {
		return nil, err
	}
	fmt.Print(indent(job.Render(r.Stdout)))
	if r.Stderr != "" {
		fmt.Fprint(os.Stderr, r.Stderr)
	}
	fmt.Printf("  (exit %d after %s)\n", r.Code, r.Elapsed.Round(time.Millisecond))
	env, err := show(job, "GITHUB_ENV", r.EnvRaw)
	if err != nil {
		return nil, err
	}
	if _, err := show(job, "GITHUB_OUTPUT", r.OutputRaw); err != nil {
		return nil, err
	}
	if b, _ := os.ReadFile(st.SummaryFile); len(b) > 0 {
		fmt.Printf("--- GITHUB_STEP_SUMMARY ---\n%s\n", indent(string(b)))
	}
	fmt.Println()
	if r.Code != 0 {
		return nil, fmt.Errorf("the step failed (exit %d)", r.Code)
	}
	return env, nil
}

// show prints a file command as the runner parses it, masked.
func show(job *runnerlog.Log, name, raw string) (map[string]string, error) {
	kvs, err := runnerfile.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("the runner would reject %s: %w", name, err)
	}
	fmt.Printf("--- %s (as the runner parses it; values masked) ---\n", name)
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
		fmt.Printf("  %s=%s\n", kv.Key, job.Mask(kv.Value))
	}
	return m, nil
}
func callSummary(c *fakecfn.CloudFormation) string {
	counts := map[string]int{}
	for _, call := range c.Calls() {
		counts[call.Action]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

func indent(s string) string {
	if s == "" {
		return s
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}
