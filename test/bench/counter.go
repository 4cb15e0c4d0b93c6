package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// awsCounter is a reverse proxy on 127.0.0.1 in front of moto that counts
// the AWS calls passing through it by service and action, since moto's own
// log names neither. Every tool in item 6 talks to moto through it, so each
// pays the same sub-millisecond hop.
type awsCounter struct {
	url  string
	srv  *http.Server
	done chan struct{}

	mu     sync.Mutex
	counts map[string]int // "service action"
	errors map[string]int // "service action": calls answered with a status ≥ 400
}

// maxCountedBody bounds how much of a request body the counter buffers.
const maxCountedBody = 16 << 20

func startCounter(target string) (*awsCounter, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &awsCounter{url: "http://" + ln.Addr().String(), counts: map[string]int{}, errors: map[string]int{}, done: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(u)
	c.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxCountedBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		service, action := classify(r, body)
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(rw, r)
		c.mu.Lock()
		c.counts[service+" "+action]++
		if rw.status >= 400 {
			c.errors[service+" "+action]++
		}
		c.mu.Unlock()
	})}
	go func() {
		defer close(c.done)
		c.srv.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Close
	}()
	return c, nil
}

// URL is the endpoint to give the tools (AWS_ENDPOINT_URL).
func (c *awsCounter) URL() string { return c.url }

func (c *awsCounter) Close() {
	c.srv.Close()
	<-c.done
}

// statusWriter remembers the status the proxy answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// snapshot copies the counts, to diff against later; failed calls are
// counted again under "service action!".
func (c *awsCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.counts)+len(c.errors))
	for k, v := range c.counts {
		out[k] = v
	}
	for k, v := range c.errors {
		out[k+"!"] = v
	}
	return out
}

// since describes the calls to service made after before was taken:
// "3 (GetCallerIdentity×2, AssumeRole×1)"; calls answered with an error
// status are marked: "ExecuteChangeSet×2 (1 failed)".
func (c *awsCounter) since(before map[string]int, service string) string {
	now := c.snapshot()
	total := 0
	by, failed := map[string]int{}, map[string]int{}
	for k, v := range now {
		svc, action, _ := strings.Cut(k, " ")
		if svc != service || v-before[k] == 0 {
			continue
		}
		if a, ok := strings.CutSuffix(action, "!"); ok {
			failed[a] = v - before[k]
			continue
		}
		by[action] = v - before[k]
		total += v - before[k]
	}
	actions := make([]string, 0, len(by))
	for a := range by {
		actions = append(actions, a)
	}
	slices.SortFunc(actions, func(x, y string) int {
		if d := by[y] - by[x]; d != 0 {
			return d
		}
		return strings.Compare(x, y)
	})
	parts := make([]string, len(actions))
	for i, a := range actions {
		parts[i] = fmt.Sprintf("%s×%d", a, by[a])
		if failed[a] > 0 {
			parts[i] += fmt.Sprintf(" (%d failed)", failed[a])
		}
	}
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

// stsVersion is the API version in every STS query-protocol request; it
// names the service of unsigned calls (AssumeRoleWithWebIdentity).
const stsVersion = "2011-06-15"

// classify names a request's service (from the SigV4 credential scope, or the
// API version for unsigned STS calls) and action (the query or form Action, or
// the JSON protocol's X-Amz-Target).
func classify(r *http.Request, body []byte) (service, action string) {
	service, action = "unknown", r.Method+" "+r.URL.Path
	form := r.URL.Query()
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if f, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range f {
				form[k] = v
			}
		}
	}
	if a := form.Get("Action"); a != "" {
		action = a
	} else if t := r.Header.Get("X-Amz-Target"); t != "" {
		_, action, _ = strings.Cut(t, ".")
	}
	if _, scope, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		// AKID/date/region/service/aws4_request
		if parts := strings.Split(strings.SplitN(scope, ",", 2)[0], "/"); len(parts) >= 5 {
			return parts[3], action
		}
	}
	if form.Get("Version") == stsVersion {
		service = "sts"
	}
	return service, action
}
