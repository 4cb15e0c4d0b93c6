package hardening

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/runnerlog"
)

// debugModes are the ways step debug can be on; every path runs in each.
var debugModes = []struct {
	name string
	env  map[string]string
}{
	{"debug_off", nil},
	{"runner_debug", map[string]string{"RUNNER_DEBUG": "1"}},
	{"actions_step_debug", map[string]string{"ACTIONS_STEP_DEBUG": "true"}},
}

// encodings returns the forms of s the runner masks once s is registered:
// raw, base64 in all three alignments, URL-encoded and JSON-escaped. A
// base64 form is the part of the encoding that any text holding s at that
// alignment contains.
func encodings(s string) map[string]string {
	out := map[string]string{"raw": s, "url": url.QueryEscape(s)}
	if j, err := json.Marshal(s); err == nil {
		out["json"] = strings.Trim(string(j), `"`)
	}
	for skip := 0; skip < 3; skip++ {
		if len(s)-skip < 3 {
			continue
		}
		body := s[skip:]
		body = body[:len(body)/3*3]
		out["base64_"+string(rune('0'+skip))] = base64.StdEncoding.EncodeToString([]byte(body))
	}
	return out
}

var jwtRe = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+`)

// checkSecrets asserts the secret guarantees on one run: the first
// appearance of each canary on stdout, in any encoding the runner masks, is
// its own ::add-mask:: line (or follows the raw value's registration, after
// which the runner masks the encodings itself); nothing secret reaches
// stderr; and the log as GitHub shows it, error annotations included,
// holds no canary in any encoding.
func checkSecrets(t *testing.T, r actionrun.Result, debug bool, extra ...string) {
	t.Helper()
	for _, p := range secretProblems(r, debug, extra...) {
		t.Error(p)
	}
}

func secretProblems(r actionrun.Result, debug bool, extra ...string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	canaries := append([]string{userSecret, userKeyID, oidcBearer, stsMarker}, extra...)
	out := actionrun.LogLines(r.Stdout)
	canaries = append(canaries, jwtRe.FindAllString(r.Stdout, -1)...)
	rendered := runnerlog.New(debug).Render(r.Stdout)
	for _, c := range canaries {
		if c == "" {
			continue
		}
		short := c[:min(len(c), 8)] + "…"
		maskAt := actionrun.FirstLine(out, c)
		if maskAt >= 0 && !actionrun.IsMaskCommand(out[maskAt]) {
			bad("canary %s first appears unmasked on stdout line %d: %q", short, maskAt, out[maskAt])
		}
		for form, enc := range encodings(c) {
			if at := actionrun.FirstLine(out, enc); at >= 0 && form != "raw" && enc != c && (maskAt < 0 || at < maskAt) &&
				!actionrun.IsMaskCommand(out[at]) {
				bad("canary %s appears %s-encoded on stdout line %d before it is masked", short, form, at)
			}
			if strings.Contains(r.Stderr, enc) {
				bad("canary %s appears %s-encoded on stderr", short, form)
			}
			if strings.Contains(rendered, enc) {
				bad("canary %s appears %s-encoded in the rendered job log:\n%s", short, form, rendered)
			}
		}
	}
	if jwtRe.MatchString(rendered) {
		bad("a JWT is visible in the rendered job log:\n%s", rendered)
	}
	if strings.Contains(rendered, "::add-mask::") {
		bad("an ::add-mask:: command is shown as text (commands were stopped?):\n%s", rendered)
	}
	return problems
}

// The scanner itself must catch each kind of leak, or a green suite means
// nothing.
func TestSecretProblems_catches_leaks(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString([]byte("x" + userSecret))
	cases := []struct {
		name string
		r    actionrun.Result
		want bool
	}{
		{"clean", actionrun.Result{Stdout: "::add-mask::" + userSecret + "\nusing " + userSecret + "\n"}, false},
		{"printed_before_mask", actionrun.Result{Stdout: "using " + userSecret + "\n::add-mask::" + userSecret + "\n"}, true},
		{"never_masked", actionrun.Result{Stdout: "::error::bad key " + userKeyID + "\n"}, true},
		{"base64_before_mask", actionrun.Result{Stdout: "blob " + b64 + "\n::add-mask::" + userSecret + "\n"}, true},
		{"url_encoded_never_masked", actionrun.Result{Stdout: "GET /?k=" + url.QueryEscape(oidcBearer) + "\n"}, true},
		{"on_stderr", actionrun.Result{Stdout: "::add-mask::" + userSecret + "\n", Stderr: userSecret}, true},
		{"marker_in_issued_secret", actionrun.Result{Stdout: "secret=xx" + stsMarker + "yy\n"}, true},
		{"stop_commands_then_mask", actionrun.Result{Stdout: "::stop-commands::x\n::add-mask::" + userSecret + "\n" + userSecret + "\n"}, true},
		{"jwt_unmasked", actionrun.Result{Stdout: "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvIn0.c2ln\n"}, true},
	}
	for _, tc := range cases {
		if got := len(secretProblems(tc.r, false)) > 0; got != tc.want {
			t.Errorf("%s: found a leak = %v, want %v: %q", tc.name, got, tc.want, secretProblems(tc.r, false))
		}
	}
}
