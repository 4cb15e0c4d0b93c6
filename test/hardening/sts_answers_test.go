package hardening

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
)

// What an endpoint that is not quite STS can answer (an emulator, a proxy, a
// hostile http:// endpoint): the action must refuse it cleanly, write
// nothing, print nothing a runner would obey, and never crash.
func TestSTSAnswers_refused_cleanly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		quirks fakeaws.Quirks
		inputs map[string]string
		oidc   bool
		want   []string
	}{
		{"no_credentials_assume_role", fakeaws.Quirks{OmitCredentials: true}, keysInputs(nil), false, []string{"STS answered without credentials", "To fix:"}},
		{"no_credentials_web_identity", fakeaws.Quirks{OmitCredentials: true}, oidcInputs(nil), true, []string{"STS answered without credentials", "To fix:"}},
		{"other_account_assume_role", fakeaws.Quirks{AssumedRoleAccount: "999999999999"}, keysInputs(nil), false, []string{"arn:aws:sts::999999999999:assumed-role/", "not a session of " + deployRoleARN}},
		{"other_account_web_identity", fakeaws.Quirks{AssumedRoleAccount: "999999999999"}, oidcInputs(nil), true, []string{"not a session of " + deployRoleARN}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOpts{})
			w.sts.SetQuirks(tc.quirks)
			r := newJob(t, w).Run(tc.inputs)
			r.MustFail(t, tc.want...)
			r.Unchanged(t)
			if strings.Contains(r.Stderr, "panic") || strings.Contains(r.Stderr, "goroutine ") {
				t.Errorf("the action crashed:\n%s", r.Stderr)
			}
		})
	}
}

// The SDK's logger used to print response headers to stderr, which the
// runner reads for workflow commands too. Hostile headers must not reach
// either stream as a command, in any debug mode.
func TestSTSAnswers_hostile_headers_never_become_commands(t *testing.T) {
	t.Parallel()
	hostileHeaders := http.Header{
		"Date":        {"##[stop-commands]x"},
		"X-Amz-Debug": {"::set-output name=aws-account-id::000000000000"},
		"Warning":     {"199 - \"::add-mask::x\""},
	}
	for _, mode := range debugModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOpts{})
			w.sts.SetQuirks(fakeaws.Quirks{ResponseHeaders: hostileHeaders})
			j := newJob(t, w)
			for k, v := range mode.env {
				j.Env[k] = v
			}
			r := j.Run(keysInputs(nil)).MustSucceed(t)
			if strings.TrimSpace(r.Stderr) != "" {
				t.Errorf("stderr is not empty:\n%s", r.Stderr)
			}
			for _, line := range actionrun.LogLines(r.Stdout) {
				if strings.Contains(line, "##[") || strings.Contains(line, "stop-commands") || strings.Contains(line, "set-output") {
					t.Errorf("hostile header reached the log: %q", line)
				}
			}
			if r.Outputs["aws-account-id"] != account {
				t.Errorf("aws-account-id = %q", r.Outputs["aws-account-id"])
			}
		})
	}
}

// Bad input that used to get through to the network now fails first.
func TestSTSAnswers_refused_before_any_call(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"plain_http_remote_sts", keysInputs(map[string]string{"sts-endpoint": "http://sts." + region + ".amazonaws.com"}), "input sts-endpoint"},
		{"plain_http_remote_sts_oidc", oidcInputs(map[string]string{"sts-endpoint": "http://sts." + region + ".amazonaws.com"}), "plain http:// to a remote host"},
		{"session_token_line_break", keysInputs(map[string]string{"aws-session-token": "FwoGZXIvYXdzEBcaD\nSECONDLINE"}), "input aws-session-token: contains white space or a line break"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOpts{})
			r := newJob(t, w).Run(tc.inputs)
			r.MustFail(t, tc.want)
			r.Unchanged(t)
			if n := w.requests(); n != 0 {
				t.Errorf("%d requests before refusing", n)
			}
			if r.Elapsed.Seconds() > 5 {
				t.Errorf("took %s; bad input must fail at once", r.Elapsed)
			}
		})
	}
}

// mask-aws-account-id: the account is masked before any line names it,
// including "Assuming role arn:aws:iam::ACCOUNT:role/..." and errors.
func TestSTSAnswers_account_masked_from_the_first_line(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		ok     bool
	}{
		{"success", keysInputs(map[string]string{"mask-aws-account-id": "true"}), true},
		{"access_denied", keysInputs(map[string]string{"mask-aws-account-id": "true", "role-to-assume": "arn:aws:iam::" + account + ":role/not-trusted"}), false},
		{"bare_role_name", keysInputs(map[string]string{"mask-aws-account-id": "true", "role-to-assume": deployRole}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOpts{})
			r := newJob(t, w).Run(tc.inputs)
			if (r.Code == 0) != tc.ok {
				t.Fatalf("exit %d, want ok=%v\n%s", r.Code, tc.ok, r.Dump())
			}
			lines := actionrun.LogLines(r.Stdout)
			first := actionrun.FirstLine(lines, account)
			if first < 0 {
				t.Fatalf("the account never appears (not even masked):\n%s", r.Stdout)
			}
			if !actionrun.IsMaskCommand(lines[first]) {
				t.Errorf("first line naming the account is not a mask: %q", lines[first])
			}
		})
	}
}
