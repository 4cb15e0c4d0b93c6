package awsauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/google/go-cmp/cmp"
)

// Vectors of configure-aws-credentials v6.2.3 (test/helpers.test.ts,
// test/index.test.ts) about session tags, special characters and the
// default chain, named FILE_TEST-NAME.

// cacGitHub is mockinputs.test.ts "envs".
var cacGitHub = GitHub{Repository: "MY-REPOSITORY-NAME", Workflow: "MY-WORKFLOW-ID", Action: "MY-ACTION-NAME", Actor: "MY-USERNAME[bot]",
	SHA: "MY-COMMIT-ID", Ref: "refs/pull/42/merge", EventName: "pull_request", RunID: "16412345678", Job: "build",
	BaseRef: "main", HeadRef: "feature-branch", TriggeringActor: "MY-USERNAME[bot]"}

func tagMap(req, opt []Tag) map[string]string {
	m := map[string]string{}
	for _, t := range append(req, opt...) {
		m[t.Key] = t.Value
	}
	return m
}

func TestCAC_tag_vectors(t *testing.T) {
	t.Parallel()
	t.Run("helpers_removes_brackets_from_GitHub_Actor", func(t *testing.T) {
		if got := sanitizeTagValue("actor[bot]"); got != "actor_bot_" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("helpers_removes_special_characters_from_workflow_names", func(t *testing.T) {
		if got := sanitizeTagValue(`sdf234@#$%$^&*()_+{}|:"<>?`); got != "sdf234@__________+___:____" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("index_emits_exactly_the_expected_default_tag_set_with_no_custom-tags", func(t *testing.T) {
		want := map[string]string{
			"GitHub": "Actions", "Repository": "MY-REPOSITORY-NAME", "Workflow": "MY-WORKFLOW-ID", "Action": "MY-ACTION-NAME",
			"Actor": "MY-USERNAME_bot_", "Commit": "MY-COMMIT-ID", "Branch": "refs/pull/42/merge", "EventName": "pull_request",
			"BaseRef": "main", "HeadRef": "feature-branch", "RunId": "16412345678", "Job": "build", "TriggeringActor": "MY-USERNAME_bot_",
		}
		req, opt := SessionTags(cacGitHub, nil)
		if d := cmp.Diff(want, tagMap(req, opt)); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
		if len(req) != 7 || len(opt) != 6 || DefaultTagCount(cacGitHub) != 13 {
			t.Errorf("%d protected, %d droppable", len(req), len(opt))
		}
	})
	t.Run("index_omits_droppable_tags_whose_env_vars_are_unset", func(t *testing.T) {
		gh := cacGitHub
		gh.BaseRef, gh.HeadRef, gh.TriggeringActor = "", "", ""
		got := tagMap(SessionTags(gh, nil))
		for _, k := range []string{"BaseRef", "HeadRef", "TriggeringActor"} {
			if _, ok := got[k]; ok {
				t.Errorf("%s sent", k)
			}
		}
		if got["EventName"] == "" || got["RunId"] == "" {
			t.Errorf("tags = %v", got)
		}
	})
	t.Run("index_sanitizes_invalid_characters_in_env-derived_tag_values", func(t *testing.T) {
		gh := cacGitHub
		gh.HeadRef = "feature/has spaces&bad?chars"
		if got := tagMap(SessionTags(gh, nil))["HeadRef"]; got != "feature/has spaces_bad_chars" {
			t.Errorf("HeadRef = %q", got)
		}
	})
	t.Run("index_truncates_env-derived_tag_values_longer_than_256_characters", func(t *testing.T) {
		gh := cacGitHub
		gh.HeadRef = strings.Repeat("a", 300)
		if got := tagMap(SessionTags(gh, nil))["HeadRef"]; len(got) != 256 {
			t.Errorf("len = %d", len(got))
		}
	})
	t.Run("index_protected_keys_are_exactly_CACs", func(t *testing.T) {
		want := []string{"GitHub", "Repository", "Workflow", "Action", "Actor", "Commit", "Branch", "EventName", "BaseRef", "HeadRef", "RunId", "Job", "TriggeringActor"}
		if d := cmp.Diff(want, ProtectedTagKeys()); d != "" {
			t.Error(d)
		}
		if !ProtectedTagKey("branch") || ProtectedTagKey("Team") {
			t.Error("ProtectedTagKey")
		}
	})
	t.Run("helpers_verifies_credentials_without_special_characters", func(t *testing.T) {
		if hasSpecialCharacters(&Credentials{AccessKeyID: "AKIATEST", SecretAccessKey: "secretkey"}) {
			t.Error("clean keys flagged")
		}
		if !hasSpecialCharacters(&Credentials{AccessKeyID: "AKIA!@#$", SecretAccessKey: "secret"}) {
			t.Error("special key id missed")
		}
		if !hasSpecialCharacters(&Credentials{AccessKeyID: "AKIATEST", SecretAccessKey: "a/b+c"}) {
			t.Error("special secret missed")
		}
	})
}

// seqSTS answers AssumeRole* with one set of credentials per call, in order.
type seqSTS struct {
	stubSTS
	creds  []*ststypes.Credentials
	n      int
	signer []aws.CredentialsProvider
}

func (s *seqSTS) issue() *ststypes.Credentials {
	c := s.creds[min(s.n, len(s.creds)-1)]
	s.n++
	return c
}

func (s *seqSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, o ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	out, err := s.stubSTS.AssumeRole(ctx, in, o...)
	if err == nil {
		out.Credentials = s.issue()
	}
	return out, err
}

func (s *seqSTS) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, o ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	out, err := s.stubSTS.AssumeRoleWithWebIdentity(ctx, in, o...)
	if err == nil {
		out.Credentials = s.issue()
	}
	return out, err
}

func creds(id, secret string) *ststypes.Credentials {
	return &ststypes.Credentials{AccessKeyId: aws.String(id), SecretAccessKey: aws.String(secret), SessionToken: aws.String("tok"), Expiration: aws.Time(time.Unix(2e9, 0))}
}

func newSeq(stub *seqSTS, log *recordingLog, optFns ...func(*Options)) *Assumer {
	return New(func(p aws.CredentialsProvider) STSAPI { stub.signer = append(stub.signer, p); return stub }, log, append([]func(*Options){func(o *Options) {
		o.Tokens = &counterTokens{}
		o.Sleep = func(context.Context, time.Duration) error { return nil }
		o.Backoff = zeroBackoff{}
	}}, optFns...)...)
}

// index.test.ts "handles the special character workaround": the first
// session has odd characters, the second is used.
func TestCAC_special_character_workaround(t *testing.T) {
	t.Parallel()
	stub := &seqSTS{creds: []*ststypes.Credentials{creds("STSA#$%^&", "STSA#$%^&Key"), creds("STSAWSACCESSKEYID", "STSAWSSECRETACCESSKEY")}}
	log := &recordingLog{}
	req := keysConfig()
	req.SpecialCharactersWorkaround = true
	c, err := newSeq(stub, log).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretAccessKey != "STSAWSSECRETACCESSKEY" || stub.n != 2 {
		t.Errorf("secret %q after %d sessions", c.SecretAccessKey, stub.n)
	}
	if first, _ := log.firstMention("STSA#$%^&Key"); first != "mask:STSA#$%^&Key" {
		t.Errorf("the discarded secret was first seen as %q, not masked", first)
	}
	// Never clean: bounded, with the reason.
	stub = &seqSTS{creds: []*ststypes.Credentials{creds("STSAWSACCESSKEYID", "a/b")}}
	if _, err := newSeq(stub, &recordingLog{}).Run(context.Background(), req); err == nil || !strings.Contains(err.Error(), "special characters") || stub.n != maxSpecialTries {
		t.Errorf("err = %v after %d sessions", err, stub.n)
	}
}

// chainProvider is the SDK's default chain in tests.
type chainProvider struct {
	creds aws.Credentials
	err   error
}

func (c chainProvider) Retrieve(context.Context) (aws.Credentials, error) { return c.creds, c.err }

var instanceCreds = aws.Credentials{AccessKeyID: "ASIAINSTANCE00000001", SecretAccessKey: "instance-secret", SessionToken: "instance-token", Source: "EC2RoleProvider"}

// index.test.ts "Assume existing role" with the SDK's chain: the chain's
// credentials (here an instance profile) sign AssumeRole, masked first.
func TestCAC_default_chain_is_the_source(t *testing.T) {
	t.Parallel()
	for _, src := range []Source{SourceChaining, SourceDefaultChain} {
		stub := &seqSTS{creds: []*ststypes.Credentials{issuedCreds}}
		log := &recordingLog{}
		req := keysConfig()
		req.Source, req.Keys = src, Keys{}
		c, err := newSeq(stub, log, func(o *Options) { o.DefaultChain = chainProvider{creds: instanceCreds} }).Run(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := stub.signer[0].Retrieve(context.Background())
		if err != nil || got.AccessKeyID != instanceCreds.AccessKeyID {
			t.Errorf("%v: AssumeRole signed by %q", src, got.AccessKeyID)
		}
		if i, _ := log.firstMention("instance-secret"); i != "mask:instance-secret" {
			t.Errorf("%v: instance secret first seen as %q", src, i)
		}
		if c.Ambient {
			t.Error("assumed credentials marked ambient")
		}
	}
	// No role: validated, not exported (CAC: "Proceeding with IAM user credentials" after validateCredentials).
	req := keysConfig()
	req.Source, req.Keys, req.RoleARN, req.RoleName = SourceDefaultChain, Keys{}, "", ""
	c, err := newSeq(&seqSTS{creds: []*ststypes.Credentials{issuedCreds}}, &recordingLog{}, func(o *Options) { o.DefaultChain = chainProvider{creds: instanceCreds} }).Run(context.Background(), req)
	if err != nil || !c.Ambient || c.Account != "123456789012" {
		t.Errorf("c = %+v, err = %v", c, err)
	}
}

func TestCAC_default_chain_empty_says_what_was_tried(t *testing.T) {
	t.Parallel()
	req := keysConfig()
	req.Source, req.Keys = SourceDefaultChain, Keys{}
	req.Chain = ChainInfo{Profile: "ci", IMDSEndpoint: "http://127.0.0.1:1", NoOIDC: true}
	_, err := newSeq(&seqSTS{}, &recordingLog{}, func(o *Options) { o.DefaultChain = chainProvider{err: errors.New("no EC2 IMDS role found")} }).Run(context.Background(), req)
	for _, w := range []string{"no GitHub OIDC token", "shared config profile ci (AWS_PROFILE)", "IMDSv2 at http://127.0.0.1:1", "no EC2 IMDS role found", "--http-put-response-hop-limit 2", "id-token: write"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
}

// index.test.ts "doesn't get new creds if there are already valid ones and
// we said use them" and "gets new creds if told to reuse existing but
// they're invalid".
func TestCAC_use_existing_credentials(t *testing.T) {
	t.Parallel()
	valid := newSeq(&seqSTS{}, &recordingLog{}, func(o *Options) { o.DefaultChain = chainProvider{creds: instanceCreds} })
	if c, ok := valid.Existing(context.Background(), keysConfig()); !ok || c.Account != "123456789012" || !c.Ambient {
		t.Errorf("valid: %+v %v", c, ok)
	}
	refused := newSeq(&seqSTS{stubSTS: stubSTS{errs: []error{apiErr("InvalidClientTokenId", "invalid")}}}, &recordingLog{}, func(o *Options) { o.DefaultChain = chainProvider{creds: instanceCreds} })
	if _, ok := refused.Existing(context.Background(), keysConfig()); ok {
		t.Error("refused credentials taken as valid")
	}
	none := newSeq(&seqSTS{}, &recordingLog{}, func(o *Options) { o.DefaultChain = chainProvider{err: errors.New("none")} })
	if _, ok := none.Existing(context.Background(), keysConfig()); ok {
		t.Error("no credentials taken as valid")
	}
}
