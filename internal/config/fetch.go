package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// fetchTimeout bounds fetching an https parameter file.
const fetchTimeout = 30 * time.Second

// fetch reads an https parameter file, at most MaxFileSize bytes, through
// http-proxy (or the environment's proxy). It runs only when every other
// input is valid, so a step with a mistake makes no request at all. Errors
// never show the URL's query: a presigned URL carries a session token.
func (l *loader) fetch(ctx context.Context, raw string) ([]byte, error) {
	if len(l.p.errs) > 0 {
		return nil, errors.New("not fetched, because of the other problems with the inputs; fix those first")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, errors.New("not a valid https URL without credentials in it")
	}
	client := l.o.HTTPClient
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = http.ProxyFromEnvironment
		if l.plan.Proxy != nil {
			tr.Proxy = http.ProxyURL(l.plan.Proxy)
		}
		client = &http.Client{Transport: tr}
	}
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" || len(via) >= 5 {
			return errors.New("redirected to a non-https URL or too often")
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, errors.New("not a valid https URL")
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL
		}
		return nil, fmt.Errorf("fetching it failed: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the server answered HTTP %d: the URL must be readable without AWS credentials (a public object, or a presigned URL)", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer failed: %v", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("it is over the %d-byte limit for parameter files", MaxFileSize)
	}
	return data, nil
}
