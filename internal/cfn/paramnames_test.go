package cfn

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/google/go-cmp/cmp"
)

// secretValues are parameter values a workflow might pass from secrets:
// each holds separators of the K=V format (commas, '=', '==', quotes, line
// breaks), so an unquoted one is split into pieces.
var secretValues = map[string]string{
	"comma_equals":   "Pa55,w0rdPart=Tail9",
	"comma_no_equal": "Pa55,w0rdPart",
	"double_equals":  "Zx81==,Qm7Rk==Vv2",
	"quotes":         `Ab"c9,"Dq4Piece"=Ee5"`,
	"bad_key":        "Kq8,kL!2Yy=Rr7",
	"newline":        "Line1Val\nLine2Key=Line2Val\nLine3Bare",
	"pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n" +
		"KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm\no3qGy0t6z09AIJtH+5OeRV1be+N4cDYJKffGzDa88vQENZiRm0GRq6a+HPGQMd2=\n" +
		"-----END RSA PRIVATE KEY-----",
}

// pieces splits a secret on every separator a parser might cut at and
// keeps the pieces of 4 characters or more: none may ever be printed.
func pieces(secret string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(secret, func(r rune) bool { return strings.ContainsRune(",=\"'\n\r \t:;{}[]\\", r) }) {
		if len(p) >= 4 {
			out = append(out, p)
		}
	}
	return out
}

func leaked(text, secret string) []string {
	var out []string
	for _, p := range append(pieces(secret), secret) {
		if strings.Contains(text, p) {
			out = append(out, p)
		}
	}
	return out
}

// Whatever the parser and the template check make of a value with
// separators, their errors name items by position: no piece of the value.
func TestParameterErrors_never_quote_a_piece_of_a_value(t *testing.T) {
	t.Parallel()
	tmpl := Template{Parameters: []string{"DbPassword", "Env"}, ParametersKnown: true}
	forms := map[string]func(secret string) string{
		"pairs":           func(s string) string { return "Env=prod,DbPassword=" + s },
		"pairs_quoted":    func(s string) string { return `Env=prod,DbPassword="` + s + `"` },
		"lines":           func(s string) string { return "Env=prod\nDbPassword=" + s + "\n" },
		"json_object":     func(s string) string { return `{"Env":"prod","DbPassword":"` + s + `"}` },
		"json_cli":        func(s string) string { return `[{"ParameterKey":"DbPassword","ParameterValue":"` + s + `"}]` },
		"json_strings":    func(s string) string { return `["Env=prod","DbPassword=` + s + `"]` },
		"pairs_then_more": func(s string) string { return "DbPassword=" + s + ",Env=prod" },
	}
	for name, secret := range secretValues {
		for form, build := range forms {
			t.Run(name+"/"+form, func(t *testing.T) {
				t.Parallel()
				ps, err := ParseParameterOverrides(build(secret), nil)
				if err == nil {
					err = tmpl.CheckOverrides(ps)
				}
				if err == nil {
					return
				}
				if l := leaked(err.Error(), secret); len(l) > 0 {
					t.Errorf("error shows %q of the value:\n%v", l, err)
				}
			})
		}
	}
}

// FuzzParameterErrors: a value holding any text, unquoted, never shows up
// in a parse error. Every alphanumeric run of the value is wrapped in
// markers, so any piece of it that is printed carries one.
func FuzzParameterErrors(f *testing.F) {
	for _, s := range secretValues {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b strings.Builder
		run := false
		for i := 0; i < len(s); i++ {
			c := s[i]
			if isAlnum(c) && !run {
				b.WriteString("Qz")
			}
			if !isAlnum(c) && run {
				b.WriteString("Zq")
			}
			run = isAlnum(c)
			b.WriteByte(c)
		}
		if run {
			b.WriteString("Zq")
		}
		secret := b.String()
		tmpl := Template{Parameters: []string{"DbPassword", "Env"}, ParametersKnown: true}
		for _, in := range []string{"Env=prod,DbPassword=" + secret, `{"DbPassword":"` + secret + `"}`} {
			ps, err := ParseParameterOverrides(in, nil)
			if err == nil {
				err = tmpl.CheckOverrides(ps)
			}
			if err != nil && (strings.Contains(err.Error(), "Qz") || strings.Contains(err.Error(), "Zq")) {
				t.Fatalf("error shows part of the value %q: %v", secret, err)
			}
		}
	})
}

func TestParamNames_redact(t *testing.T) {
	t.Parallel()
	given := []Parameter{{Key: "Env", Value: "prod"}, {Key: "DbPassword", Value: "Pa55"}, {Key: "w0rdPart", Value: "Tail9"}}
	cases := []struct {
		name  string
		tmpl  Template
		stack []string
		in    string
		want  string
	}{
		{"declared_names_kept", Template{Parameters: []string{"DbPassword", "Env", "w0rdPart"}, ParametersKnown: true}, nil,
			"Parameter 'w0rdPart' must be one of AllowedValues (Tail9)", "Parameter 'w0rdPart' must be one of AllowedValues (Tail9)"},
		{"url_template_create", Template{URL: "https://b.s3.amazonaws.com/t.yaml"}, nil,
			"Parameters: [w0rdPart] do not exist in the template",
			"Parameters: [item 3 of parameter-overrides] do not exist in the template"},
		{"url_template_update_knows_the_stack", Template{URL: "https://b.s3.amazonaws.com/t.yaml"}, []string{"Env", "DbPassword"},
			"parameter value Pa55 for parameter name DbPassword does not exist; Parameters: [w0rdPart] do not exist (Tail9); Env=prod",
			"parameter value *** for parameter name DbPassword does not exist; Parameters: [item 3 of parameter-overrides] do not exist (***); Env=prod"},
		{"word_boundaries", Template{URL: "https://x/y"}, []string{"Env", "DbPassword"},
			"w0rdPartly w0rdPart Xw0rdPart", "w0rdPartly item 3 of parameter-overrides Xw0rdPart"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newParamNames(given, tc.tmpl)
			n.learn(tc.stack...)
			if diff := cmp.Diff(tc.want, n.redact(tc.in)); diff != "" {
				t.Errorf("redact (-want +got):\n%s", diff)
			}
		})
	}
}

// A URL template's parameters are unknown: CloudFormation's refusal that
// names a piece of a split secret, and the list of parameters given, show
// it by position only, in the log and in the error.
func TestDeploy_url_template_does_not_print_pieces_of_a_value(t *testing.T) {
	t.Parallel()
	secret := secretValues["comma_equals"]
	ps, err := ParseParameterOverrides("Env=prod,DbPassword="+secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, update := range []bool{false, true} {
		e := newEnv(t)
		if update {
			e.cfn.addStack("app", types.StackStatusUpdateComplete, value("Env", "dev"), value("DbPassword", "x"))
		}
		e.cfn.fail["CreateChangeSet"] = apiErr("ValidationError", "Parameters: [w0rdPart] do not exist in the template")
		o := testOptions(t)
		o.Template = Template{URL: "https://b.s3.eu-west-1.amazonaws.com/app.yaml"}
		o.Parameters = ps
		_, err := e.d.Deploy(context.Background(), o)
		text := e.log.text() + "\n" + errString(err)
		if l := leaked(text, secret); len(l) > 0 {
			t.Errorf("update %v: %q of the value printed:\n%s", update, l, text)
		}
		if !strings.Contains(errString(err), "Parameters: [item 3 of parameter-overrides] do not exist in the template") {
			t.Errorf("update %v: error = %v", update, err)
		}
		want := "Parameters given: item 1 of parameter-overrides, item 2 of parameter-overrides, item 3 of parameter-overrides (names neither"
		if update {
			want = "Parameters given: Env, DbPassword, item 3 of parameter-overrides (names neither"
		}
		if !strings.Contains(e.log.text(), want) {
			t.Errorf("update %v: want %q in the log:\n%s", update, want, e.log.text())
		}
	}
}
