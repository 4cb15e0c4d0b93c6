package fakeaws

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// awsCLI runs the real AWS CLI against s with only the given credentials:
// no config files, no IMDS, no inherited AWS_* variables.
func awsCLI(t *testing.T, s *Server, akid, secret, token string, args ...string) (map[string]any, string) {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH; skipping the real-CLI check")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append(args, "--output", "json")...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"AWS_ENDPOINT_URL=" + s.URL(),
		"AWS_ACCESS_KEY_ID=" + akid,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
	}
	if token != "" {
		cmd.Env = append(cmd.Env, "AWS_SESSION_TOKEN="+token)
	}
	// The CLI may be a pyenv shim, which needs to find its interpreter.
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION"} {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, stderr.String()
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("decoding CLI output %q: %v", out, err)
	}
	return v, stderr.String()
}

func TestRealAWSCLI(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	who, stderr := awsCLI(t, s, testUserKey, testUserSecret, "", "sts", "get-caller-identity")
	if who == nil {
		t.Fatalf("aws sts get-caller-identity failed: %s", stderr)
	}
	if who["Arn"] != s.UserARN("ci") || who["Account"] != DefaultAccountID {
		t.Errorf("get-caller-identity = %v", who)
	}

	out, stderr := awsCLI(t, s, testUserKey, testUserSecret, "", "sts", "assume-role",
		"--role-arn", s.RoleARN("deploy"), "--role-session-name", "cli-test", "--duration-seconds", "1800",
		"--tags", "Key=Repository,Value=octo-org/octo-repo")
	if out == nil {
		t.Fatalf("aws sts assume-role failed: %s", stderr)
	}
	creds, _ := out["Credentials"].(map[string]any)
	akid, _ := creds["AccessKeyId"].(string)
	secret, _ := creds["SecretAccessKey"].(string)
	token, _ := creds["SessionToken"].(string)
	if !reSessionKeyID.MatchString(akid) || !reSecret.MatchString(secret) || token == "" {
		t.Fatalf("assume-role credentials malformed: %v", out)
	}
	reqs := s.Calls()
	last := reqs[len(reqs)-1]
	if last.Param("DurationSeconds") != "1800" || last.Param("Tags.member.1.Key") != "Repository" {
		t.Errorf("recorded assume-role form: %v", last.Params)
	}

	who, stderr = awsCLI(t, s, akid, secret, token, "sts", "get-caller-identity")
	if who == nil {
		t.Fatalf("get-caller-identity with the session failed: %s", stderr)
	}
	if want := "arn:aws:sts::123456789012:assumed-role/deploy/cli-test"; who["Arn"] != want {
		t.Errorf("session Arn = %v, want %s", who["Arn"], want)
	}

	// A wrong secret fails in the CLI with AWS's code.
	if v, stderr := awsCLI(t, s, testUserKey, "wrong", "", "sts", "get-caller-identity"); v != nil || !strings.Contains(stderr, "SignatureDoesNotMatch") {
		t.Errorf("wrong secret: output %v, stderr %q", v, stderr)
	}
	if n := s.Count("sts", "GetCallerIdentity"); n != 3 {
		t.Errorf("Count(sts, GetCallerIdentity) = %d, want 3", n)
	}
}
