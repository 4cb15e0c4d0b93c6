package fakeaws

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/aws-assume-deploy/aws-assume-deploy/internal/awsauth"
	"github.com/aws-assume-deploy/aws-assume-deploy/internal/gha"
)

// The product reaches the fakes through these interfaces; the real clients
// the tests point at the fakes must keep satisfying them, so the fakes'
// tests exercise what the product calls.
var (
	_ awsauth.STSAPI      = (*sts.Client)(nil)
	_ awsauth.TokenSource = (*gha.IDTokenClient)(nil)
)

// TestProductTokenClient fetches a token with the product's own client.
func TestProductTokenClient(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var masked []string
	c := &gha.IDTokenClient{RequestURL: s.OIDCRequestURL(), RequestToken: s.OIDCRequestToken(), HTTP: http.DefaultClient,
		Mask: func(v string) { masked = append(masked, v) }}
	tok, err := c.Fetch(context.Background(), oidcAudience)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if _, claims := decodeJWT(t, tok); claims["aud"] != oidcAudience {
		t.Errorf("aud = %v, want %s", claims["aud"], oidcAudience)
	}
	if len(masked) != 1 || masked[0] != tok {
		t.Errorf("the token was not masked before use")
	}
	if c := s.CallsTo("oidc", ActionOIDCToken); len(c) != 1 || c[0].Method != http.MethodGet || c[0].Param("audience") != oidcAudience {
		t.Errorf("recorded calls = %+v", c)
	}
}
