package app

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/awsauth"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/config"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/profile"
)

// Vectors of configure-aws-credentials v6.2.3 about what later steps get
// (helpers.test.ts, index.test.ts, cleanup.test.ts) and about proxies
// (ProxyResolver.test.ts), named FILE_TEST-NAME.

func keysOfKV(kv []gha.KV) map[string]string {
	m := map[string]string{}
	for _, p := range kv {
		m[p.Key] = p.Value
	}
	return m
}

func TestCAC_env_vectors(t *testing.T) {
	t.Parallel()
	session := &awsauth.Credentials{AccessKeyID: "STSAWSACCESSKEYID", SecretAccessKey: "STSAWSSECRETACCESSKEY", SessionToken: "STSAWSSESSIONTOKEN"}
	user := &awsauth.Credentials{AccessKeyID: "MYAWSACCESSKEYID", SecretAccessKey: "MYAWSSECRETACCESSKEY"}
	ambient := &awsauth.Credentials{AccessKeyID: "ASIAINSTANCE", SecretAccessKey: "s", Ambient: true}
	pr := &config.Profile{Name: "dev", Files: profile.Files{Credentials: "/github/home/.aws/credentials", Config: "/github/home/.aws/config"},
		ExportFiles: profile.Files{Credentials: "/tmp/_temp/_github_home/.aws/credentials", Config: "/tmp/_temp/_github_home/.aws/config"}}
	region := "fake-region-1"
	cases := []struct {
		name   string
		export config.Export
		creds  *awsauth.Credentials
		want   map[string]string
	}{
		{"index_GitHub_OIDC_Authentication_exports_environment_variables", config.Export{Env: true}, session,
			map[string]string{"AWS_ACCESS_KEY_ID": "STSAWSACCESSKEYID", "AWS_SECRET_ACCESS_KEY": "STSAWSSECRETACCESSKEY", "AWS_SESSION_TOKEN": "STSAWSSESSIONTOKEN", "AWS_REGION": region, "AWS_DEFAULT_REGION": region}},
		{"helpers_clears_session_token_when_not_provided", config.Export{Env: true}, user,
			map[string]string{"AWS_ACCESS_KEY_ID": "MYAWSACCESSKEYID", "AWS_SECRET_ACCESS_KEY": "MYAWSSECRETACCESSKEY", "AWS_SESSION_TOKEN": "", "AWS_REGION": region, "AWS_DEFAULT_REGION": region}},
		{"index_doesnt_export_credentials_as_environment_variables_if_told_not_to", config.Export{}, session, map[string]string{}},
		{"helpers_wont_output_credentials_to_env_if_told_not_to (with unset-current-credentials)", config.Export{UnsetCurrent: true}, session, map[string]string{}},
		{"index_no_role_and_no_keys_proceeds_with_the_chain_credentials_exporting_only_the_region", config.Export{Env: true}, ambient,
			map[string]string{"AWS_REGION": region, "AWS_DEFAULT_REGION": region}},
		{"helpers_can_unset_credentials (the chain's, not replaced)", config.Export{Env: true, UnsetCurrent: true}, ambient,
			map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_REGION": region, "AWS_DEFAULT_REGION": region}},
		{"index_writes_profile_files_with_OIDC_authentication (ours: plus the host paths of the files)", config.Export{Profile: pr}, session,
			map[string]string{"AWS_SHARED_CREDENTIALS_FILE": "/tmp/_temp/_github_home/.aws/credentials", "AWS_CONFIG_FILE": "/tmp/_temp/_github_home/.aws/config"}},
		{"index_respects_output-env-credentials=true_with_profiles", config.Export{Env: true, Profile: pr}, session,
			map[string]string{"AWS_SHARED_CREDENTIALS_FILE": "/tmp/_temp/_github_home/.aws/credentials", "AWS_CONFIG_FILE": "/tmp/_temp/_github_home/.aws/config",
				"AWS_ACCESS_KEY_ID": "STSAWSACCESSKEYID", "AWS_SECRET_ACCESS_KEY": "STSAWSSECRETACCESSKEY", "AWS_SESSION_TOKEN": "STSAWSSESSIONTOKEN", "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_PROFILE": "dev"}},
		{"index_profile_on_the_host_needs_no_file_paths", config.Export{Profile: &config.Profile{Name: "dev"}}, session, map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := keysOfKV(envPairs(&config.Plan{Region: region, Export: tc.export}, tc.creds))
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("GITHUB_ENV (-want +got):\n%s", d)
			}
		})
	}
}

// ProxyResolver.test.ts, with Go's NO_PROXY rules (golang.org/x/net/http/httpproxy).
func TestCAC_proxy_vectors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, proxy, noProxy, url, want string
	}{
		{"ProxyResolver_returns_http_proxy_for_http_URLs", "http://proxy:8080", "", "http://example.com", "http://proxy:8080"},
		{"ProxyResolver_returns_https_proxy_for_https_URLs", "https://proxy:8080", "", "https://example.com", "https://proxy:8080"},
		{"ProxyResolver_returns_empty_string_when_no_proxy_configured", "", "", "http://example.com", ""},
		{"ProxyResolver_respects_noProxy_setting", "http://proxy:8080", "example.com", "http://example.com", ""},
		{"ProxyResolver_respects_noProxy_setting_other", "http://proxy:8080", "example.com", "http://other.com", "http://proxy:8080"},
		{"ProxyResolver_handles_wildcard_noProxy", "http://proxy:8080", "*", "http://example.com", ""},
		{"ProxyResolver_handles_comma-separated_noProxy_list", "http://proxy:8080", "example.com,test.com", "http://test.com", ""},
		{"ProxyResolver_handles_comma-separated_noProxy_list_other", "http://proxy:8080", "example.com,test.com", "http://other.com", "http://proxy:8080"},
		{"ProxyResolver_handles_port-specific_noProxy", "http://proxy:8080", "example.com:80", "http://example.com", ""},
		{"ProxyResolver_handles_port-specific_noProxy_other_port", "http://proxy:8080", "example.com:80", "http://example.com:8080", "http://proxy:8080"},
		{"ProxyResolver_handles_wildcard_domain_noProxy", "http://proxy:8080", "*.example.com", "http://sub.example.com", ""},
		{"ProxyResolver_handles_wildcard_domain_noProxy_apex", "http://proxy:8080", "*.example.com", "http://example.com", "http://proxy:8080"},
		{"ProxyResolver_handles_empty_noProxy_entries", "http://proxy:8080", "example.com,test.com", "http://test.com", ""},
		{"ours_subdomain_of_a_listed_domain_bypasses (CAC: proxied)", "http://proxy:8080", "example.com", "https://sts.example.com", ""},
		{"ours_loopback_never_proxied (CAC: proxied)", "http://proxy:8080", "", "http://127.0.0.1:4566", ""},
		{"ours_instance_metadata_never_proxied", "http://proxy:8080", "", "http://169.254.169.254/latest/api/token", ""},
		{"ours_container_credentials_never_proxied", "http://proxy:8080", "", "http://169.254.170.2/v2/credentials", ""},
		{"index_HTTP_PROXY_only_is_used_for_https (CAC helpers translateEnvVariables)", "http://proxy:8080", "", "https://sts.us-east-1.amazonaws.com", "http://proxy:8080"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plan := &config.Plan{NoProxy: tc.noProxy}
			if tc.proxy != "" {
				plan.Proxy, _ = url.Parse(tc.proxy)
			}
			u, _ := url.Parse(tc.url)
			got, err := proxyFunc(plan)(&http.Request{URL: u})
			if err != nil {
				t.Fatal(err)
			}
			s := ""
			if got != nil {
				s = got.String()
			}
			if s != tc.want {
				t.Errorf("proxy for %s = %q, want %q", tc.url, s, tc.want)
			}
		})
	}
}
