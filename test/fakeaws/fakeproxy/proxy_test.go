package fakeproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws"
	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

// backend echoes what reached it.
func backend(t *testing.T, tlsOn bool) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Proxy-Authorization", r.Header.Get("Proxy-Authorization"))
		io.WriteString(w, "hello from "+r.Host+r.URL.Path) //nolint:errcheck
	})
	var srv *httptest.Server
	if tlsOn {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv
}

func startProxy(t *testing.T, optFns ...func(*Options)) (*Proxy, *url.URL) {
	t.Helper()
	p := New(optFns...)
	srv, err := fakecore.Serve(p, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return p, u
}

func client(proxy *url.URL, roots *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:             http.ProxyURL(proxy),
		TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: "example.com"},
		DisableKeepAlives: true,
	}}
}

func get(t *testing.T, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestForwardHTTP(t *testing.T) {
	t.Parallel()
	be := backend(t, false)
	p, pu := startProxy(t)
	status, body, hdr := get(t, client(pu, nil), be.URL+"/path")
	if status != 200 || body != "hello from "+strings.TrimPrefix(be.URL, "http://")+"/path" {
		t.Fatalf("got %d %q", status, body)
	}
	if hdr.Get("X-Seen-Proxy-Authorization") != "" {
		t.Error("the proxy forwarded Proxy-Authorization")
	}
	calls := p.Calls()
	if len(calls) != 1 || calls[0].Action != "GET" || calls[0].Param("Target") != strings.TrimPrefix(be.URL, "http://") || calls[0].Status != 200 {
		t.Errorf("calls = %+v", calls)
	}
}

func TestConnectTunnelWithRedirect(t *testing.T) {
	t.Parallel()
	be := backend(t, true)
	roots := x509.NewCertPool()
	roots.AddCert(be.Certificate())
	p, pu := startProxy(t, func(o *Options) {
		o.Redirect = map[string]string{"example.com:443": strings.TrimPrefix(be.URL, "https://")}
	})
	status, body, _ := get(t, client(pu, roots), "https://example.com/tls")
	if status != 200 || body != "hello from example.com/tls" {
		t.Fatalf("got %d %q", status, body)
	}
	if diff := cmp.Diff([]string{"example.com:443"}, p.Targets()); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	c := p.CallsTo("proxy", "CONNECT")
	if len(c) != 1 || c[0].Param("Dialled") != strings.TrimPrefix(be.URL, "https://") || c[0].Status != 200 {
		t.Errorf("CONNECT calls = %+v", c)
	}
}

func TestBasicProxyAuth(t *testing.T) {
	t.Parallel()
	plain, secure := backend(t, false), backend(t, true)
	roots := x509.NewCertPool()
	roots.AddCert(secure.Certificate())
	p, pu := startProxy(t, func(o *Options) {
		o.Username, o.Password = "ci", "s3cret"
		o.Redirect = map[string]string{"example.com:443": strings.TrimPrefix(secure.URL, "https://")}
	})
	withAuth := func(user *url.Userinfo) *url.URL { u := *pu; u.User = user; return &u }
	tests := []struct {
		name   string
		proxy  *url.URL
		target string
		ok     bool
	}{
		{"http_no_credentials", pu, plain.URL, false},
		{"http_wrong_password", withAuth(url.UserPassword("ci", "nope")), plain.URL, false},
		{"http_right_credentials", withAuth(url.UserPassword("ci", "s3cret")), plain.URL, true},
		{"connect_no_credentials", pu, "https://example.com/", false},
		{"connect_right_credentials", withAuth(url.UserPassword("ci", "s3cret")), "https://example.com/", true},
	}
	for _, tc := range tests {
		status, body, hdr := get(t, client(tc.proxy, roots), tc.target)
		switch {
		case tc.ok && status != 200:
			t.Errorf("%s: %d %s", tc.name, status, body)
		case !tc.ok && strings.HasPrefix(tc.name, "http") && (status != http.StatusProxyAuthRequired || hdr.Get("Proxy-Authenticate") != `Basic realm="fakeproxy"`):
			t.Errorf("%s: %d %v, want 407 with a Basic challenge", tc.name, status, hdr)
		case !tc.ok && strings.HasPrefix(tc.name, "connect") && !strings.Contains(body, "Proxy Authentication Required"):
			t.Errorf("%s: %d %s, want the tunnel refused with 407", tc.name, status, body)
		}
	}
	var authorized []string
	for _, c := range p.Calls() {
		authorized = append(authorized, c.Param("Authorized"))
	}
	if diff := cmp.Diff([]string{"false", "false", "true", "false", "true"}, authorized); diff != "" {
		t.Errorf("recorded authorization (-want +got):\n%s", diff)
	}
}

func TestRefusesNonLoopbackTargets(t *testing.T) {
	t.Parallel()
	p, pu := startProxy(t)
	// 192.0.2.0/24 is TEST-NET-1; the proxy refuses before dialling.
	status, _, _ := get(t, client(pu, nil), "http://192.0.2.1/")
	if status != http.StatusForbidden {
		t.Errorf("GET off-host: %d, want 403", status)
	}
	_, body, _ := get(t, client(pu, nil), "https://192.0.2.1/")
	if !strings.Contains(body, "Forbidden") {
		t.Errorf("CONNECT off-host: %s, want the tunnel refused", body)
	}
	for _, c := range p.Calls() {
		if c.Status != http.StatusForbidden || c.Param("Dialled") != "" {
			t.Errorf("call %+v, want refused and never dialled", c)
		}
	}
}

// TestSDKThroughProxy sends an unmodified SDK call through the proxy.
func TestSDKThroughProxy(t *testing.T) {
	t.Parallel()
	fake := fakeaws.New()
	t.Cleanup(fake.Close)
	fake.AddUser("ci", "AKIAFAKEPROXYTEST001", "proxySecret0000000000000000000000000000000")
	p, pu := startProxy(t)
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.Proxy = http.ProxyURL(pu) })
	client := sts.New(sts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(fake.URL()), HTTPClient: httpClient,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAFAKEPROXYTEST001", "proxySecret0000000000000000000000000000000", ""),
	})
	out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity through the proxy: %v", err)
	}
	if aws.ToString(out.Arn) != fake.UserARN("ci") {
		t.Errorf("Arn = %s", aws.ToString(out.Arn))
	}
	if diff := cmp.Diff([]string{strings.TrimPrefix(fake.URL(), "http://")}, p.Targets()); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}
