package hardening

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/app"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/config"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
)

// fuzzInputs are the inputs the fuzzer drives; the rest stay valid.
var fuzzInputs = []string{"aws-region", "role-to-assume", "aws-secret-access-key", "role-duration-seconds", "role-session-name",
	"role-external-id", "custom-tags", "inline-session-policy", "stack-name", "template", "parameter-overrides", "tags"}

// FuzzConfigLoad: whatever the inputs, loading never panics, every problem
// names its input, a refused input set never reaches the network phase (the
// run stops before it builds any AWS client), and the file commands stay
// untouched.
func FuzzConfigLoad(f *testing.F) {
	for _, tc := range badInputs() {
		v := func(i int) string { return tc.inputs[fuzzInputs[i]] }
		f.Add(v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7), v(8), v(9), v(10), v(11))
	}
	f.Add(region, deployRoleARN, userSecret, "3600", "ok-session", "ext-id", `{"Team":"x"}`, `{"Version":"2012-10-17"}`, stackName, templatePath, "Env=prod", "K=V")
	declared, err := config.ParseActionInputs(readActionYML(f))
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	ws := filepath.Join(dir, "workspace")
	if err := os.MkdirAll(filepath.Join(ws, "infra"), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, region, role, secret, duration, session, extID, customTags, policy, stack, template, params, tags string) {
		values := []string{region, role, secret, duration, session, extID, customTags, policy, stack, template, params, tags}
		inputs := map[string]string{"aws-access-key-id": userKeyID}
		for i, name := range fuzzInputs {
			inputs[name] = values[i]
		}
		env := map[string]string{"GITHUB_WORKSPACE": ws}
		for _, name := range []string{"GITHUB_ENV", "GITHUB_OUTPUT"} {
			p := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(p, []byte(prefill), 0o600); err != nil {
				t.Fatal(err)
			}
			env[name] = p
		}
		// The inputs reach the action as the runner passes them.
		for name, v := range inputs {
			env[actionrun.InputVar(name)] = v
		}
		getenv := func(k string) string { return env[k] }
		get := func(name string) string { return strings.TrimSpace(inputs[name]) }

		cfg, err := config.Load(context.Background(), get, getenv)
		if err == nil {
			if cfg == nil {
				t.Fatal("Load returned neither a config nor an error")
			}
			return // valid sets are the other tests' business
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if line != "" && !strings.HasPrefix(line, "input ") {
				t.Errorf("a problem does not name its input: %q", line)
			}
		}
		if strings.Contains(err.Error(), secret) && len(strings.TrimSpace(secret)) >= 4 {
			t.Errorf("the error echoes aws-secret-access-key")
		}

		// The run must stop before LoadAWSConfig, the first step that can
		// reach the network; a nil hook panics if it is reached.
		var stdout strings.Builder
		var runErr error
		func() {
			defer func() {
				if r := recover(); r != nil {
					runErr = fmt.Errorf("the run went past validation: %v", r)
				}
			}()
			runErr = app.Run(context.Background(), app.Deps{
				Getenv: getenv, Stdout: &stdout, Now: time.Now, Inputs: declared,
				Environ: func() []string {
					var kv []string
					for k, v := range env {
						kv = append(kv, k+"="+v)
					}
					return kv
				},
				ReadFile: func(p string) ([]byte, error) {
					// Only the workspace exists; nothing on the host is read.
					return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
				},
				Sleep: func(context.Context, time.Duration) error { return errors.New("no sleeping in the fuzzer") },
			})
		}()
		var inputErr *app.InputError
		if !errors.As(runErr, &inputErr) {
			t.Fatalf("invalid inputs did not stop the run with an input error: %v", runErr)
		}
		for _, name := range []string{"GITHUB_ENV", "GITHUB_OUTPUT"} {
			if b, err := os.ReadFile(env[name]); err != nil || string(b) != prefill {
				t.Errorf("%s changed: %q", name, b)
			}
		}
		if strings.Contains(stdout.String(), "::group::") {
			t.Errorf("a credential phase started:\n%s", stdout.String())
		}
	})
}

func readActionYML(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
