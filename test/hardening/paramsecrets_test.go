package hardening

import (
	"strings"
	"testing"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/actionrun"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecfn"
)

// Secret pieces in parameter values (issue 14, finding 2). A workflow passes
// a secret in parameter-overrides (DbPassword=${{ secrets.DB }}); the runner
// masks only the whole secret. A secret holding the format's separators is
// split by the parser, and each piece is text the runner does not mask. No
// piece of 4 characters or more, split at any separator, may appear on
// stdout or stderr: whether the step succeeds or fails, with a local
// template (whose parameters the action knows) or an https URL (whose
// parameters only CloudFormation knows), in every debug mode.

// paramSecrets hold commas, '=', '==', quotes, line breaks and a PEM key;
// their pieces are distinctive, so a hit is a leak and not a common word.
var paramSecrets = map[string]string{
	"comma_equals":  "Pa55Qv,w0rdPart=Tail9Qv",
	"comma_only":    "Pa55Qv,w0rdPartQv",
	"double_equals": "Zx81Qv==,Qm7RkQv==Vv2Qv",
	"double_quotes": `Ab"c9Qv,"Dq4PieceQv"=Ee5Qv"`,
	"single_quotes": `Sq1Qv',Sq2PieceQv='Sq3Qv`,
	"not_a_key":     "Kq8Qv,kL!2YyQv=Rr7Qv",
	"newlines":      "Line1ValQv\nLine2KeyQv=Line2ValQv\nLine3BareQv",
	"pem_private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n" +
		"KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm\no3qGy0t6z09AIJtH+5OeRV1be+N4cDYJKffGzDa88vQENZiRm0GRq6a+HPGQMd2=\n" +
		"-----END RSA PRIVATE KEY-----",
}

// secretPieces splits a secret at every separator a parser might cut at and
// keeps the pieces of 4 characters or more, and the secret itself.
func secretPieces(secret string) []string {
	out := []string{secret}
	for _, p := range strings.FieldsFunc(secret, func(r rune) bool { return strings.ContainsRune(",=\"'\n\r \t:;{}[]()\\", r) }) {
		if len(p) >= 4 {
			out = append(out, p)
		}
	}
	return out
}

// pemHeaderWords are pieces of the PEM armour that the action's own text
// could contain by chance; the key's body lines are the canaries.
var pemHeaderWords = map[string]bool{"-----BEGIN": true, "PRIVATE": true, "KEY-----": true, "-----END": true}

const secretTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
  DbPassword:
    Type: String
    NoEcho: true
Resources:
  Topic:
    Type: AWS::SNS::Topic
`

// The template as an https URL: an object in the fake S3, which the fake
// CloudFormation reads.
const (
	secretBucket      = "templates-bucket"
	secretTemplateKey = "app/secret.yaml"
	secretTemplateURL = "https://" + secretBucket + ".s3." + region + ".amazonaws.com/" + secretTemplateKey
)

func TestSecretPieces_in_parameter_values_never_printed(t *testing.T) {
	t.Parallel()
	forms := []struct {
		name  string
		build func(secret string) string
	}{
		{"comma_pairs", func(s string) string { return "Env=prod,DbPassword=" + s }},
		{"line_pairs", func(s string) string { return "Env=prod\nDbPassword=" + s + "\n" }},
		{"quoted", func(s string) string { return `Env=prod,DbPassword="` + s + `"` }},
		{"json", func(s string) string { return `{"Env":"prod","DbPassword":"` + s + `"}` }},
	}
	templates := []struct{ name, input string }{{"local_template", "infra/secret.yaml"}, {"url_template", secretTemplateURL}}
	for name, secret := range paramSecrets {
		for _, form := range forms {
			for _, tmpl := range templates {
				for _, mode := range debugModes {
					t.Run(name+"/"+form.name+"/"+tmpl.name+"/"+mode.name, func(t *testing.T) {
						t.Parallel()
						srv := fakeaws.New(func(o *fakeaws.Options) {
							o.AccountID, o.Region, o.OIDCRequestToken, o.CredentialPrefix = account, region, oidcBearer, stsMarker
						})
						t.Cleanup(srv.Close)
						s3 := fakecfn.NewS3()
						s3.PutObject(secretBucket, secretTemplateKey, []byte(secretTemplate))
						cfn := fakecfn.NewCloudFormation(func(co *fakecfn.Options) { co.S3, co.Region, co.AccountID = s3, region, account })
						srv.Mount("cloudformation", cfn)
						srv.Mount("s3", s3)
						srv.AddUser("ci", userKeyID, userSecret)
						srv.AddRole(fakeaws.Role{Name: deployRole, TrustedUsers: []string{"ci"}, AllowTagSession: true, MaxSessionDuration: 12 * time.Hour})
						j := actionrun.NewJob(t, binary, prefill)
						j.Write("infra/secret.yaml", secretTemplate)
						j.Endpoint(srv.URL())
						for k, v := range mode.env {
							j.Env[k] = v
						}
						r := j.Run(deployInputs(map[string]string{"template": tmpl.input, "parameter-overrides": form.build(secret)}))
						if r.Code != 0 {
							r.Unchanged(t)
						}
						for _, p := range secretPieces(secret) {
							if pemHeaderWords[p] {
								continue
							}
							for stream, text := range map[string]string{"stdout": r.Stdout, "stderr": r.Stderr} {
								for at, line := range actionrun.LogLines(text) {
									// A mask command is consumed by the runner, never shown
									// (the action masks the NoEcho value it sends).
									if strings.Contains(line, p) && !actionrun.IsMaskCommand(line) {
										t.Errorf("piece %q of the secret on %s line %d (exit %d):\n%s", p, stream, at, r.Code, text)
										break
									}
								}
							}
						}
					})
				}
			}
		}
	}
}

// The piece scan itself must see the leak the old messages had, and not
// flag the messages that replaced them.
func TestSecretPieces_scanner_sees_a_piece(t *testing.T) {
	t.Parallel()
	hits := func(log string) int {
		n := 0
		for _, p := range secretPieces(paramSecrets["comma_equals"]) {
			if actionrun.FirstLine(actionrun.LogLines(log), p) >= 0 {
				n++
			}
		}
		return n
	}
	if hits("::error::input parameter-overrides: the template does not declare w0rdPart (it declares: DbPassword, Env)\n") == 0 {
		t.Error("the scan missed a piece of the secret")
	}
	if n := hits("::error::input parameter-overrides: item 3 names a parameter the template does not declare (it declares: DbPassword, Env)\n"); n != 0 {
		t.Errorf("the scan flags %d pieces in a clean message", n)
	}
}
