package hardening

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// wireLogging matches every way to turn on the SDK's wire log (which prints
// the Authorization header, X-Amz-Security-Token, the JWT in the request
// body and the credentials in the response) or to dump HTTP traffic.
var wireLogging = regexp.MustCompile(`ClientLogMode|LogRequest|LogResponse|LogSigning|LogRetries|LogDeprecatedUsage|WithClientLogMode|DumpRequest|DumpResponse`)

func TestNoWireLogging_in_source(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	scanned := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); strings.HasPrefix(n, ".") && p != root || n == "vendor" || n == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		scanned++
		for i, l := range strings.Split(string(b), "\n") {
			if wireLogging.MatchString(l) {
				t.Errorf("%s:%d turns on wire logging: %s", p, i+1, strings.TrimSpace(l))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 10 {
		t.Fatalf("scanned only %d Go files; is the repository root right?", scanned)
	}
}

// wireMarkers appear in any SDK wire log or HTTP dump.
var wireMarkers = []string{"Authorization:", "AWS4-HMAC-SHA256", "X-Amz-Security-Token", "X-Amz-Date", "<SecretAccessKey>", "SecretAccessKey>", "HTTP/1.1", "Action=AssumeRole", "WebIdentityToken="}

// The compiled action with step debug on, through every call it makes
// (OIDC, STS, CloudFormation), prints nothing of the wire.
func TestNoWireLogging_in_the_binary(t *testing.T) {
	t.Parallel()
	for _, p := range []struct {
		name   string
		inputs map[string]string
	}{
		{"oidc", oidcInputs(nil)},
		{"keys_and_deploy", deployInputs(nil)},
	} {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, quickStack)
			j := newJob(t, w)
			j.Env["RUNNER_DEBUG"] = "1"
			j.Env["ACTIONS_STEP_DEBUG"] = "true"
			r := j.Run(p.inputs)
			if r.Code != 0 {
				t.Fatalf("run failed\n%s", r.Dump())
			}
			for _, m := range wireMarkers {
				if strings.Contains(r.Stdout, m) || strings.Contains(r.Stderr, m) {
					t.Errorf("the log holds wire traffic (%q)\n%s", m, r.Dump())
				}
			}
			if r.Stderr != "" {
				t.Errorf("stderr is not empty:\n%s", r.Stderr)
			}
		})
	}
}
