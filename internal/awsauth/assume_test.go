package awsauth

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// recordingLog records every call in order, so tests can check masking order.
type recordingLog struct{ events []string }

func (l *recordingLog) Mask(s string) { l.events = append(l.events, "mask:"+s) }
func (l *recordingLog) Infof(f string, a ...any) {
	l.events = append(l.events, "info:"+fmt.Sprintf(f, a...))
}
func (l *recordingLog) Debugf(f string, a ...any) {
	l.events = append(l.events, "debug:"+fmt.Sprintf(f, a...))
}
func (l *recordingLog) Warningf(f string, a ...any) {
	l.events = append(l.events, "warn:"+fmt.Sprintf(f, a...))
}
func (l *recordingLog) firstMention(s string) (string, bool) {
	for _, e := range l.events {
		if strings.Contains(e, s) {
			return e, true
		}
	}
	return "", false
}

// stubSTS answers from scripted errors, then succeeds.
type stubSTS struct {
	errs      []error // consumed one per call of AssumeRole*/GetCallerIdentity in order
	calls     []string
	tokens    []string
	tags      [][]ststypes.Tag
	callerARN string
	account   string
	// noSessionARN leaves AssumedRoleUser out, as some STS-compatible
	// services do; noCreds answers success without credentials.
	noSessionARN, noCreds bool
}

// answer is what AssumeRole* returns: the scripted session and credentials.
func (s *stubSTS) answer() (*ststypes.Credentials, *ststypes.AssumedRoleUser) {
	creds := issuedCreds
	if s.noCreds {
		creds = nil
	}
	if s.noSessionARN {
		return creds, nil
	}
	arn := s.callerARN
	if arn == "" {
		acct := s.account
		if acct == "" {
			acct = "123456789012"
		}
		arn = "arn:aws:sts::" + acct + ":assumed-role/deploy/s"
	}
	return creds, &ststypes.AssumedRoleUser{Arn: aws.String(arn), AssumedRoleId: aws.String("AROA:s")}
}

func (s *stubSTS) next(name string) error {
	s.calls = append(s.calls, name)
	if len(s.errs) == 0 {
		return nil
	}
	err := s.errs[0]
	s.errs = s.errs[1:]
	return err
}

var issuedCreds = &ststypes.Credentials{AccessKeyId: aws.String("ASIAISSUEDKEY0000001"), SecretAccessKey: aws.String("issued-secret"), SessionToken: aws.String("issued-token"), Expiration: aws.Time(time.Unix(2e9, 0))}

func (s *stubSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	s.tags = append(s.tags, in.Tags)
	if err := s.next("AssumeRole"); err != nil {
		return nil, err
	}
	creds, user := s.answer()
	return &sts.AssumeRoleOutput{Credentials: creds, AssumedRoleUser: user}, nil
}

func (s *stubSTS) AssumeRoleWithWebIdentity(_ context.Context, in *sts.AssumeRoleWithWebIdentityInput, _ ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	s.tokens = append(s.tokens, aws.ToString(in.WebIdentityToken))
	if err := s.next("AssumeRoleWithWebIdentity"); err != nil {
		return nil, err
	}
	creds, user := s.answer()
	return &sts.AssumeRoleWithWebIdentityOutput{Credentials: creds, AssumedRoleUser: user}, nil
}

func (s *stubSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if err := s.next("GetCallerIdentity"); err != nil {
		return nil, err
	}
	arn := s.callerARN
	if arn == "" {
		arn = "arn:aws:sts::123456789012:assumed-role/deploy/s"
	}
	acct := s.account
	if acct == "" {
		acct = "123456789012"
	}
	return &sts.GetCallerIdentityOutput{Account: aws.String(acct), Arn: aws.String(arn)}, nil
}

type counterTokens struct{ n int }

func (c *counterTokens) Fetch(context.Context, string) (string, error) {
	c.n++
	return fmt.Sprintf("jwt-%d", c.n), nil
}

type zeroBackoff struct{}

func (zeroBackoff) BackoffDelay(int, error) (time.Duration, error) {
	return 100 * time.Millisecond, nil
}

func apiErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

func newAssumer(stub *stubSTS, log *recordingLog, slept *[]time.Duration, optFns ...func(*Options)) *Assumer {
	now := time.Unix(1e9, 0)
	return New(func(aws.CredentialsProvider) STSAPI { return stub }, log, append([]func(*Options){func(o *Options) {
		o.Tokens = &counterTokens{}
		o.Sleep = func(_ context.Context, d time.Duration) error {
			*slept = append(*slept, d)
			now = now.Add(d)
			return nil
		}
		o.Now = func() time.Time { return now }
		o.Backoff = zeroBackoff{}
	}}, optFns...)...)
}

func keysConfig() Request {
	return Request{Region: "us-east-1", RoleARN: "arn:aws:iam::123456789012:role/deploy", RoleName: "deploy", Source: SourceKeys,
		Keys:     Keys{AccessKeyID: "AKIAINPUTKEY00000001", SecretAccessKey: "input-secret"},
		Duration: time.Hour, MaxAttempts: 5,
		GitHub: GitHub{Repository: "o/r", RunID: "1", RunAttempt: "1", Job: "j", EventName: "push", HeadRef: "h"}}
}

func TestRun_retry_classification(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		err       error
		wantCalls int // AssumeRole calls
		wantOK    bool
	}{
		{"throttling_retried", apiErr("Throttling", "Rate exceeded"), 2, true},
		{"idp_communication_retried", apiErr("IDPCommunicationError", "x"), 2, true},
		{"verification_key_retried", apiErr("InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider"), 2, true},
		{"connection_refused_retried", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, 2, true},
		{"access_denied_fails_fast", apiErr("AccessDenied", "not authorized"), 1, false},
		{"untrusted_certificate_fails_fast", &url.Error{Op: "Post", URL: "https://sts.example", Err: x509.UnknownAuthorityError{}}, 1, false},
		{"invalid_client_token_fails_fast", apiErr("InvalidClientTokenId", "x"), 1, false},
		{"signature_fails_fast", apiErr("SignatureDoesNotMatch", "x"), 1, false},
		{"validation_fails_fast", apiErr("ValidationError", "x"), 1, false},
		{"wrong_audience_fails_fast", apiErr("InvalidIdentityToken", "Incorrect token audience"), 1, false},
		{"expired_source_token_fails_fast", apiErr("ExpiredToken", "x"), 1, false},
		{"region_disabled_fails_fast", apiErr("RegionDisabledException", "x"), 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stub := &stubSTS{errs: []error{tc.err}}
			var slept []time.Duration
			_, err := newAssumer(stub, &recordingLog{}, &slept).Run(context.Background(), keysConfig())
			if (err == nil) != tc.wantOK {
				t.Fatalf("err = %v", err)
			}
			n := 0
			for _, c := range stub.calls {
				if c == "AssumeRole" {
					n++
				}
			}
			if n != tc.wantCalls {
				t.Errorf("AssumeRole calls = %d, want %d (%v)", n, tc.wantCalls, stub.calls)
			}
			if !tc.wantOK && !strings.Contains(err.Error(), "To fix:") {
				t.Errorf("error has no fix: %v", err)
			}
		})
	}
}

func TestRun_gives_up_after_max_attempts(t *testing.T) {
	t.Parallel()
	var errs []error
	for i := 0; i < 10; i++ {
		errs = append(errs, apiErr("Throttling", "Rate exceeded"))
	}
	stub := &stubSTS{errs: errs}
	var slept []time.Duration
	cfg := keysConfig()
	cfg.MaxAttempts = 3
	_, err := newAssumer(stub, &recordingLog{}, &slept).Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("err = %v", err)
	}
	if len(slept) != 2 {
		t.Errorf("slept %d times, want 2", len(slept))
	}
}

func TestRun_masks_secrets_before_mentioning_them(t *testing.T) {
	t.Parallel()
	stub := &stubSTS{}
	log := &recordingLog{}
	var slept []time.Duration
	c, err := newAssumer(stub, log, &slept).Run(context.Background(), keysConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"input-secret", "AKIAINPUTKEY00000001", c.SecretAccessKey, c.SessionToken, c.AccessKeyID} {
		first, ok := log.firstMention(s)
		if !ok || first != "mask:"+s {
			t.Errorf("first mention of %q is %q", s, first)
		}
	}
}

func TestRun_web_identity_fetches_a_fresh_token_per_attempt_and_sends_no_tags(t *testing.T) {
	t.Parallel()
	stub := &stubSTS{errs: []error{apiErr("IDPCommunicationError", "x"), apiErr("ExpiredTokenException", "expired")}}
	log := &recordingLog{}
	var slept []time.Duration
	cfg := keysConfig()
	cfg.Source, cfg.Keys = SourceOIDC, Keys{}
	if _, err := newAssumer(stub, log, &slept).Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"jwt-1", "jwt-2", "jwt-3"}, stub.tokens); d != "" {
		t.Errorf("tokens (-want +got):\n%s", d)
	}
	if len(stub.tags) != 0 {
		t.Errorf("AssumeRole (with tags) was called for web identity")
	}
}

func TestRun_packed_policy_too_large_drops_optional_tags_once(t *testing.T) {
	t.Parallel()
	stub := &stubSTS{errs: []error{apiErr("PackedPolicyTooLarge", "Packed policy consumes 112% of allotted space")}}
	var slept []time.Duration
	if _, err := newAssumer(stub, &recordingLog{}, &slept).Run(context.Background(), keysConfig()); err != nil {
		t.Fatal(err)
	}
	if len(stub.tags) != 2 || len(stub.tags[1]) >= len(stub.tags[0]) {
		t.Fatalf("tags per call: %d calls", len(stub.tags))
	}
	for _, tg := range stub.tags[1] {
		if k := aws.ToString(tg.Key); k == "HeadRef" || k == "RunId" {
			t.Errorf("optional tag %s kept on retry", k)
		}
	}
}

func TestRun_wrong_role_or_account_is_refused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		stub    *stubSTS
		allowed []string
		want    string
	}{
		{"other_account", &stubSTS{account: "999999999999"}, []string{"123456789012"}, "not in allowed-account-ids"},
		{"other_role", &stubSTS{callerARN: "arn:aws:sts::123456789012:assumed-role/other/s"}, nil, "not a session of arn:aws:iam::123456789012:role/deploy"},
		{"other_account_than_the_role", &stubSTS{account: "999999999999"}, nil, "STS reports the session as arn:aws:sts::999999999999:assumed-role/deploy/s"},
		{"other_partition", &stubSTS{callerARN: "arn:aws-cn:sts::123456789012:assumed-role/deploy/s"}, nil, "not a session of"},
		{"fallback_other_account", &stubSTS{callerARN: "arn:aws:sts::999999999999:assumed-role/deploy/s", noSessionARN: true}, nil, "not a session of"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := keysConfig()
			cfg.AllowedAccountIDs = tc.allowed
			var slept []time.Duration
			_, err := newAssumer(tc.stub, &recordingLog{}, &slept).Run(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// One STS call per credential step: the AssumeRole answer names the session.
func TestRun_confirms_the_session_from_the_answer(t *testing.T) {
	t.Parallel()
	for _, src := range []Source{SourceKeys, SourceOIDC} {
		stub := &stubSTS{}
		req := keysConfig()
		req.Source = src
		c, err := newAssumer(stub, &recordingLog{}, new([]time.Duration)).Run(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(stub.calls) != 1 || c.Account != "123456789012" || c.ARN != "arn:aws:sts::123456789012:assumed-role/deploy/s" {
			t.Errorf("%v: calls %v, account %q, arn %q", src, stub.calls, c.Account, c.ARN)
		}
	}
}

// A 200 answer without credentials is an error with a fix, not a panic.
func TestRun_answer_without_credentials(t *testing.T) {
	t.Parallel()
	for _, src := range []Source{SourceKeys, SourceOIDC} {
		req := keysConfig()
		req.Source = src
		_, err := newAssumer(&stubSTS{noCreds: true}, &recordingLog{}, new([]time.Duration)).Run(context.Background(), req)
		if err == nil || !strings.Contains(err.Error(), "STS answered without credentials") || !strings.Contains(err.Error(), "To fix:") {
			t.Errorf("%v: err = %v", src, err)
		}
	}
}

// mask-aws-account-id masks the account before the first line names it.
func TestRun_masks_the_account_before_the_first_line(t *testing.T) {
	t.Parallel()
	log := &recordingLog{}
	req := keysConfig()
	req.MaskAccountID = true
	if _, err := newAssumer(&stubSTS{}, log, new([]time.Duration)).Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if first, _ := log.firstMention("123456789012"); first != "mask:123456789012" {
		t.Errorf("first mention of the account is %q", first)
	}
	log = &recordingLog{}
	req.RoleARN = "" // a bare name, resolved in the source account
	if _, err := newAssumer(&stubSTS{}, log, new([]time.Duration)).Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if first, _ := log.firstMention("123456789012"); first != "mask:123456789012" {
		t.Errorf("bare name: first mention of the account is %q", first)
	}
}

func TestRun_new_session_eventual_consistency_is_retried(t *testing.T) {
	t.Parallel()
	// Without a session ARN in the answer, GetCallerIdentity confirms it
	// and retries a brand-new session's refusal.
	stub := &stubSTS{noSessionARN: true, errs: []error{nil, apiErr("InvalidClientTokenId", "The security token included in the request is invalid.")}}
	var slept []time.Duration
	if _, err := newAssumer(stub, &recordingLog{}, &slept).Run(context.Background(), keysConfig()); err != nil {
		t.Fatalf("err = %v (calls %v)", err, stub.calls)
	}
}

func TestRun_access_denied_with_web_identity_shows_claims(t *testing.T) {
	t.Parallel()
	// header.payload.signature with a readable payload.
	payload := `{"iss":"https://token.actions.githubusercontent.com","aud":"sts.amazonaws.com","sub":"repo:o/r:environment:prod","environment":"prod"}`
	tok := "e30." + b64(payload) + ".c2ln"
	stub := &stubSTS{errs: []error{apiErr("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")}}
	a := newAssumer(stub, &recordingLog{}, new([]time.Duration), func(o *Options) { o.Tokens = fixedToken(tok) })
	cfg := keysConfig()
	cfg.Source = SourceOIDC
	_, err := a.Run(context.Background(), cfg)
	for _, w := range []string{`sub="repo:o/r:environment:prod"`, `"token.actions.githubusercontent.com:sub": "repo:o/r:environment:prod"`, "environment:NAME"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	if strings.Contains(err.Error(), "c2ln") {
		t.Errorf("error shows the token signature")
	}
}

type fixedToken string

func (f fixedToken) Fetch(context.Context, string) (string, error) { return string(f), nil }

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestDefaultSessionName(t *testing.T) {
	t.Parallel()
	gh := GitHub{RunID: "123456", RunAttempt: "2", Job: "deploy"}
	cases := []struct{ name, disc, want string }{
		{"stack", "app-us-east-1", "GitHubActions-123456-2-deploy-app-us-east-1"},
		{"illegal_chars", "my stack/x", "GitHubActions-123456-2-deploy-my_stack_x"},
	}
	for _, tc := range cases {
		if got := DefaultSessionName(gh, tc.disc); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	long := DefaultSessionName(GitHub{RunID: "123456", RunAttempt: "1", Job: strings.Repeat("j", 80)}, "stack-name-eu-west-1")
	if len(long) > 64 || !strings.HasSuffix(long, "-stack-name-eu-west-1") || !strings.HasPrefix(long, "GitHubActions-123456-1-") {
		t.Errorf("long name %q (%d)", long, len(long))
	}
	a, b := DefaultSessionName(gh, ""), DefaultSessionName(gh, "")
	if a == b {
		t.Errorf("random suffix repeated: %q", a)
	}
}

func TestSessionTags_sanitised_and_custom_after_defaults(t *testing.T) {
	t.Parallel()
	req, opt := SessionTags(GitHub{Repository: "o/r", Workflow: "CI <main>", Ref: "refs/heads/feat/x", EventName: "push"}, []Tag{{Key: "Team", Value: "mine"}})
	got := map[string]string{}
	for _, t := range append(req, opt...) {
		got[t.Key] = t.Value
	}
	if got["Branch"] != "refs/heads/feat/x" || got["Team"] != "mine" || got["Workflow"] != "CI _main_" || got["EventName"] != "push" {
		t.Errorf("tags = %v", got)
	}
}
