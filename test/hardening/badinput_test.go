package hardening

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/config"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
)

// badInput is one malformed or hostile input set. Every one must fail with
// exit code 1 before any network call, name the input and say how to fix it,
// and leave GITHUB_ENV and GITHUB_OUTPUT as they were.
type badInput struct {
	name   string
	inputs map[string]string
	env    map[string]string // extra job environment; "" deletes a variable
	files  map[string]string // workspace files to create
	input  string            // the input the error must name
	fix    string            // a fragment of the fix the error must give
}

func repeatList(n int, f func(i int) string, sep string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = f(i)
	}
	return strings.Join(parts, sep)
}

func badInputs() []badInput {
	tags44 := "{" + repeatList(44, func(i int) string { return fmt.Sprintf("%q:\"v\"", fmt.Sprintf("Tag%02d", i)) }, ",") + "}"
	longPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", 2100) + `/*"}]}`
	policies11 := repeatList(11, func(i int) string { return fmt.Sprintf("arn:aws:iam::%s:policy/p%d", account, i) }, ",")
	big := "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n# " + strings.Repeat("x", 1<<20+16) + "\n"
	k := keysInputs
	d := deployInputs
	return []badInput{
		// role-to-assume: malformed ARNs.
		{name: "arn_wrong_partition", inputs: k(map[string]string{"role-to-assume": "arn:aws-xx:iam::123456789012:role/deploy"}), input: "role-to-assume", fix: "use aws"},
		{name: "arn_partition_mismatch_with_region", inputs: k(map[string]string{"role-to-assume": "arn:aws-cn:iam::123456789012:role/deploy"}), input: "role-to-assume", fix: "same partition"},
		{name: "arn_wrong_service", inputs: k(map[string]string{"role-to-assume": "arn:aws:s3::123456789012:role/deploy"}), input: "role-to-assume", fix: "must be iam"},
		{name: "arn_account_11_digits", inputs: k(map[string]string{"role-to-assume": "arn:aws:iam::12345678901:role/deploy"}), input: "role-to-assume", fix: "exactly 12 digits"},
		{name: "arn_account_13_digits", inputs: k(map[string]string{"role-to-assume": "arn:aws:iam::1234567890123:role/deploy"}), input: "role-to-assume", fix: "exactly 12 digits"},
		{name: "arn_user_resource", inputs: k(map[string]string{"role-to-assume": "arn:aws:iam::123456789012:user/ci"}), input: "role-to-assume", fix: "deploy role's ARN"},
		{name: "arn_policy_resource", inputs: k(map[string]string{"role-to-assume": "arn:aws:iam::123456789012:policy/deploy"}), input: "role-to-assume", fix: "must start with role/"},
		{name: "arn_assumed_role_session", inputs: k(map[string]string{"role-to-assume": "arn:aws:sts::123456789012:assumed-role/deploy/session"}), input: "role-to-assume", fix: "use the role's ARN"},
		{name: "arn_with_region", inputs: k(map[string]string{"role-to-assume": "arn:aws:iam:us-east-1:123456789012:role/deploy"}), input: "role-to-assume", fix: "two colons after iam"},
		{name: "arn_role_name_65_chars", inputs: k(map[string]string{"role-to-assume": "arn:aws:iam::123456789012:role/" + strings.Repeat("r", 65)}), input: "role-to-assume", fix: "1-64 characters"},
		{name: "arn_five_parts", inputs: k(map[string]string{"role-to-assume": "arn:aws:iam:123456789012:role/deploy"}), input: "role-to-assume", fix: "six colon-separated parts"},
		{name: "role_name_with_space", inputs: k(map[string]string{"role-to-assume": "deploy role"}), input: "role-to-assume", fix: "use arn:aws:iam::ACCOUNT:role/NAME"},
		{name: "bare_role_name_with_oidc", inputs: oidcInputs(map[string]string{"role-to-assume": "deploy"}), input: "role-to-assume", fix: "Use the full ARN"},
		// aws-region.
		{name: "region_missing", inputs: k(map[string]string{"aws-region": actionrun.Delete}), input: "aws-region", fix: "aws-region: us-east-1"},
		{name: "region_availability_zone", inputs: k(map[string]string{"aws-region": "ap-northeast-1a"}), input: "aws-region", fix: "drop the last letter"},
		{name: "region_upper_case", inputs: k(map[string]string{"aws-region": "US-EAST-1"}), input: "aws-region", fix: "use a region code"},
		{name: "region_with_newline_injection", inputs: k(map[string]string{"aws-region": "us-east-1\nAWS_REGION=evil"}), input: "aws-region", fix: "use a region code"},
		{name: "region_cyrillic_homoglyph", inputs: k(map[string]string{"aws-region": "us-eаst-1"}), input: "aws-region", fix: "use a region code"},
		{name: "region_url", inputs: k(map[string]string{"aws-region": "https://sts.amazonaws.com"}), input: "aws-region", fix: "use a region code"},
		// role-duration-seconds.
		{name: "duration_zero", inputs: k(map[string]string{"role-duration-seconds": "0"}), input: "role-duration-seconds", fix: "900 to 43200"},
		{name: "duration_899", inputs: k(map[string]string{"role-duration-seconds": "899"}), input: "role-duration-seconds", fix: "900 to 43200"},
		{name: "duration_43201", inputs: k(map[string]string{"role-duration-seconds": "43201"}), input: "role-duration-seconds", fix: "900 to 43200"},
		{name: "duration_1h", inputs: k(map[string]string{"role-duration-seconds": "1h"}), input: "role-duration-seconds", fix: "write e.g. 3600"},
		{name: "duration_negative", inputs: k(map[string]string{"role-duration-seconds": "-3600"}), input: "role-duration-seconds", fix: "900 to 43200"},
		{name: "duration_fullwidth_digits", inputs: k(map[string]string{"role-duration-seconds": "３６００"}), input: "role-duration-seconds", fix: "write e.g. 3600"},
		{name: "duration_overflow", inputs: k(map[string]string{"role-duration-seconds": "99999999999999999999"}), input: "role-duration-seconds", fix: "write e.g. 3600"},
		// role-session-name.
		{name: "session_name_one_char", inputs: k(map[string]string{"role-session-name": "a"}), input: "role-session-name", fix: "2-64 characters"},
		{name: "session_name_65_chars", inputs: k(map[string]string{"role-session-name": strings.Repeat("s", 65)}), input: "role-session-name", fix: "2-64 characters"},
		{name: "session_name_space", inputs: k(map[string]string{"role-session-name": "my session"}), input: "role-session-name", fix: "remove other characters"},
		{name: "session_name_slash", inputs: k(map[string]string{"role-session-name": "ci/deploy"}), input: "role-session-name", fix: "remove other characters"},
		{name: "session_name_heredoc_marker", inputs: k(map[string]string{"role-session-name": "x\nghadelimiter_0123\nLD_PRELOAD=/tmp/x.so"}), input: "role-session-name", fix: "remove other characters"},
		{name: "session_name_bidi_override", inputs: k(map[string]string{"role-session-name": "deploy\u202emain"}), input: "role-session-name", fix: "remove other characters"},
		// role-external-id.
		{name: "external_id_one_char", inputs: k(map[string]string{"role-external-id": "x"}), input: "role-external-id", fix: "2-1224 characters"},
		{name: "external_id_1225_chars", inputs: k(map[string]string{"role-external-id": strings.Repeat("e", 1225)}), input: "role-external-id", fix: "2-1224 characters"},
		{name: "external_id_illegal_chars", inputs: k(map[string]string{"role-external-id": "id with spaces;"}), input: "role-external-id", fix: "2-1224 characters"},
		// Session tags.
		{name: "custom_tags_over_limit", inputs: k(map[string]string{"custom-tags": tags44}), input: "custom-tags", fix: "STS allows 50: remove some"},
		{name: "custom_tags_not_json", inputs: k(map[string]string{"custom-tags": "Team=payments"}), input: "custom-tags", fix: `write an object, e.g. {"Team"`},
		{name: "custom_tags_json_array", inputs: k(map[string]string{"custom-tags": `[{"Key":"Team","Value":"x"}]`}), input: "custom-tags", fix: `must be a JSON object`},
		{name: "custom_tags_key_129_chars", inputs: k(map[string]string{"custom-tags": `{"` + strings.Repeat("k", 129) + `":"v"}`}), input: "custom-tags", fix: "1-128 letters"},
		{name: "custom_tags_value_257_chars", inputs: k(map[string]string{"custom-tags": `{"Team":"` + strings.Repeat("v", 257) + `"}`}), input: "custom-tags", fix: "at most 256"},
		{name: "custom_tags_reserved_prefix", inputs: k(map[string]string{"custom-tags": `{"aws:team":"x"}`}), input: "custom-tags", fix: "rename it"},
		{name: "custom_tags_control_char", inputs: k(map[string]string{"custom-tags": `{"Team":"a\u001bb"}`}), input: "custom-tags", fix: "at most 256 letters"},
		{name: "transitive_tag_keys_51", inputs: k(map[string]string{"transitive-tag-keys": repeatList(51, func(i int) string { return fmt.Sprintf("K%d", i) }, ",")}), input: "transitive-tag-keys", fix: "at most 50"},
		{name: "transitive_tag_key_illegal", inputs: k(map[string]string{"transitive-tag-keys": "Team,Bad!Key"}), input: "transitive-tag-keys", fix: "1-128 letters"},
		// Session policies.
		{name: "policy_over_2048", inputs: k(map[string]string{"inline-session-policy": longPolicy}), input: "inline-session-policy", fix: "move statements to a managed policy"},
		{name: "policy_not_json", inputs: k(map[string]string{"inline-session-policy": "Allow s3:*"}), input: "inline-session-policy", fix: `write e.g. {"Version"`},
		{name: "policy_json_array", inputs: k(map[string]string{"inline-session-policy": "[]"}), input: "inline-session-policy", fix: `write e.g. {"Version"`},
		{name: "policy_non_latin1", inputs: k(map[string]string{"inline-session-policy": `{"Version":"2012-10-17","Statement":[{"Sid":"日本","Effect":"Allow","Action":"*","Resource":"*"}]}`}), input: "inline-session-policy", fix: "only Latin-1"},
		{name: "managed_policies_11", inputs: k(map[string]string{"managed-session-policies": policies11}), input: "managed-session-policies", fix: "at most 10"},
		{name: "managed_policy_not_arn", inputs: k(map[string]string{"managed-session-policies": "ReadOnlyAccess"}), input: "managed-session-policies", fix: "arn:aws:iam::aws:policy/NAME"},
		// Credential sources.
		{name: "keys_and_token_file", inputs: k(map[string]string{"web-identity-token-file": "token.jwt"}), input: "web-identity-token-file", fix: "use one credential source"},
		{name: "secret_without_key_id", inputs: k(map[string]string{"aws-access-key-id": actionrun.Delete}), input: "aws-access-key-id", fix: "set both from your secrets"},
		{name: "key_id_lower_case", inputs: k(map[string]string{"aws-access-key-id": "akiacanarykeyid00001"}), input: "aws-access-key-id", fix: "without spaces or quotes"},
		{name: "secret_inner_line_break", inputs: k(map[string]string{"aws-secret-access-key": userSecret[:10] + "\r\n" + userSecret[10:]}), input: "aws-secret-access-key", fix: "store the secret again"},
		{name: "session_token_with_oidc", inputs: oidcInputs(map[string]string{"aws-session-token": "stray"}), input: "aws-session-token", fix: "remove it"},
		{name: "audience_with_space", inputs: oidcInputs(map[string]string{"audience": "sts.amazonaws.com other"}), input: "audience", fix: "use sts.amazonaws.com"},
		{name: "allowed_account_ids_short", inputs: k(map[string]string{"allowed-account-ids": "123456789012,12345"}), input: "allowed-account-ids", fix: "separated by commas"},
		// Booleans.
		{name: "bool_role_chaining_yes", inputs: k(map[string]string{"role-chaining": "yes"}), input: "role-chaining", fix: "write true or false"},
		{name: "bool_skip_session_tagging_2", inputs: k(map[string]string{"role-skip-session-tagging": "2"}), input: "role-skip-session-tagging", fix: "write true or false (or 1 or 0)"},
		{name: "bool_mask_account_id_on", inputs: k(map[string]string{"mask-aws-account-id": "on"}), input: "mask-aws-account-id", fix: "write true or false"},
		{name: "bool_output_credentials_y", inputs: k(map[string]string{"output-credentials": "y"}), input: "output-credentials", fix: "write true or false"},
		{name: "bool_output_env_credentials_no", inputs: k(map[string]string{"output-env-credentials": "no"}), input: "output-env-credentials", fix: "write true or false"},
		{name: "bool_unset_current_credentials_on", inputs: k(map[string]string{"unset-current-credentials": "on"}), input: "unset-current-credentials", fix: "write true or false"},
		{name: "bool_force_skip_oidc_yes", inputs: k(map[string]string{"force-skip-oidc": "yes"}), input: "force-skip-oidc", fix: "write true or false"},
		{name: "bool_use_existing_credentials_on", inputs: k(map[string]string{"use-existing-credentials": "on"}), input: "use-existing-credentials", fix: "write true or false"},
		{name: "bool_special_characters_workaround_y", inputs: k(map[string]string{"special-characters-workaround": "y"}), input: "special-characters-workaround", fix: "write true or false"},
		{name: "bool_overwrite_aws_profile_yes", inputs: k(map[string]string{"aws-profile": "ci", "overwrite-aws-profile": "yes"}), input: "overwrite-aws-profile", fix: "write true or false"},
		{name: "aws_profile_with_space", inputs: k(map[string]string{"aws-profile": "my profile"}), input: "aws-profile", fix: "must not contain whitespace"},
		{name: "aws_profile_path", inputs: k(map[string]string{"aws-profile": "../etc/passwd"}), input: "aws-profile", fix: "must not contain path separators"},
		{name: "bool_disable_retry_yes", inputs: k(map[string]string{"disable-retry": "yes"}), input: "disable-retry", fix: "write true or false"},
		{name: "bool_fail_on_empty_yes", inputs: d(map[string]string{"fail-on-empty-changeset": "yes"}), input: "fail-on-empty-changeset", fix: "write true or false"},
		{name: "bool_execute_changeset_no", inputs: d(map[string]string{"execute-changeset": "no"}), input: "execute-changeset", fix: "write true or false"},
		{name: "bool_delete_failed_changeset_maybe", inputs: d(map[string]string{"delete-failed-changeset": "maybe"}), input: "delete-failed-changeset", fix: "write true or false"},
		// aws-cloudformation-github-deploy's names.
		{name: "cfd_name_underscore", inputs: d(map[string]string{"stack-name": actionrun.Delete, "name": "my_app"}), input: "name", fix: "only letters, digits and hyphens"},
		{name: "cfd_name_differs_from_stack_name", inputs: d(map[string]string{"name": "other"}), input: "stack-name", fix: "keep one"},
		{name: "cfd_role_arn_malformed", inputs: d(map[string]string{"cloudformation-role-arn": actionrun.Delete, "role-arn": "cfn-role"}), input: "role-arn", fix: "arn:PARTITION:iam::ACCOUNT:role/NAME"},
		{name: "cfd_mode_unknown", inputs: d(map[string]string{"mode": "execute"}), input: "mode", fix: "use create-and-execute"},
		{name: "cfd_execute_only_without_id", inputs: d(map[string]string{"mode": "execute-only"}), input: "execute-change-set-id", fix: "the change-set-id output of the create-only run"},
		{name: "cfd_change_set_id_without_mode", inputs: d(map[string]string{"execute-change-set-id": "review-1"}), input: "execute-change-set-id", fix: "set mode: execute-only"},
		{name: "cfd_no_execute_yes", inputs: d(map[string]string{"no-execute-changeset": "yes"}), input: "no-execute-changeset", fix: "write true or false"},
		{name: "cfd_no_execute_contradicts_execute", inputs: d(map[string]string{"no-execute-changeset": "1", "execute-changeset": "true"}), input: "execute-changeset", fix: "keep one"},
		{name: "cfd_no_delete_failed_yes", inputs: d(map[string]string{"no-delete-failed-changeset": "yes"}), input: "no-delete-failed-changeset", fix: "write true or false"},
		{name: "cfd_no_fail_on_empty_yes", inputs: d(map[string]string{"no-fail-on-empty-changeset": "yes"}), input: "no-fail-on-empty-changeset", fix: "write true or false"},
		{name: "cfd_nested_yes", inputs: d(map[string]string{"include-nested-stacks-change-set": "yes"}), input: "include-nested-stacks-change-set", fix: "write true or false"},
		{name: "cfd_deployment_mode_unknown", inputs: d(map[string]string{"deployment-mode": "REVERT"}), input: "deployment-mode", fix: "the only one is REVERT_DRIFT"},
		{name: "undeclared_input_misspelt", inputs: d(map[string]string{"no-execute-changset": "1"}), input: "no-execute-changset", fix: "did you mean no-execute-changeset?"},
		{name: "bool_disable_rollback_yes", inputs: d(map[string]string{"disable-rollback": "yes"}), input: "disable-rollback", fix: "write true or false"},
		{name: "bool_termination_protection_enabled", inputs: d(map[string]string{"termination-protection": "enabled"}), input: "termination-protection", fix: "write true or false"},
		// Retry and endpoints.
		{name: "retry_max_attempts_zero", inputs: k(map[string]string{"retry-max-attempts": "0"}), input: "retry-max-attempts", fix: "1 or more"},
		{name: "action_timeout_negative", inputs: k(map[string]string{"action-timeout-s": "-1"}), input: "action-timeout-s", fix: "from 0 (no limit) to 21600"},
		{name: "action_timeout_fraction", inputs: k(map[string]string{"action-timeout-s": "1.5"}), input: "action-timeout-s", fix: "from 0 (no limit) to 21600"},
		{name: "sts_endpoint_ftp", inputs: k(map[string]string{"sts-endpoint": "ftp://sts.amazonaws.com"}), input: "sts-endpoint", fix: "write e.g. https://"},
		{name: "sts_endpoint_no_scheme", inputs: k(map[string]string{"sts-endpoint": "sts.amazonaws.com"}), input: "sts-endpoint", fix: "write e.g. https://"},
		{name: "http_proxy_garbage", inputs: k(map[string]string{"http-proxy": "::not a url::"}), input: "http-proxy", fix: "write e.g. http://proxy"},
		// Deploy inputs.
		{name: "stack_name_starts_with_digit", inputs: d(map[string]string{"stack-name": "1app"}), input: "stack-name", fix: "must start with a letter"},
		{name: "stack_name_underscore", inputs: d(map[string]string{"stack-name": "my_app"}), input: "stack-name", fix: "only letters, digits and hyphens"},
		{name: "stack_name_129_chars", inputs: d(map[string]string{"stack-name": "a" + strings.Repeat("b", 128)}), input: "stack-name", fix: "at most 128"},
		{name: "stack_name_zero_width_space", inputs: d(map[string]string{"stack-name": "app\u200bprod"}), input: "stack-name", fix: "only letters, digits and hyphens"},
		{name: "stack_name_newline_marker", inputs: d(map[string]string{"stack-name": "app\nghadelimiter_1"}), input: "stack-name", fix: "only letters, digits and hyphens"},
		{name: "deploy_inputs_without_stack", inputs: k(map[string]string{"template": templatePath}), input: "template", fix: "set stack-name to deploy"},
		{name: "template_missing_input", inputs: d(map[string]string{"template": actionrun.Delete}), input: "template", fix: "give a template file"},
		{name: "template_file_missing", inputs: d(map[string]string{"template": "infra/nope.yaml"}), input: "template", fix: "check it out first"},
		{name: "template_is_directory", inputs: d(map[string]string{"template": "infra"}), input: "template", fix: "infra"},
		{name: "template_not_yaml_or_json", inputs: d(map[string]string{"template": "infra/notes.txt"}), files: map[string]string{"infra/notes.txt": "just some notes\nnot a template\n"}, input: "template", fix: "expected a mapping"},
		{name: "template_broken_json", inputs: d(map[string]string{"template": "infra/app.json"}), files: map[string]string{"infra/app.json": `{"Resources": {"Topic": `}, input: "template", fix: "is not valid JSON"},
		{name: "template_binary", inputs: d(map[string]string{"template": "infra/app.bin"}), files: map[string]string{"infra/app.bin": "\x00\x01\x02\xff\xfe"}, input: "template", fix: "give a JSON or YAML template"},
		{name: "template_empty", inputs: d(map[string]string{"template": "infra/empty.yaml"}), files: map[string]string{"infra/empty.yaml": ""}, input: "template", fix: "is empty"},
		{name: "template_over_1mb", inputs: d(map[string]string{"template": "infra/big.yaml", "s3-bucket": "artifacts-bucket"}), files: map[string]string{"infra/big.yaml": big}, input: "template", fix: "split it into nested stacks"},
		{name: "template_leaves_workspace", inputs: d(map[string]string{"template": "../../../etc/passwd"}), input: "template", fix: "give a path inside the repository"},
		{name: "template_http_url", inputs: d(map[string]string{"template": "http://bucket.s3.amazonaws.com/app.yaml"}), input: "template", fix: "must use https://"},
		{name: "template_s3_url", inputs: d(map[string]string{"template": "s3://bucket/app.yaml"}), input: "template", fix: "use https://BUCKET"},
		{name: "params_unbalanced_quote", inputs: d(map[string]string{"parameter-overrides": `Env="prod`}), input: "parameter-overrides", fix: "close it with"},
		{name: "params_text_after_quote", inputs: d(map[string]string{"parameter-overrides": `Env="prod"x`}), input: "parameter-overrides", fix: "put the whole value inside the quotes"},
		{name: "params_newline_splits_value", inputs: d(map[string]string{"parameter-overrides": "Env=prod\nghadelimiter_0123"}), input: "parameter-overrides", fix: "quote that value"},
		{name: "params_undeclared_key", inputs: d(map[string]string{"parameter-overrides": "Unknown=1,Env=prod"}), input: "parameter-overrides", fix: "item 1 names a parameter the template does not declare (it declares: Env): fix the name or drop the item"},
		{name: "params_undeclared_key_after_a_comma", inputs: d(map[string]string{"parameter-overrides": "Env=prod,Unknown=1"}), input: "parameter-overrides", fix: "quote that value"},
		{name: "params_env_var_key", inputs: d(map[string]string{"parameter-overrides": "LD_PRELOAD=/tmp/x.so,Env=prod"}), input: "parameter-overrides", fix: "use only letters and digits"},
		{name: "params_env_var_key_after_a_comma", inputs: d(map[string]string{"parameter-overrides": "Env=prod,LD_PRELOAD=/tmp/x.so"}), input: "parameter-overrides", fix: "letters and digits only"},
		{name: "params_empty_key", inputs: d(map[string]string{"parameter-overrides": "=prod"}), input: "parameter-overrides", fix: "write Key=Value"},
		{name: "params_twice_in_json", inputs: d(map[string]string{"parameter-overrides": `[{"ParameterKey":"Env","ParameterValue":"prod"},{"ParameterKey":"Env","ParameterValue":"dev"}]`}), input: "parameter-overrides", fix: "give each parameter once"},
		{name: "params_file_missing", inputs: d(map[string]string{"parameter-overrides": "file://params/none.json"}), input: "parameter-overrides", fix: "check it out first"},
		{name: "params_bad_json", inputs: d(map[string]string{"parameter-overrides": `[{"ParameterKey":"Env"`}), input: "parameter-overrides", fix: "invalid JSON"},
		{name: "stack_tags_no_equals", inputs: d(map[string]string{"tags": "Team"}), input: "tags", fix: "write K=V pairs"},
		{name: "stack_tags_reserved_prefix", inputs: d(map[string]string{"tags": "aws:team=x"}), input: "tags", fix: "reserved prefix"},
		{name: "stack_tags_51", inputs: d(map[string]string{"tags": repeatList(51, func(i int) string { return fmt.Sprintf("K%d=v", i) }, ",")}), input: "tags", fix: "at most 50"},
		{name: "capabilities_unknown", inputs: d(map[string]string{"capabilities": "CAPABILITY_IAM,CAPABILITY_ALL"}), input: "capabilities", fix: "use CAPABILITY_IAM"},
		{name: "notification_arn_not_sns", inputs: d(map[string]string{"notification-arns": "arn:aws:sqs:ap-northeast-1:123456789012:q"}), input: "notification-arns", fix: "arn:aws:sns:REGION:ACCOUNT:TOPIC"},
		{name: "notification_arns_6", inputs: d(map[string]string{"notification-arns": repeatList(6, func(i int) string { return fmt.Sprintf("arn:aws:sns:ap-northeast-1:123456789012:t%d", i) }, ",")}), input: "notification-arns", fix: "at most 5"},
		{name: "timeout_in_minutes_zero", inputs: d(map[string]string{"timeout-in-minutes": "0"}), input: "timeout-in-minutes", fix: "from 1 to 7200"},
		{name: "timeout_in_minutes_7201", inputs: d(map[string]string{"timeout-in-minutes": "7201"}), input: "timeout-in-minutes", fix: "from 1 to 7200"},
		{name: "s3_bucket_upper_case", inputs: d(map[string]string{"s3-bucket": "Artifacts_Bucket"}), input: "s3-bucket", fix: "3-63 lower-case"},
		{name: "change_set_name_digit", inputs: d(map[string]string{"change-set-name": "1deploy"}), input: "change-set-name", fix: "must start with a letter"},
		{name: "cfn_role_arn_malformed", inputs: d(map[string]string{"cloudformation-role-arn": "deploy-role-for-cloudformation"}), input: "cloudformation-role-arn", fix: "arn:PARTITION:iam::ACCOUNT:role/NAME"},
		{name: "change_set_name_reserved_for_previews", inputs: d(map[string]string{"change-set-name": "preview-pr1-abc"}), input: "change-set-name", fix: "choose another name"},
		{name: "pr_comment_on_a_push", inputs: d(map[string]string{"execute-changeset": "false", "pr-comment": "true", "github-token": "ghs_hardeningToken0123456789"}), input: "pr-comment", fix: "if: github.event_name == 'pull_request'"},
		{name: "pr_comment_not_boolean", inputs: d(map[string]string{"pr-comment": "yes"}), input: "pr-comment", fix: "write true or false"},
		{name: "github_token_empty", inputs: d(map[string]string{"execute-changeset": "false", "pr-comment": "true", "github-token": ""}),
			env: map[string]string{"GITHUB_EVENT_NAME": "pull_request"}, input: "github-token", fix: "permissions: pull-requests: write"},
		{name: "github_token_with_line_break", inputs: d(map[string]string{"execute-changeset": "false", "pr-comment": "true", "github-token": "ghs_hardening\nghadelimiter_0123"}),
			env: map[string]string{"GITHUB_EVENT_NAME": "pull_request"}, input: "github-token", fix: "store the secret again"},
		{name: "github_api_url_in_clear", inputs: d(map[string]string{"execute-changeset": "false", "pr-comment": "true", "github-token": "ghs_hardeningToken0123456789"}),
			env: map[string]string{"GITHUB_EVENT_NAME": "pull_request", "GITHUB_API_URL": "http://ghe.example.com/api/v3"}, input: "pr-comment", fix: "use https://"},
		{name: "cfn_role_arn_other_partition", inputs: d(map[string]string{"cloudformation-role-arn": "arn:aws-us-gov:iam::123456789012:role/cfn"}), input: "cloudformation-role-arn", fix: "use a role of the region's partition"},
	}
}

func TestBadInputs_fail_before_any_call(t *testing.T) {
	t.Parallel()
	cases := badInputs()
	if len(cases) < 60 {
		t.Fatalf("only %d bad input sets; the suite promises at least 60", len(cases))
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		seen[tc.input] = true
	}
	for _, in := range actionInputs(t) {
		if !seen[in] && !coveredElsewhere[in] {
			t.Errorf("no bad input case for input %s", in)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOpts{})
			j := newJob(t, w)
			for k, v := range tc.env {
				if v == "" {
					delete(j.Env, k)
				} else {
					j.Env[k] = v
				}
			}
			for p, body := range tc.files {
				j.Write(p, body)
			}
			r := j.Run(tc.inputs).MustFail(t)
			if n := w.requests(); n != 0 {
				t.Errorf("%d requests reached the fakes: %+v %+v", n, w.sts.Calls(), w.cfn.Calls())
			}
			errs := r.ErrorLines()
			if len(errs) != 1 {
				t.Fatalf("want exactly one error annotation, got %d\n%s", len(errs), r.Dump())
			}
			var line string
			for _, l := range strings.Split(errs[0], "\n") {
				if strings.Contains(l, "input "+tc.input+":") {
					line = l
					break
				}
			}
			if line == "" {
				t.Fatalf("the error does not name input %s:\n%s", tc.input, errs[0])
			}
			if !strings.Contains(line, tc.fix) {
				t.Errorf("the error for %s lacks the fix %q:\n%s", tc.input, tc.fix, line)
			}
			if strings.Contains(r.Stderr, "panic") || r.Stderr != "" {
				t.Errorf("stderr is not empty:\n%s", r.Stderr)
			}
		})
	}
}

// coveredElsewhere are inputs whose every value is legal (free text or
// bounded by other inputs), so they have no bad-input case of their own.
var coveredElsewhere = map[string]bool{
	"s3-prefix": true, // any key prefix is legal
	"no-proxy":  true, // any host list is legal
}

// actionInputs reads the input names from action.yml, as main does.
func actionInputs(t *testing.T) []string {
	t.Helper()
	names, err := config.ParseActionInputs(readActionYML(t))
	if err != nil {
		t.Fatal(err)
	}
	return names
}
