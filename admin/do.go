package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// request is one admin call: Op and Name identify it in errors; Path is
// the escaped path under the service URL ("/admin/v2/…").
type request struct {
	Op, Name string
	Method   string
	Path     string
	Query    url.Values
	Body     any // JSON-encoded when non-nil
}

// response is a 2xx answer, its body read in full.
type response struct {
	Header http.Header
	Body   []byte
}

// maxBody bounds what one answer may hold (stats of a large namespace,
// a peeked batch).
const maxBody = 256 << 20

// do runs r and decodes a JSON answer into out (when out is non-nil and
// the answer has a body).
func (c *Client) do(ctx context.Context, r request, out any) error {
	resp, err := c.send(ctx, r, "application/json")
	if err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(resp.Body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("admin: %s %s: decoding the answer: %w", r.Op, r.Name, err)
	}
	return nil
}

// send runs r against the service URLs in turn, starting with the last one
// that answered, until one answers. It follows redirects itself (see
// follow). A non-2xx answer is an *Error.
func (c *Client) send(ctx context.Context, r request, accept string) (*response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = json.Marshal(r.Body); err != nil {
			return nil, fmt.Errorf("admin: %s %s: encoding the request: %w", r.Op, r.Name, err)
		}
	}
	if d := c.opts.timeout(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	tok, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	first := int(c.preferred.Load())
	var lastErr error
	for i := range c.urls {
		n := (first + i) % len(c.urls)
		target := c.urls[n].String() + r.Path
		if len(r.Query) > 0 {
			target += "?" + r.Query.Encode()
		}
		resp, err := c.follow(ctx, r, target, body, tok, accept)
		if err == nil || !c.failover(ctx, r.Method, err) {
			if err == nil {
				c.preferred.Store(int32(n))
			}
			return resp, err
		}
		lastErr = err
	}
	return nil, lastErr
}

// failover reports whether the request may go to the next service URL
// after err: when the connection could not be made (nothing was sent), or
// for a read-only request after any transport failure. Never for an
// answer of the server, nor once ctx is done.
func (c *Client) failover(ctx context.Context, method string, err error) bool {
	if ctx.Err() != nil || len(c.urls) < 2 {
		return false
	}
	if _, ok := errors.AsType[*Error](err); ok {
		return false
	}
	var te *transportError
	if !errors.As(err, &te) {
		return false
	}
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
		return true
	}
	return method == http.MethodGet
}

// transportError wraps a failure to get an answer at all.
type transportError struct {
	op, name string
	err      error
}

func (e *transportError) Error() string {
	if e.name == "" {
		return "admin: " + e.op + ": " + e.err.Error()
	}
	return "admin: " + e.op + " " + e.name + ": " + e.err.Error()
}

func (e *transportError) Unwrap() error { return e.err }

// follow sends the request to target and follows 307 and 308 redirects,
// at most Options.MaxRedirects of them, resending the method, the body and
// the credentials to the URL the server named. net/http would drop the
// Authorization header on a redirect to another host, and brokers answer
// with the address of the broker that owns the topic, which is another
// host. A redirect from https to http is refused: the credentials would
// travel in clear.
func (c *Client) follow(ctx context.Context, r request, target string, body []byte, tok, accept string) (*response, error) {
	for hops := 0; ; hops++ {
		req, err := c.newRequest(ctx, r.Method, target, body, tok, accept)
		if err != nil {
			return nil, &transportError{r.Op, r.Name, err}
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, &transportError{r.Op, r.Name, err}
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if err != nil {
			return nil, &transportError{r.Op, r.Name, err}
		}
		if len(data) > maxBody {
			return nil, &transportError{r.Op, r.Name, fmt.Errorf("answer larger than %d bytes", maxBody)}
		}
		switch code := resp.StatusCode; {
		case code/100 == 2:
			return &response{Header: resp.Header, Body: data}, nil
		case code != http.StatusTemporaryRedirect && code != http.StatusPermanentRedirect:
			return nil, &Error{Op: r.Op, Name: r.Name, StatusCode: code, Reason: reason(resp.Status, data)}
		}
		next, why := redirectTarget(req.URL, resp.Header.Get("Location"))
		if why == "" && hops >= c.opts.maxRedirects() {
			why = fmt.Sprintf("more than %d redirects (Options.MaxRedirects)", c.opts.maxRedirects())
		}
		if why != "" {
			return nil, &Error{Op: r.Op, Name: r.Name, StatusCode: resp.StatusCode, Reason: "redirect not followed: " + why}
		}
		target = next
	}
}

// redirectTarget resolves a Location header against the request URL; why
// says why it must not be followed.
func redirectTarget(from *url.URL, location string) (target, why string) {
	if location == "" {
		return "", "no Location header"
	}
	to, err := from.Parse(location)
	if err != nil {
		return "", "bad Location header"
	}
	if to.Scheme != "http" && to.Scheme != "https" {
		return "", "Location is not an http or https URL"
	}
	if from.Scheme == "https" && to.Scheme == "http" {
		return "", "from https to http " + to.Host
	}
	return to.String(), ""
}

func (c *Client) newRequest(ctx context.Context, method, target string, body []byte, tok, accept string) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range c.opts.Header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req, nil
}

// escapeName escapes a topic's local name for one segment of an admin
// path. The broker takes the segment undecoded (JAX-RS @Encoded) and
// decodes it with Java's URLDecoder (%XX, and "+" as a space), so every
// byte but the unreserved ones (letters, digits, "-._~") is sent as %XX.
func escapeName(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '.' || ch == '_' || ch == '~' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}

// escapeSubscription escapes a subscription name for one segment of an
// admin path. Unlike a topic name, the broker decodes it twice: JAX-RS
// decodes the path parameter, then Pulsar decodes it again with
// URLDecoder (Pulsar 4.0.8: "a%2Bb" arrives as "a b", "p%252Bq" as "p+q").
func escapeSubscription(s string) string { return escapeName(escapeName(s)) }
