package gha

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestIDTokenClient_fetch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		status    int
		body      string
		wantToken string
		wantErr   bool
		retryable bool
	}{
		{"ok", 200, `{"value":"eyJ.jwt.sig"}`, "eyJ.jwt.sig", false, false},
		{"empty_value", 200, `{"value":""}`, "", true, false},
		{"not_json", 200, `<html>`, "", true, false},
		{"unauthorized", 401, ``, "", true, false},
		{"server_error", 500, ``, "", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var gotAuth, gotAud, gotVer string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotAuth = r.Header.Get("Authorization")
				gotAud = r.URL.Query().Get("audience")
				gotVer = r.URL.Query().Get("api-version")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			var masked []string
			c := &IDTokenClient{RequestURL: srv.URL + "/token?api-version=2.0", RequestToken: "rt", HTTP: srv.Client(), Mask: func(s string) { masked = append(masked, s) }}
			tok, err := c.Fetch(context.Background(), "sts.amazonaws.com")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tok != tc.wantToken {
				t.Errorf("token = %q", tok)
			}
			if gotAuth != "Bearer rt" || gotAud != "sts.amazonaws.com" || gotVer != "2.0" {
				t.Errorf("request: auth=%q aud=%q api-version=%q", gotAuth, gotAud, gotVer)
			}
			if tc.wantToken != "" && (len(masked) != 1 || masked[0] != tc.wantToken) {
				t.Errorf("masked = %q", masked)
			}
			var se *HTTPStatusError
			if errors.As(err, &se) && se.RetryableError() != tc.retryable {
				t.Errorf("retryable = %v", se.RetryableError())
			}
		})
	}
}

func TestIDTokenClient_missing_permission(t *testing.T) {
	t.Parallel()
	_, err := (&IDTokenClient{}).Fetch(context.Background(), "x")
	if !errors.Is(err, ErrNoIDTokenPermission) {
		t.Fatalf("err = %v", err)
	}
}
