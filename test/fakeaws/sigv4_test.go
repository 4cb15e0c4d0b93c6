package fakeaws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// seen is what a mounted handler observed.
type seen struct {
	mu     sync.Mutex
	caller []string
	acct   []string
	bodies []string
}

func (h *seen) handler(reply string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.caller = append(h.caller, r.Header.Get(fakecore.HeaderCallerARN))
		h.acct = append(h.acct, r.Header.Get(fakecore.HeaderAccount))
		h.bodies = append(h.bodies, string(b))
		h.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, reply) //nolint:errcheck // test handler
	})
}

func (h *seen) snapshot() (caller, acct, bodies []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.caller...), append([]string(nil), h.acct...), append([]string(nil), h.bodies...)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signed builds a request signed by the SDK's own v4 signer.
func signed(t *testing.T, method, url, service, secret string, body []byte, header http.Header, opts ...func(*v4.SignerOptions)) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	creds := aws.Credentials{AccessKeyID: testUserKey, SecretAccessKey: secret}
	payload := sha(body)
	if h := req.Header.Get("X-Amz-Content-Sha256"); h != "" {
		payload = h // what the SDK's middleware does for S3
	}
	if err := v4.NewSigner(opts...).SignHTTP(context.Background(), creds, req, payload, service, "eu-west-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestVerifyRequestsSignedBySDKSigner(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var cfn, s3h seen
	s.Mount("cloudformation", cfn.handler("<ok/>"))
	s.Mount("s3", s3h.handler(""))
	form := []byte("Action=DescribeStacks&Version=2010-05-15&StackName=app%20prod")

	cases := []struct {
		name, method, path, service, secret string
		body                                []byte
		header                              http.Header
		opts                                []func(*v4.SignerOptions)
		wantStatus                          int
	}{
		{name: "form_post", method: "POST", path: "/", service: "cloudformation", body: form,
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}, wantStatus: 200},
		{name: "query_get_special_chars", method: "GET", path: "/?Action=DescribeStacks&Version=2010-05-15&b=a%20b&a=%2A~%2B%C3%A9&a=-", service: "cloudformation", wantStatus: 200},
		{name: "escaped_path_double_encoded", method: "GET", path: "/a%20b/c%3Ad", service: "cloudformation", wantStatus: 200},
		{name: "s3_path_single_encoded", method: "PUT", path: "/bucket/key%20with%20space.txt", service: "s3", body: []byte("data"),
			header: http.Header{"X-Amz-Content-Sha256": {sha([]byte("data"))}},
			opts:   []func(*v4.SignerOptions){func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }}, wantStatus: 200},
		{name: "s3_unsigned_payload", method: "PUT", path: "/bucket/k", service: "s3", body: []byte("data"),
			header: http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}},
			opts:   []func(*v4.SignerOptions){func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }}, wantStatus: 200},
		{name: "messy_header_values", method: "POST", path: "/", service: "cloudformation", body: form,
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Amz-Meta-A": {"  a   b  ", "c"}}, wantStatus: 200},
		{name: "wrong_secret", method: "POST", path: "/", service: "cloudformation", secret: "wrong", body: form,
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, wantStatus: 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			secret := testUserSecret
			if tc.secret != "" {
				secret = tc.secret
			}
			req := signed(t, tc.method, s.URL()+tc.path, tc.service, secret, tc.body, tc.header, tc.opts...)

			// The exported Verify agrees with the router.
			req.Host = req.URL.Host
			arn, acct, err := s.Verify(req, tc.body)
			var apiErr *fakecore.APIError
			switch {
			case tc.wantStatus == 200 && (err != nil || arn != s.UserARN("ci") || acct != DefaultAccountID):
				t.Errorf("Verify = %q, %q, %v", arn, acct, err)
			case tc.wantStatus != 200 && (!errors.As(err, &apiErr) || apiErr.Code != "SignatureDoesNotMatch"):
				t.Errorf("Verify error = %v, want SignatureDoesNotMatch", err)
			}

			req.Body = io.NopCloser(bytes.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, b)
			}
			if tc.wantStatus == 403 && !strings.Contains(string(b), "<Code>SignatureDoesNotMatch</Code>") {
				t.Errorf("error body %s", b)
			}
		})
	}
	callers, _, bodies := cfn.snapshot()
	if len(callers) != 4 || bodies[0] != string(form) {
		t.Errorf("cloudformation handler saw %d calls, first body %q", len(callers), bodies)
	}
	if _, _, b := s3h.snapshot(); len(b) != 2 || b[0] != "data" {
		t.Errorf("s3 handler saw %q", b)
	}
}

func TestMountedServiceWithSDK(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var h seen
	s.Mount("cloudformation", h.handler(`<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">`+
		`<DescribeStacksResult><Stacks><member><StackName>app</StackName><StackStatus>CREATE_COMPLETE</StackStatus></member></Stacks></DescribeStacksResult>`+
		`<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeStacksResponse>`))
	cfg := userClient(t, s).Options()
	cfn := cloudformation.New(cloudformation.Options{Region: cfg.Region, BaseEndpoint: cfg.BaseEndpoint, Credentials: cfg.Credentials, RetryMaxAttempts: 1})

	out, err := cfn.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String("app")})
	if err != nil {
		t.Fatalf("DescribeStacks through the mount: %v", err)
	}
	if len(out.Stacks) != 1 || *out.Stacks[0].StackName != "app" {
		t.Errorf("stacks = %+v", out.Stacks)
	}
	callers, accts, bodies := h.snapshot()
	if diff := cmp.Diff([]string{s.UserARN("ci")}, callers); diff != "" {
		t.Errorf("caller header (-want +got):\n%s", diff)
	}
	if accts[0] != DefaultAccountID || !strings.Contains(bodies[0], "StackName=app") {
		t.Errorf("account %q body %q", accts[0], bodies[0])
	}
	if n := s.Count("cloudformation", "DescribeStacks"); n != 1 {
		t.Errorf("Count(cloudformation, DescribeStacks) = %d", n)
	}

	// A client cannot pick its own caller ARN.
	req := signed(t, "POST", s.URL()+"/", "cloudformation", testUserSecret, []byte("Action=DescribeStacks&Version=2010-05-15"),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, fakecore.HeaderCallerARN: {"arn:aws:iam::123456789012:root"}})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if callers, _, _ = h.snapshot(); callers[len(callers)-1] != s.UserARN("ci") {
		t.Errorf("spoofed caller header reached the handler: %q", callers[len(callers)-1])
	}

	// Failures are answered by the router; the handler never runs.
	bad := cloudformation.New(cloudformation.Options{Region: cfg.Region, BaseEndpoint: cfg.BaseEndpoint, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(testUserKey, "wrong", "")})
	_, err = bad.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{})
	if status, code, _ := apiError(t, err); status != 403 || code != "SignatureDoesNotMatch" {
		t.Errorf("bad signature: %d %s", status, code)
	}
	if callers, _, _ = h.snapshot(); len(callers) != 2 {
		t.Errorf("handler ran %d times, want 2", len(callers))
	}
	// Services nobody mounted get an error, not a hang or a 200.
	_, err = s3.New(s3.Options{Region: cfg.Region, BaseEndpoint: cfg.BaseEndpoint, Credentials: cfg.Credentials, UsePathStyle: true, RetryMaxAttempts: 1}).
		ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if status, code, _ := apiError(t, err); status != 400 || code != "UnknownService" {
		t.Errorf("unmounted s3: %d %s", status, code)
	}
}

func TestMountedS3WithSDK(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var h seen
	s.Mount("s3", h.handler(""))
	cfg := userClient(t, s).Options()
	client := s3.New(s3.Options{Region: cfg.Region, BaseEndpoint: cfg.BaseEndpoint, Credentials: cfg.Credentials, UsePathStyle: true, RetryMaxAttempts: 1})
	_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("artifacts"), Key: aws.String("cfn/app prod/template.yaml"), Body: strings.NewReader("Resources: {}\n"),
	})
	if err != nil {
		t.Fatalf("PutObject through the mount: %v", err)
	}
	callers, _, _ := h.snapshot()
	if len(callers) != 1 || callers[0] != s.UserARN("ci") {
		t.Errorf("callers = %q", callers)
	}
	if n := s.Count("s3", "PUT"); n != 1 {
		t.Errorf("Count(s3, PUT) = %d", n)
	}
}
