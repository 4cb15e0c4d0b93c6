package fakeimds

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// The fake STS can register what the IMDS hands out.
var _ STS = (*fakeaws.Server)(nil)

func serve(t *testing.T, m *IMDS) string {
	t.Helper()
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return srv.URL
}

func provider(endpoint string) *ec2rolecreds.Provider {
	return ec2rolecreds.New(func(o *ec2rolecreds.Options) {
		o.Client = imds.New(imds.Options{Endpoint: endpoint})
	})
}

func TestEC2RoleCredsProvider(t *testing.T) {
	t.Parallel()
	m := New(func(o *Options) { o.RoleName = "web" })
	creds, err := provider(serve(t, m)).Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	want := m.Credentials()
	if creds.AccessKeyID != want.AccessKeyID || creds.SecretAccessKey != want.SecretAccessKey || creds.SessionToken != want.SessionToken || !creds.CanExpire {
		t.Errorf("credentials = %+v, want %+v", creds, want)
	}
	var got []string
	for _, c := range m.Calls() {
		got = append(got, c.Method+" "+c.Action+" "+http.StatusText(c.Status))
	}
	want2 := []string{"PUT GetToken OK", "GET ListRoles OK", "GET GetCredentials OK"}
	if diff := cmp.Diff(want2, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if m.Calls()[2].Param("Path") != "/latest/meta-data/iam/security-credentials/web" {
		t.Errorf("credentials path = %q", m.Calls()[2].Param("Path"))
	}
}

// TestDefaultChainSignsAssumeRole resolves credentials the way an unmodified
// program does on EC2, through AWS_EC2_METADATA_SERVICE_ENDPOINT, and uses
// them to assume a role in the fake STS.
func TestDefaultChainSignsAssumeRole(t *testing.T) {
	stsFake := fakeaws.New()
	t.Cleanup(stsFake.Close)
	stsFake.AddRole(fakeaws.Role{Name: "deploy", TrustedRoles: []string{"fakeaws-instance-role"}})
	m := New(func(o *Options) { o.STS = stsFake })
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", serve(t, m))
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithBaseEndpoint(stsFake.URL()))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("default chain: %v", err)
	}
	if creds.AccessKeyID != m.Credentials().AccessKeyID || creds.Source != ec2rolecreds.ProviderName {
		t.Errorf("default chain gave %s from %s, want the IMDS credentials", creds.AccessKeyID, creds.Source)
	}
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(stsFake.RoleARN("deploy")), RoleSessionName: aws.String("from-ec2")})
	if err != nil {
		t.Fatalf("AssumeRole signed with the IMDS credentials: %v", err)
	}
	if c := stsFake.CallsTo("sts", "AssumeRole"); len(c) != 1 || c[0].CallerARN != "arn:aws:sts::123456789012:assumed-role/fakeaws-instance-role/i-0123456789abcdef0" {
		t.Errorf("AssumeRole caller = %+v", c)
	}
	if !strings.HasSuffix(aws.ToString(out.AssumedRoleUser.Arn), ":assumed-role/deploy/from-ec2") {
		t.Errorf("assumed %s", aws.ToString(out.AssumedRoleUser.Arn))
	}
}

func TestIMDSv2Protocol(t *testing.T) {
	t.Parallel()
	clock := fakecore.NewClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	m := New(func(o *Options) { o.Now = clock.Now })
	url := serve(t, m)
	do := func(method, path string, hdr map[string]string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest(method, url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b), resp.Header
	}
	status, tok, hdr := do(http.MethodPut, tokenPath, map[string]string{HeaderTokenTTL: "60"})
	if status != 200 || tok == "" || hdr.Get(HeaderTokenTTL) != "60" {
		t.Fatalf("token: %d %q %v", status, tok, hdr)
	}
	tests := []struct {
		name, method, path string
		hdr                map[string]string
		wantStatus         int
		wantBody           string
	}{
		{"token_without_ttl", http.MethodPut, tokenPath, nil, 400, ""},
		{"token_ttl_zero", http.MethodPut, tokenPath, map[string]string{HeaderTokenTTL: "0"}, 400, ""},
		{"token_ttl_too_long", http.MethodPut, tokenPath, map[string]string{HeaderTokenTTL: "21601"}, 400, ""},
		{"token_through_a_proxy", http.MethodPut, tokenPath, map[string]string{HeaderTokenTTL: "60", "X-Forwarded-For": "10.0.0.1"}, 403, ""},
		{"token_by_get", http.MethodGet, tokenPath, nil, 405, ""},
		{"no_token", http.MethodGet, credsPath, nil, 401, ""},
		{"bad_token", http.MethodGet, credsPath, map[string]string{HeaderToken: "nope"}, 401, ""},
		{"role_list", http.MethodGet, credsPath, map[string]string{HeaderToken: tok}, 200, "fakeaws-instance-role"},
		{"unknown_role", http.MethodGet, credsPath + "other", map[string]string{HeaderToken: tok}, 404, ""},
		{"instance_id", http.MethodGet, "/latest/meta-data/instance-id", map[string]string{HeaderToken: tok}, 200, "i-0123456789abcdef0"},
		{"region", http.MethodGet, "/latest/meta-data/placement/region", map[string]string{HeaderToken: tok}, 200, "us-east-1"},
	}
	for _, tc := range tests {
		status, body, _ := do(tc.method, tc.path, tc.hdr)
		if status != tc.wantStatus || (tc.wantBody != "" && body != tc.wantBody) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, body, tc.wantStatus, tc.wantBody)
		}
	}
	status, body, _ := do(http.MethodGet, credsPath+"fakeaws-instance-role", map[string]string{HeaderToken: tok})
	for _, field := range []string{`"Code":"Success"`, `"Type":"AWS-HMAC"`, `"AccessKeyId":"ASIA`, `"Expiration":"2025-01-01T06:00:00Z"`, `"LastUpdated":"2025-01-01T00:00:00Z"`, `"Token":"IQoJ`} {
		if status != 200 || !strings.Contains(body, field) {
			t.Errorf("credentials document %d %s lacks %s", status, body, field)
		}
	}
	clock.Advance(61 * time.Second)
	if status, _, _ := do(http.MethodGet, credsPath, map[string]string{HeaderToken: tok}); status != 401 {
		t.Errorf("expired token: %d, want 401", status)
	}
	if n := m.Count("imds", ActionGetToken); n != 6 {
		t.Errorf("Count(imds, GetToken) = %d, want 6", n)
	}
}

func TestHopLimitExceeded(t *testing.T) {
	t.Parallel()
	m := New(func(o *Options) { o.HopLimitExceeded = true })
	url := serve(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// One attempt: the SDK's retries of the timed-out PUT only slow this down.
	once := ec2rolecreds.New(func(o *ec2rolecreds.Options) {
		o.Client = imds.New(imds.Options{Endpoint: url, Retryer: aws.NopRetryer{}})
	})
	if _, err := once.Retrieve(ctx); err == nil {
		t.Fatal("Retrieve succeeded without a token")
	}
	puts := m.CallsTo("imds", ActionGetToken)
	if len(puts) == 0 || puts[0].Status != 0 {
		t.Errorf("token calls = %+v, want unanswered PUTs", puts)
	}
	m.SetHopLimitExceeded(false)
	if _, err := provider(url).Retrieve(ctx); err != nil {
		t.Errorf("after the hop limit is fixed: %v", err)
	}
}

func TestRotateAndFaults(t *testing.T) {
	t.Parallel()
	m := New()
	url := serve(t, m)
	before := m.Credentials()
	after := m.Rotate()
	if before.AccessKeyID == after.AccessKeyID {
		t.Fatal("Rotate kept the key")
	}
	// The SDK's IMDS client makes 3 attempts.
	m.InjectFault(ActionGetCredentials, fakecore.Fault{Status: http.StatusInternalServerError, Times: 3})
	if _, err := provider(url).Retrieve(context.Background()); err == nil {
		t.Error("Retrieve succeeded through a 500")
	}
	creds, err := provider(url).Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != after.AccessKeyID {
		t.Errorf("after the faults: %v, %v", creds.AccessKeyID, err)
	}
}
