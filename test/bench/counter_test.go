package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	const form = "application/x-www-form-urlencoded; charset=utf-8"
	sigv4 := func(service string) string {
		return "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261129/us-east-1/" + service + "/aws4_request, SignedHeaders=host, Signature=0"
	}
	tests := []struct {
		name, method, target, contentType, auth, amzTarget, body string
		wantService, wantAction                                  string
	}{
		{name: "signed_sts_form", method: "POST", target: "/", contentType: form, auth: sigv4("sts"),
			body: "Action=AssumeRole&Version=2011-06-15&RoleArn=x", wantService: "sts", wantAction: "AssumeRole"},
		{name: "unsigned_web_identity", method: "POST", target: "/", contentType: form,
			body: "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&WebIdentityToken=x", wantService: "sts", wantAction: "AssumeRoleWithWebIdentity"},
		{name: "cloudformation_form", method: "POST", target: "/", contentType: form, auth: sigv4("cloudformation"),
			body: "Action=DescribeStacks&Version=2010-05-15", wantService: "cloudformation", wantAction: "DescribeStacks"},
		{name: "query_string", method: "GET", target: "/?Action=GetCallerIdentity&Version=2011-06-15", auth: sigv4("sts"),
			wantService: "sts", wantAction: "GetCallerIdentity"},
		{name: "json_protocol", method: "POST", target: "/", contentType: "application/x-amz-json-1.0", auth: sigv4("sts"),
			amzTarget: "AWSSecurityTokenServiceV20110615.GetCallerIdentity", body: "{}", wantService: "sts", wantAction: "GetCallerIdentity"},
		{name: "anything_else", method: "GET", target: "/moto-api/", wantService: "unknown", wantAction: "GET /moto-api/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			for k, v := range map[string]string{"Content-Type": tc.contentType, "Authorization": tc.auth, "X-Amz-Target": tc.amzTarget} {
				if v != "" {
					r.Header.Set(k, v)
				}
			}
			service, action := classify(r, []byte(tc.body))
			if diff := cmp.Diff([]string{tc.wantService, tc.wantAction}, []string{service, action}); diff != "" {
				t.Errorf("classify (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCounterProxies checks the counter forwards requests and bodies and
// counts them per service and action.
func TestCounterProxies(t *testing.T) {
	t.Parallel()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "Fail=1") {
			w.WriteHeader(http.StatusBadRequest)
		}
		io.WriteString(w, "got "+string(body)) //nolint:errcheck // test server
	}))
	defer backend.Close()
	c, err := startCounter(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := c.snapshot()
	post := func(body string) string {
		t.Helper()
		resp, err := http.Post(c.URL(), "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return string(got)
	}
	if got := post("Action=AssumeRole&Version=2011-06-15"); got != "got Action=AssumeRole&Version=2011-06-15" {
		t.Errorf("the backend saw %q", got)
	}
	post("Action=GetCallerIdentity&Version=2011-06-15")
	post("Action=GetCallerIdentity&Version=2011-06-15&Fail=1")
	post("Action=DescribeStacks&Version=2010-05-15")
	if diff := cmp.Diff("3 (GetCallerIdentity×2 (1 failed), AssumeRole×1)", c.since(before, "sts")); diff != "" {
		t.Errorf("since (-want +got):\n%s", diff)
	}
	if got := c.since(c.snapshot(), "sts"); got != "0" {
		t.Errorf("since a fresh snapshot = %q, want 0", got)
	}
}
