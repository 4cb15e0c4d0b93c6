package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/awsauth"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
)

// The test vectors of configure-aws-credentials v6.2.3 (test/*.test.ts in
// shared/peers/configure-aws-credentials) about input parsing, ported: each
// case is named FILE_TEST-NAME, with CAC's inputs (mockinputs.test.ts) and
// environment, and our result. Where we deliberately differ, the case says
// so in want and docs/migration.md says why.

// cacEnv is mockinputs.test.ts "envs", plus an STS-compatible endpoint so
// that its fake-region-1 is a region here (see index_fails_with_an_invalid_region).
var cacEnv = map[string]string{
	"GITHUB_REPOSITORY": "MY-REPOSITORY-NAME", "GITHUB_WORKFLOW": "MY-WORKFLOW-ID", "GITHUB_ACTION": "MY-ACTION-NAME",
	"GITHUB_ACTOR": "MY-USERNAME[bot]", "GITHUB_SHA": "MY-COMMIT-ID", "GITHUB_ACTIONS": "true",
	"GITHUB_REF": "refs/pull/42/merge", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_RUN_ID": "16412345678", "GITHUB_JOB": "build",
	"GITHUB_BASE_REF": "main", "GITHUB_HEAD_REF": "feature-branch", "GITHUB_TRIGGERING_ACTOR": "MY-USERNAME[bot]",
	"AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
}

// mockinputs.test.ts input sets.
var (
	cacIAMUser      = map[string]string{"aws-access-key-id": "MYAWSACCESSKEYID", "aws-secret-access-key": "MYAWSSECRETACCESSKEY", "aws-region": "fake-region-1"}
	cacIAMAssume    = merge(cacIAMUser, map[string]string{"role-to-assume": "arn:aws:iam::111111111111:role/MY-ROLE"})
	cacOIDC         = map[string]string{"role-to-assume": "arn:aws:iam::111111111111:role/MY-ROLE", "aws-region": "fake-region-1", "special-characters-workaround": "true"}
	cacTokenFile    = map[string]string{"web-identity-token-file": "file.txt", "role-to-assume": "arn:aws:iam::111111111111:role/MY-ROLE", "aws-region": "fake-region-1"}
	cacExistingRole = map[string]string{"role-to-assume": "arn:aws:iam::111111111111:role/MY-ROLE", "role-chaining": "true", "aws-region": "fake-region-1"}
	cacNoEnvCreds   = map[string]string{"role-to-assume": "arn:aws:iam::111111111111:role/MY-ROLE", "aws-region": "fake-region-1", "output-env-credentials": "false"}
)

func merge(base, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

type cacVector struct {
	name   string
	inputs map[string]string
	env    map[string]string // on top of cacEnv; "" deletes
	oidc   bool              // the job has the id-token permission
	files  map[string]string // workspace files; "->target" makes a link
	err    string            // a fragment of the error; "" = Load succeeds
	check  func(t *testing.T, p *Plan)
}

func (v cacVector) run(t *testing.T) {
	ws := t.TempDir()
	for name, body := range v.files {
		p := filepath.Join(ws, name)
		if target, ok := strings.CutPrefix(body, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := merge(cacEnv, map[string]string{"HOME": t.TempDir()})
	if v.oidc {
		env["ACTIONS_ID_TOKEN_REQUEST_URL"], env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "https://x/token?api-version=2.0", "fake-token"
	}
	for k, val := range v.env {
		if val == "" {
			delete(env, k)
		} else {
			env[k] = val
		}
	}
	getenv := func(k string) string { return env[k] }
	r := gha.ReadRunner(getenv)
	r.Workspace.Root = ws
	p, err := Load(context.Background(), getter(v.inputs), getenv, func(o *Options) { o.Runner = &r })
	switch {
	case v.err == "" && err != nil:
		t.Fatalf("Load: %v", err)
	case v.err != "" && err == nil:
		t.Fatalf("Load succeeded, want an error with %q", v.err)
	case v.err != "" && !strings.Contains(err.Error(), v.err):
		t.Fatalf("error lacks %q:\n%v", v.err, err)
	}
	if v.check != nil && p != nil {
		v.check(t, p)
	}
}

func source(want awsauth.Source) func(t *testing.T, p *Plan) {
	return func(t *testing.T, p *Plan) {
		t.Helper()
		if p.Auth.Source != want {
			t.Errorf("source = %v, want %v", p.Auth.Source, want)
		}
	}
}

func customTags(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"Custom` + itoa(i) + `":"value` + itoa(i) + `"`)
	}
	return b.String() + "}"
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestCAC_input_vectors(t *testing.T) {
	t.Parallel()
	vectors := []cacVector{
		// Sources (index.test.ts).
		{name: "index_GitHub_OIDC_Authentication_exports_environment_variables", inputs: cacOIDC, oidc: true, check: source(awsauth.SourceOIDC)},
		{name: "index_IAM_User_Authentication_exports_environment_variables", inputs: cacIAMUser, check: source(awsauth.SourceKeys)},
		{name: "index_AssumeRole_with_IAM_LTC_exports_environment_variables", inputs: cacIAMAssume, check: source(awsauth.SourceKeys)},
		{name: "index_AssumeRole_with_WebIdentityTokenFile_exports_environment_variables", inputs: cacTokenFile, files: map[string]string{"file.txt": "test-token"}, check: source(awsauth.SourceTokenFile)},
		{name: "index_Assume_existing_role_exports_environment_variables_from_env_variables", inputs: cacExistingRole,
			env: map[string]string{"AWS_ACCESS_KEY_ID": "MYAWSACCESSKEYID", "AWS_SECRET_ACCESS_KEY": "MYAWSSECRETACCESSKEY", "AWS_SESSION_TOKEN": "MYAWSSESSIONTOKEN"}, check: source(awsauth.SourceChaining)},
		{name: "index_Assume_existing_role_exports_environment_variables_from_inputs", inputs: merge(cacExistingRole, map[string]string{"aws-access-key-id": "MYAWSACCESSKEYID", "aws-secret-access-key": "MYAWSSECRETACCESSKEY", "aws-session-token": "MYAWSSESSIONTOKEN"}),
			check: func(t *testing.T, p *Plan) {
				source(awsauth.SourceKeys)(t, p)
				if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "role-chaining is ignored") {
					t.Errorf("warnings = %v", p.Warnings)
				}
			}},
		{name: "index_fails_if_doing_OIDC_without_the_ACTIONS_ID_TOKEN_REQUEST_TOKEN (ours: the default chain is tried, and says so)", inputs: cacOIDC, check: func(t *testing.T, p *Plan) {
			source(awsauth.SourceDefaultChain)(t, p)
			if !p.Auth.Chain.NoOIDC {
				t.Error("the chain's message will not mention the id-token permission")
			}
		}},
		{name: "index_fails_if_access_key_id_is_provided_without_secret_access_key", inputs: merge(cacIAMUser, map[string]string{"aws-secret-access-key": ""}), err: "input aws-secret-access-key: is missing"},
		{name: "index_does_not_fail_if_GITHUB_REF_is_missing", inputs: cacIAMUser, env: map[string]string{"GITHUB_REF": ""}},
		{name: "index_fails_when_github_env_vars_are_missing (ours: runs, sends the tags it has)", inputs: cacIAMAssume, env: map[string]string{"GITHUB_REPOSITORY": "", "GITHUB_SHA": ""},
			check: func(t *testing.T, p *Plan) {
				if n := awsauth.DefaultTagCount(p.Auth.GitHub); n != 11 {
					t.Errorf("default tags = %d, want 11 (no Repository, no Commit)", n)
				}
			}},

		// Force Skip OIDC (index.test.ts).
		{name: "index_Force_Skip_OIDC_skips_OIDC_when_force-skip-oidc_is_true_with_IAM_credentials", inputs: merge(cacIAMAssume, map[string]string{"force-skip-oidc": "true"}), oidc: true, check: source(awsauth.SourceKeys)},
		{name: "index_Force_Skip_OIDC_skips_OIDC_when_force-skip-oidc_is_true_with_web_identity_token_file", inputs: merge(cacTokenFile, map[string]string{"force-skip-oidc": "true"}), oidc: true, files: map[string]string{"file.txt": "test-token"}, check: source(awsauth.SourceTokenFile)},
		{name: "index_Force_Skip_OIDC_fails_when_force-skip-oidc_is_true_but_no_alternative_credentials_provided (ours: the default chain, e.g. the instance role)",
			inputs: map[string]string{"role-to-assume": "arn:aws:iam::111111111111:role/MY-ROLE", "aws-region": "fake-region-1", "force-skip-oidc": "true"}, oidc: true, check: source(awsauth.SourceDefaultChain)},
		{name: "index_Force_Skip_OIDC_allows_force-skip-oidc_without_role-to-assume", inputs: merge(cacIAMUser, map[string]string{"force-skip-oidc": "true"}), oidc: true, check: source(awsauth.SourceKeys)},
		{name: "index_Force_Skip_OIDC_uses_OIDC_when_force-skip-oidc_is_false", inputs: merge(cacOIDC, map[string]string{"force-skip-oidc": "false"}), oidc: true, check: source(awsauth.SourceOIDC)},
		{name: "index_Force_Skip_OIDC_works_with_role_chaining_when_force-skip-oidc_is_true", inputs: merge(cacExistingRole, map[string]string{"force-skip-oidc": "true", "aws-access-key-id": "MYAWSACCESSKEYID", "aws-secret-access-key": "MYAWSSECRETACCESSKEY"}), oidc: true, check: source(awsauth.SourceKeys)},

		// Odd inputs (index.test.ts).
		{name: "index_fails_with_an_invalid_region", inputs: map[string]string{"aws-region": "$|<1B1D1 701L37"}, err: "input aws-region"},
		{name: "index_fake-region-1_without_an_STS-compatible_endpoint (ours: refused, CAC accepts ^[a-z0-9-]+$)", inputs: cacIAMUser, env: map[string]string{"AWS_ENDPOINT_URL": ""}, err: "input aws-region: \"fake-region-1\" is not an AWS region"},
		{name: "index_fails_with_a_role-session-name_containing_invalid_characters", inputs: merge(cacIAMAssume, map[string]string{"role-session-name": "invalid session!"}), err: "input role-session-name"},
		{name: "index_fails_with_a_role-session-name_that_is_too_short", inputs: merge(cacIAMAssume, map[string]string{"role-session-name": "a"}), err: "2-64 characters"},
		{name: "index_fails_with_a_role-session-name_that_is_too_long", inputs: merge(cacIAMAssume, map[string]string{"role-session-name": strings.Repeat("a", 65)}), err: "2-64 characters"},
		{name: "index_handles_improper_retry-max-attempts_input (CAC: -1 becomes 1 attempt; ours: refused)", inputs: merge(cacOIDC, map[string]string{"retry-max-attempts": "-1", "special-characters-workaround": "false"}), oidc: true, err: "input retry-max-attempts"},
		{name: "index_retry-max-attempts_50_accepted", inputs: merge(cacIAMAssume, map[string]string{"retry-max-attempts": "50"}), check: func(t *testing.T, p *Plan) {
			if p.Auth.MaxAttempts != 50 {
				t.Errorf("attempts = %d", p.Auth.MaxAttempts)
			}
		}},
		{name: "index_GH_OIDC_special-characters-workaround_turns_retries_on_with_12_attempts", inputs: merge(cacOIDC, map[string]string{"disable-retry": "true"}), oidc: true, check: func(t *testing.T, p *Plan) {
			if !p.Auth.SpecialCharactersWorkaround || p.Auth.MaxAttempts != 12 {
				t.Errorf("workaround %v, attempts %d", p.Auth.SpecialCharactersWorkaround, p.Auth.MaxAttempts)
			}
		}},
		{name: "index_respects_disable-retry_for_validateCredentials", inputs: merge(cacIAMUser, map[string]string{"disable-retry": "true"}), check: func(t *testing.T, p *Plan) {
			if p.Auth.MaxAttempts != 1 {
				t.Errorf("attempts = %d", p.Auth.MaxAttempts)
			}
		}},
		{name: "index_role-duration-seconds_abc (CAC: 3600; ours: refused)", inputs: merge(cacIAMAssume, map[string]string{"role-duration-seconds": "abc"}), err: "input role-duration-seconds"},
		{name: "helpers_handles_getBooleanInput_correctly_invalid", inputs: merge(cacIAMUser, map[string]string{"role-chaining": "invalid"}), err: "is not a boolean"},
		{name: "helpers_handles_getBooleanInput_correctly_default", inputs: cacIAMUser, check: func(t *testing.T, p *Plan) {
			if !p.Export.Env || p.Export.Credentials || p.Export.UnsetCurrent {
				t.Errorf("export = %+v", p.Export)
			}
		}},
		{name: "index_use-existing-credentials", inputs: map[string]string{"aws-region": "fake-region-1", "use-existing-credentials": "true", "role-to-assume": "arn:aws:iam::111111111111:role/MY-ROLE"}, check: func(t *testing.T, p *Plan) {
			if !p.UseExisting {
				t.Error("UseExisting false")
			}
		}},

		// Output and unset rules (index.test.ts, cleanup.test.ts).
		{name: "index_doesnt_export_credentials_as_environment_variables_if_told_not_to", inputs: cacNoEnvCreds, oidc: true, check: func(t *testing.T, p *Plan) {
			if p.Export.Env || p.Export.Credentials {
				t.Errorf("export = %+v", p.Export)
			}
		}},
		{name: "helpers_wont_output_credentials_to_env_if_told_not_to_with_unset (no blanking)", inputs: merge(cacNoEnvCreds, map[string]string{"unset-current-credentials": "true", "role-chaining": "true"}), check: func(t *testing.T, p *Plan) {
			if p.DefaultChain.IgnoreEnvKeys || p.Export.Env {
				t.Errorf("chain %+v export %+v", p.DefaultChain, p.Export)
			}
		}},
		{name: "index_unset-current-credentials_with_role-chaining_is_allowed", inputs: merge(cacExistingRole, map[string]string{"unset-current-credentials": "true"}), check: func(t *testing.T, p *Plan) {
			if !p.DefaultChain.IgnoreEnvKeys || !p.Auth.Chain.EnvKeysIgnored {
				t.Errorf("chain %+v", p.DefaultChain)
			}
		}},

		// Tags (index.test.ts "Custom Tags", "Default session tags").
		{name: "index_rejects_invalid_JSON_in_custom_tags", inputs: merge(cacIAMAssume, map[string]string{"custom-tags": "not a json"}), err: "input custom-tags: is not valid JSON"},
		{name: "index_rejects_array_input_for_custom_tags", inputs: merge(cacIAMAssume, map[string]string{"custom-tags": "[1, 2, 3]"}), err: "must be a JSON object"},
		{name: "index_rejects_custom_tags_that_conflict_with_protected_session_tags", inputs: merge(cacIAMAssume, map[string]string{"custom-tags": `{"Repository":"evil-repo"}`}), err: `key "Repository" is one of the action's own session tags`},
		{name: "index_rejects_custom_tags_that_conflict_with_droppable_tag_keys", inputs: merge(cacIAMAssume, map[string]string{"custom-tags": `{"EventName":"workflow_dispatch","BaseRef":"release/2026"}`}), err: `key "EventName"`},
		{name: "index_rejects_custom_tags_that_conflict_with_the_protected_Branch_tag", inputs: merge(cacIAMAssume, map[string]string{"custom-tags": `{"Branch":"evil-branch"}`}), err: `key "Branch"`},
		{name: "index_protected_key_in_another_case (ours: refused, CAC compares case-sensitively)", inputs: merge(cacIAMAssume, map[string]string{"custom-tags": `{"repository":"evil-repo"}`}), err: `key "repository"`},
		{name: "index_rejects_custom_tags_with_invalid_key_characters", inputs: merge(cacIAMAssume, map[string]string{"custom-tags": `{"invalid{key}":"value"}`}), err: `key "invalid{key}" must be 1-128`},
		{name: "assumeRole_custom_tags_value_object_refused", inputs: merge(cacIAMAssume, map[string]string{"custom-tags": `{"A":{"b":1}}`}), err: "must be a string, number or boolean"},
		{name: "assumeRole_custom_tags_value_null_refused", inputs: merge(cacIAMAssume, map[string]string{"custom-tags": `{"A":null}`}), err: "must be a string, number or boolean"},
		{name: "index_rejects_custom-tags_that_would_exceed_the_session-tag_limit", inputs: merge(cacIAMAssume, map[string]string{"custom-tags": customTags(38)}), err: "would make 51 session tags (13 of this job's own and 38 custom)"},
		{name: "index_allows_custom-tags_up_to_the_session-tag_limit", inputs: merge(cacIAMAssume, map[string]string{"custom-tags": customTags(37)}), check: func(t *testing.T, p *Plan) {
			req, opt := awsauth.SessionTags(p.Auth.GitHub, p.Auth.CustomTags)
			if n := len(req) + len(opt); n != 50 {
				t.Errorf("tags = %d, want 50", n)
			}
		}},
		{name: "index_handles_valid_custom_tags", inputs: merge(cacIAMAssume, map[string]string{"custom-tags": `{"Environment":"Production","Team":"DevOps","Build":42,"Prod":true}`}), check: func(t *testing.T, p *Plan) {
			want := []awsauth.Tag{{Key: "Build", Value: "42"}, {Key: "Environment", Value: "Production"}, {Key: "Prod", Value: "true"}, {Key: "Team", Value: "DevOps"}}
			if d := cmp.Diff(want, p.Auth.CustomTags); d != "" {
				t.Errorf("custom tags (-want +got):\n%s", d)
			}
		}},
		{name: "index_warns_when_custom_tags_are_used_with_OIDC", inputs: merge(cacOIDC, map[string]string{"custom-tags": `{"MyTag":"value"}`}), oidc: true, check: func(t *testing.T, p *Plan) {
			if len(p.Auth.CustomTags) != 0 || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "custom-tags are ignored") {
				t.Errorf("tags %v warnings %v", p.Auth.CustomTags, p.Warnings)
			}
		}},

		// allowed-account-ids (index.test.ts "Account ID Validation").
		{name: "index_succeeds_with_multiple_allowed_account_IDs", inputs: merge(cacIAMUser, map[string]string{"allowed-account-ids": "999999999999,111111111111,222222222222"}), check: func(t *testing.T, p *Plan) {
			if d := cmp.Diff([]string{"999999999999", "111111111111", "222222222222"}, p.Auth.AllowedAccountIDs); d != "" {
				t.Error(d)
			}
		}},
		{name: "index_ignores_validation_when_allowed-account-ids_is_empty", inputs: merge(cacIAMUser, map[string]string{"allowed-account-ids": ""}), check: func(t *testing.T, p *Plan) {
			if len(p.Auth.AllowedAccountIDs) != 0 {
				t.Error(p.Auth.AllowedAccountIDs)
			}
		}},
		{name: "index_handles_whitespace_in_allowed-account-ids_input", inputs: merge(cacIAMUser, map[string]string{"allowed-account-ids": " 111111111111 , 222222222222 "}), check: func(t *testing.T, p *Plan) {
			if d := cmp.Diff([]string{"111111111111", "222222222222"}, p.Auth.AllowedAccountIDs); d != "" {
				t.Error(d)
			}
		}},
		{name: "index_allowed-account-ids_not_12_digits (ours: refused before any call)", inputs: merge(cacIAMUser, map[string]string{"allowed-account-ids": "1234"}), err: "12-digit"},

		// Token file (assumeRole.test.ts, helpers.test.ts).
		{name: "assumeRole_refuses_when_the_token_file_is_a_symlink_and_never_calls_STS", inputs: cacTokenFile, files: map[string]string{"secret": "root:x:0:0", "file.txt": "->secret"}, err: "is a symbolic link"},
		{name: "assumeRole_preserves_the_existing_missing-file_error_when_the_token_file_does_not_exist", inputs: cacTokenFile, err: "web identity token file \"file.txt\" does not exist"},
		{name: "assumeRole_passes_token_contents_to_STS_when_the_file_is_regular", inputs: cacTokenFile, files: map[string]string{"file.txt": "real-token"}, check: source(awsauth.SourceTokenFile)},
		{name: "helpers_refuses_to_read_when_the_parent_directory_is_a_symlink", inputs: merge(cacTokenFile, map[string]string{"web-identity-token-file": "dir/file.txt"}), files: map[string]string{"real.txt": "x", "dir": "->."}, err: "is a symbolic link"},
		{name: "assumeRole_absolute_token_path_outside_the_workspace (ours: refused, a Docker action cannot see it)", inputs: merge(cacTokenFile, map[string]string{"web-identity-token-file": "/etc/hostname"}), err: "outside the workspace"},

		// Profiles (index.test.ts "AWS Profile Support", profileManager.test.ts).
		{name: "index_writes_profile_files_with_OIDC_authentication", inputs: merge(cacOIDC, map[string]string{"aws-profile": "dev"}), oidc: true, check: func(t *testing.T, p *Plan) {
			if p.Export.Env || p.Export.Profile == nil || p.Export.Profile.Name != "dev" {
				t.Errorf("export = %+v", p.Export)
			}
		}},
		{name: "index_respects_output-env-credentials=true_with_profiles", inputs: merge(cacOIDC, map[string]string{"aws-profile": "dev", "output-env-credentials": "true"}), oidc: true, check: func(t *testing.T, p *Plan) {
			if !p.Export.Env || p.Export.Profile == nil {
				t.Errorf("export = %+v", p.Export)
			}
		}},
		{name: "index_rejects_invalid_profile_names_with_whitespace", inputs: merge(cacOIDC, map[string]string{"aws-profile": "invalid profile"}), oidc: true, err: "whitespace"},

		// Proxy (index.test.ts "HTTP Proxy Configuration", helpers.test.ts "translates environment variables").
		{name: "index_configures_proxy_from_http-proxy_input", inputs: merge(cacOIDC, map[string]string{"http-proxy": "http://proxy.example.com:8080"}), oidc: true, check: proxy("http://proxy.example.com:8080", "")},
		{name: "index_configures_proxy_from_HTTP_PROXY_environment_variable", inputs: cacOIDC, oidc: true, env: map[string]string{"HTTP_PROXY": "http://proxy.example.com:8080"}, check: proxy("http://proxy.example.com:8080", "")},
		{name: "index_configures_proxy_from_HTTPS_PROXY_environment_variable", inputs: cacOIDC, oidc: true, env: map[string]string{"HTTPS_PROXY": "https://proxy.example.com:8080"}, check: proxy("https://proxy.example.com:8080", "")},
		{name: "helpers_translates_environment_variables_HTTPS_PROXY_over_HTTP_PROXY", inputs: cacOIDC, oidc: true, env: map[string]string{"HTTPS_PROXY": "https://proxy:8080", "HTTP_PROXY": "http://other:1"}, check: proxy("https://proxy:8080", "")},
		{name: "index_prioritizes_http-proxy_input_over_environment_variables", inputs: merge(cacOIDC, map[string]string{"http-proxy": "http://input-proxy.example.com:8080"}), oidc: true, env: map[string]string{"HTTP_PROXY": "http://env-proxy.example.com:8080"}, check: proxy("http://input-proxy.example.com:8080", "")},
		{name: "index_configures_no-proxy_setting", inputs: merge(cacOIDC, map[string]string{"http-proxy": "http://proxy.example.com:8080", "no-proxy": "localhost,127.0.0.1"}), oidc: true, check: proxy("http://proxy.example.com:8080", "localhost,127.0.0.1")},
		{name: "ProxyResolver_handles_empty_noProxy_entries_and_white_space", inputs: merge(cacOIDC, map[string]string{"http-proxy": "http://proxy:8080", "no-proxy": "example.com, ,test.com other.com"}), oidc: true, check: proxy("http://proxy:8080", "example.com,test.com,other.com")},
		{name: "helpers_NO_PROXY_environment_variable_as_no-proxy", inputs: cacOIDC, oidc: true, env: map[string]string{"HTTPS_PROXY": "http://proxy:8080", "NO_PROXY": ".internal"}, check: proxy("http://proxy:8080", ".internal")},
		{name: "index_works_without_proxy_configuration", inputs: cacOIDC, oidc: true, check: proxy("", "")},
		{name: "ours_proxy_without_scheme_is_http", inputs: cacOIDC, oidc: true, env: map[string]string{"HTTPS_PROXY": "proxy.corp:3128"}, check: proxy("http://proxy.corp:3128", "")},

		// sts-endpoint (index.test.ts "Custom STS Endpoint").
		{name: "index_passes_sts-endpoint_to_the_STS_client", inputs: merge(cacOIDC, map[string]string{"sts-endpoint": "https://sts.custom.example.com"}), oidc: true, env: map[string]string{"AWS_ENDPOINT_URL": ""}, check: func(t *testing.T, p *Plan) {
			if p.STSEndpoint == nil || p.STSEndpoint.Host != "sts.custom.example.com" {
				t.Errorf("endpoint = %v", p.STSEndpoint)
			}
		}},
		{name: "index_works_with_http_endpoints_for_local_services", inputs: merge(cacOIDC, map[string]string{"sts-endpoint": "http://localhost:9000"}), oidc: true},
		{name: "index_sets_timeout_when_action-timeout-s_is_provided", inputs: merge(cacIAMUser, map[string]string{"action-timeout-s": "30"}), check: func(t *testing.T, p *Plan) {
			if p.ActionTimeout.Seconds() != 30 {
				t.Errorf("timeout = %v", p.ActionTimeout)
			}
		}},
		{name: "index_does_not_set_timeout_when_action-timeout-s_is_0", inputs: merge(cacIAMUser, map[string]string{"action-timeout-s": "0"}), check: func(t *testing.T, p *Plan) {
			if !p.Deadline.IsZero() {
				t.Errorf("deadline = %v", p.Deadline)
			}
		}},
	}
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			v.run(t)
		})
	}
}

func proxy(url, noProxy string) func(t *testing.T, p *Plan) {
	return func(t *testing.T, p *Plan) {
		t.Helper()
		got := ""
		if p.Proxy != nil {
			got = p.Proxy.String()
		}
		if got != url || p.NoProxy != noProxy {
			t.Errorf("proxy = %q no-proxy = %q, want %q %q", got, p.NoProxy, url, noProxy)
		}
	}
}
