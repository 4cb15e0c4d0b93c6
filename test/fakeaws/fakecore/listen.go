package fakecore

import (
	"fmt"
	"net"
	"net/http"
	"time"
)

// Listen listens on addr, which must be on 127.0.0.1 (default
// "127.0.0.1:0", a free port): a fake that hands out credentials must never
// be reachable off-host.
func Listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("parsing listen address %q: %w", addr, err)
	}
	if host != "127.0.0.1" {
		return nil, fmt.Errorf("listen address %q: only 127.0.0.1 is allowed", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return ln, nil
}

// Server serves one fake over HTTP on 127.0.0.1.
type Server struct {
	// URL is http://127.0.0.1:PORT, without a trailing slash.
	URL string
	// Addr is 127.0.0.1:PORT.
	Addr string
	srv  *http.Server
}

// Serve serves h on addr (see [Listen]) until Close.
func Serve(h http.Handler, addr string) (*Server, error) {
	ln, err := Listen(addr)
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Close
	return s, nil
}

// Close stops the server and drops its connections.
func (s *Server) Close() { s.srv.Close() }
