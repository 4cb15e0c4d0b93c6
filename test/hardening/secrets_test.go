package hardening

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
)

// secretPath is one way through the action, run with every debug mode and
// scanned for canaries.
type secretPath struct {
	name string
	// prepare may change the job and returns the inputs and extra canaries.
	prepare func(t *testing.T, w *world, j *actionrun.Job) (map[string]string, []string)
	ok      bool
}

// previousSession runs the stored-keys flow once and returns what it
// exported: the credentials a role-chaining step finds in its environment.
func previousSession(t *testing.T, w *world) map[string]string {
	t.Helper()
	r := newJob(t, w).Run(keysInputs(nil))
	if r.Code != 0 {
		t.Fatalf("the earlier step failed\n%s", r.Dump())
	}
	return r.Env
}

func secretPaths() []secretPath {
	static := func(in map[string]string) func(*testing.T, *world, *actionrun.Job) (map[string]string, []string) {
		return func(*testing.T, *world, *actionrun.Job) (map[string]string, []string) { return in, nil }
	}
	return []secretPath{
		{name: "stored_keys", prepare: static(keysInputs(nil)), ok: true},
		{name: "stored_keys_output_credentials", prepare: static(keysInputs(map[string]string{"output-credentials": "true"})), ok: true},
		{name: "stored_keys_without_role", prepare: static(keysInputs(map[string]string{"role-to-assume": actionrun.Delete})), ok: true},
		{name: "stored_keys_mask_account_id", prepare: static(keysInputs(map[string]string{"mask-aws-account-id": "true"})), ok: true},
		{name: "oidc", prepare: static(oidcInputs(nil)), ok: true},
		{name: "oidc_unset_current_no_env", prepare: static(oidcInputs(map[string]string{"output-env-credentials": "false", "unset-current-credentials": "true"})), ok: true},
		{name: "role_chaining", ok: true, prepare: func(t *testing.T, w *world, j *actionrun.Job) (map[string]string, []string) {
			prev := previousSession(t, w)
			for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
				j.Env[k] = prev[k]
			}
			return map[string]string{"aws-region": region, "role-to-assume": deployRoleARN, "role-chaining": "true"},
				[]string{prev["AWS_ACCESS_KEY_ID"], prev["AWS_SECRET_ACCESS_KEY"], prev["AWS_SESSION_TOKEN"]}
		}},
		{name: "web_identity_token_file", ok: true, prepare: func(t *testing.T, w *world, j *actionrun.Job) (map[string]string, []string) {
			tok, err := w.sts.IDToken("sts.amazonaws.com")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(j.Workspace, "token.jwt"), []byte(tok+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			delete(j.Env, "ACTIONS_ID_TOKEN_REQUEST_URL")
			return map[string]string{"aws-region": region, "role-to-assume": deployRoleARN, "web-identity-token-file": "token.jwt"}, []string{tok}
		}},
		{name: "deploy_output_credentials", ok: true, prepare: func(t *testing.T, w *world, j *actionrun.Job) (map[string]string, []string) {
			w.cfn.SetScript(quickStack.script)
			return deployInputs(map[string]string{"output-credentials": "true"}), nil
		}},
		{name: "wrong_secret_key", prepare: static(keysInputs(map[string]string{"aws-secret-access-key": "CanaryWrongSecret/0123456789+abcdefghijk"})), ok: false},
		{name: "account_not_allowed", prepare: static(keysInputs(map[string]string{"allowed-account-ids": "210987654321"})), ok: false},
		{name: "token_file_missing", prepare: func(t *testing.T, w *world, j *actionrun.Job) (map[string]string, []string) {
			delete(j.Env, "ACTIONS_ID_TOKEN_REQUEST_URL")
			return map[string]string{"aws-region": region, "role-to-assume": deployRoleARN, "web-identity-token-file": "missing.jwt"}, nil
		}},
		{name: "bad_input_after_secrets_given", prepare: static(keysInputs(map[string]string{"role-duration-seconds": "1h"})), ok: false},
		{name: "github_token_on_a_push", ok: false, prepare: func(*testing.T, *world, *actionrun.Job) (map[string]string, []string) {
			const tok = "ghs_CanaryGitHubToken0123456789abcdefAB"
			return deployInputs(map[string]string{"execute-changeset": "false", "pr-comment": "true", "github-token": tok}), []string{tok}
		}},
	}
}

// TestSecretCanaries runs the successful paths and the failures not covered
// by TestFaults in every debug mode; TestFaults scans its own runs.
func TestSecretCanaries(t *testing.T) {
	t.Parallel()
	for _, p := range secretPaths() {
		for _, mode := range debugModes {
			t.Run(p.name+"/"+mode.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, worldOpts{})
				j := newJob(t, w)
				for k, v := range mode.env {
					j.Env[k] = v
				}
				inputs, extra := p.prepare(t, w, j)
				r := j.Run(inputs)
				if (r.Code == 0) != p.ok {
					t.Fatalf("unexpected outcome\n%s", r.Dump())
				}
				if p.ok {
					env := r.Env
					out := r.Outputs
					extra = append(extra, env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"], out["aws-secret-access-key"], out["aws-session-token"])
					if strings.HasPrefix(env["AWS_ACCESS_KEY_ID"], "ASIA") {
						extra = append(extra, env["AWS_ACCESS_KEY_ID"])
					}
				} else {
					r.Unchanged(t)
				}
				checkSecrets(t, r, mode.env != nil, extra...)
			})
		}
	}
}
