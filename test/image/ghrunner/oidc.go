package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// oidcRequest is one line of the request log: what the action asked for,
// never the bearer token it sent.
type oidcRequest struct {
	Method     string `json:"method"`
	Audience   string `json:"audience"`
	APIVersion string `json:"api_version"`
	BearerOK   bool   `json:"bearer_ok"`
	Status     int    `json:"status"`
}

// serveOIDC stands in for the runner's ACTIONS_ID_TOKEN_REQUEST_URL: GET with
// "Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>" and &audience=
// answers {"value": "<JWT>"}. The JWT is unsigned-but-well-formed; moto does not
// verify it. It listens on loopback only and prints two lines:
// ACTIONS_ID_TOKEN_REQUEST_URL=... and ACTIONS_ID_TOKEN_REQUEST_TOKEN=...
func serveOIDC(logPath string, stdout io.Writer) error {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	bearer := hex.EncodeToString(secret)
	var mu sync.Mutex
	h := func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		rec := oidcRequest{
			Method:     r.Method,
			Audience:   q.Get("audience"),
			APIVersion: q.Get("api-version"),
			BearerOK:   r.Header.Get("Authorization") == "Bearer "+bearer,
			Status:     http.StatusOK,
		}
		switch {
		case !rec.BearerOK:
			rec.Status = http.StatusUnauthorized
		case r.Method != http.MethodGet:
			rec.Status = http.StatusMethodNotAllowed
		}
		mu.Lock()
		json.NewEncoder(logf).Encode(rec)
		mu.Unlock()
		if rec.Status != http.StatusOK {
			http.Error(w, http.StatusText(rec.Status), rec.Status)
			return
		}
		aud := rec.Audience
		if aud == "" {
			aud = "https://github.com/aws-assume-deploy" // GitHub's default: the owner's URL
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"value": fakeJWT(aud)})
	}
	fmt.Fprintf(stdout, "ACTIONS_ID_TOKEN_REQUEST_URL=http://%s/_apis/idtoken?api-version=2.0\n", ln.Addr())
	fmt.Fprintf(stdout, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=%s\n", bearer)
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	srv := &http.Server{Handler: http.HandlerFunc(h), ReadHeaderTimeout: 5 * time.Second}
	return srv.Serve(ln)
}

// fakeJWT has the shape and claims of a GitHub Actions ID token.
func fakeJWT(aud string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now().Unix()
	sig := make([]byte, 32)
	rand.Read(sig)
	return enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "image-test"}) + "." +
		enc(map[string]any{
			"iss": "https://token.actions.githubusercontent.com",
			"aud": aud,
			"sub": "repo:aws-assume-deploy/aws-assume-deploy:ref:refs/heads/main",
			"iat": now, "nbf": now, "exp": now + 300,
			"repository": "aws-assume-deploy/aws-assume-deploy",
			"ref":        "refs/heads/main",
		}) + "." + base64.RawURLEncoding.EncodeToString(sig)
}
