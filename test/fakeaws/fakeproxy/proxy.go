// Package fakeproxy is a recording forward proxy for tests of HTTP_PROXY,
// HTTPS_PROXY and NO_PROXY handling: plain HTTP requests in absolute form and
// CONNECT tunnels for HTTPS, with optional Basic proxy authentication.
//
// It only ever connects to loopback addresses, so a test cannot reach the
// network through it; [Options.Redirect] maps a real host name (such as
// sts.amazonaws.com:443) to a local fake. Go's http.ProxyFromEnvironment never
// proxies requests for localhost or 127.0.0.1, so a test that sets
// HTTPS_PROXY must address the fake by another name and redirect it.
package fakeproxy

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws-assume-deploy/aws-assume-deploy/test/fakeaws/fakecore"
)

var _ http.Handler = (*Proxy)(nil)

// Options configure a [Proxy]. The zero value is an open proxy to loopback.
type Options struct {
	// Username and Password, when Username is set, are required as Basic
	// Proxy-Authorization; other requests get 407.
	Username, Password string
	// Redirect maps a target host:port to the 127.0.0.1 address actually
	// dialled.
	Redirect map[string]string
	// Now stamps recorded calls. Default time.Now.
	Now func() time.Time
	// MaxCalls bounds the call log (default [fakecore.DefaultMaxCalls]).
	MaxCalls int
}

// Proxy is the fake; it is an [http.Handler]. Its embedded
// [fakecore.CallLog] records every request under service "proxy" with the
// method as the action (CONNECT, GET, POST, ...) and the parameters Target
// (host:port as the client asked), Dialled and Authorized.
type Proxy struct {
	*fakecore.CallLog

	opts      Options
	faults    fakecore.Faults
	transport *http.Transport
}

// New returns a proxy.
func New(optFns ...func(*Options)) *Proxy {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	redirect := map[string]string{}
	for k, v := range o.Redirect {
		redirect[strings.ToLower(k)] = v
	}
	o.Redirect = redirect
	p := &Proxy{CallLog: fakecore.NewCallLog(o.MaxCalls), opts: o}
	p.transport = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return p.dial(ctx, addr)
		},
		Proxy:             nil, // never chain to the environment's proxy
		DisableKeepAlives: true,
	}
	return p
}

// Targets lists the host:port of every kept request, in order.
func (p *Proxy) Targets() []string {
	var out []string
	for _, c := range p.Calls() {
		out = append(out, c.Param("Target"))
	}
	return out
}

// InjectFault queues f for the next requests with method action (CONNECT,
// GET, ...) or [fakecore.AnyAction]. A fault's error answer is plain text.
func (p *Proxy) InjectFault(action string, f fakecore.Fault) { p.faults.Inject(action, f) }

// errNotLoopback refuses a target off this host.
var errNotLoopback = errors.New("fakeproxy only connects to loopback addresses")

// resolve maps a target to the address to dial and checks it is loopback.
func (p *Proxy) resolve(ctx context.Context, target string) (string, error) {
	addr := target
	if to, ok := p.opts.Redirect[strings.ToLower(target)]; ok {
		addr = to
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return "", err
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return "", errNotLoopback
		}
	}
	return net.JoinHostPort(ips[0].IP.String(), port), nil
}

func (p *Proxy) dial(ctx context.Context, target string) (net.Conn, error) {
	addr, err := p.resolve(ctx, target)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// ServeHTTP answers one proxied request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Host
	if r.Method != http.MethodConnect {
		target = r.URL.Host
		if r.URL.Port() == "" {
			target = net.JoinHostPort(r.URL.Hostname(), "80")
		}
	}
	rw := &fakecore.StatusRecorder{ResponseWriter: w}
	authorized := p.authorized(r)
	rec := p.Record(fakecore.Call{Service: "proxy", Action: r.Method, Method: r.Method, Time: p.opts.Now(),
		Params: map[string][]string{"Target": {target}, "Authorized": {fmt.Sprint(authorized)}}})
	defer func() { rec.Finish(rw.Status, rw.ErrorCode) }()

	if f, ok := p.faults.Next(r.Method); ok && f.Serve(rw, r, nil, writeError) {
		return
	}
	if !authorized {
		rw.Header().Set("Proxy-Authenticate", `Basic realm="fakeproxy"`)
		writeError(rw, &fakecore.APIError{Status: http.StatusProxyAuthRequired})
		return
	}
	if r.Method != http.MethodConnect && (r.URL.Scheme != "http" || r.URL.Host == "") {
		writeError(rw, &fakecore.APIError{Status: http.StatusBadRequest, Message: "fakeproxy: want an absolute http:// URL or CONNECT"})
		return
	}
	dialled, err := p.resolve(r.Context(), target)
	if err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, errNotLoopback) {
			status = http.StatusForbidden
		}
		writeError(rw, &fakecore.APIError{Status: status, Message: "fakeproxy: " + err.Error()})
		return
	}
	rec.SetParams("Dialled", dialled)
	if r.Method == http.MethodConnect {
		p.tunnel(rw, target)
		return
	}
	p.forward(rw, r)
}

func (p *Proxy) authorized(r *http.Request) bool {
	if p.opts.Username == "" {
		return true
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.opts.Username+":"+p.opts.Password))
	return r.Header.Get("Proxy-Authorization") == want
}

// hopHeaders are not forwarded (RFC 9110 §7.6.1), nor are proxy credentials.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		writeError(w, &fakecore.APIError{Status: http.StatusBadGateway, Message: "fakeproxy: " + err.Error()})
		return
	}
	defer resp.Body.Close()
	for _, h := range hopHeaders {
		resp.Header.Del(h)
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body) //nolint:errcheck // either side gone
}

func (p *Proxy) tunnel(w *fakecore.StatusRecorder, target string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	upstream, err := p.dial(ctx, target)
	cancel()
	if err != nil {
		writeError(w, &fakecore.APIError{Status: http.StatusBadGateway, Message: "fakeproxy: " + err.Error()})
		return
	}
	// The status line goes out by hand after the hijack; record it here.
	w.Status = http.StatusOK
	client, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		client.Close()
		upstream.Close()
		return
	}
	go func() {
		// Bytes the client sent after CONNECT may already sit in buf.
		io.Copy(upstream, io.MultiReader(buf.Reader, client)) //nolint:errcheck // either side gone
		closeWrite(upstream)
	}()
	go func() {
		io.Copy(client, upstream) //nolint:errcheck // either side gone
		closeWrite(client)
	}()
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite() //nolint:errcheck // best effort
		return
	}
	c.Close()
}

func writeError(w http.ResponseWriter, e *fakecore.APIError) {
	fakecore.NoteError(w, fmt.Sprint(e.Status))
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(e.Status)
	fmt.Fprintln(w, msg)
}
