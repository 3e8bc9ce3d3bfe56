package stargate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// This file holds the few admin REST calls that Consumer.Seek and
// ReaderOptions.StartTime need. They live here, on the standard library,
// rather than in package admin because admin imports this package: the
// root package cannot import it back. Package admin is the full client.

// RESTError reports that the broker's admin REST API refused a call made
// for Consumer.Seek, Consumer.SeekTime or a Reader's StartTime. It matches
// the sentinel for its status as *ConnectError does: ErrBadRequest,
// ErrUnauthorized, ErrForbidden, ErrTopicNotFound (404, for a missing
// topic or subscription), ErrBusy (409), ErrTooManyRequests or ErrServer.
type RESTError struct {
	Op         string // the operation, e.g. "Seek"
	Path       string // the request path, e.g. "/admin/v2/persistent/public/default/t/subscription/s/resetcursor"
	StatusCode int    // the HTTP status
	Message    string // the server's reason, from the response body
}

// Error gives the operation, the path, the status and the server's reason.
func (e *RESTError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return "stargate: " + e.Op + ": " + e.Path + ": " + strconv.Itoa(e.StatusCode) + " " + msg
}

// Is matches the sentinel for the status code.
func (e *RESTError) Is(target error) bool {
	return (&ConnectError{StatusCode: e.StatusCode}).Is(target)
}

// maxRESTRedirects bounds the 307 redirects one call follows: a broker
// redirects to the broker that owns the topic.
const maxRESTRedirects = 5

// newRESTClient returns the HTTP client of the admin calls: the client's
// TLS settings, proxy and dialer, no redirects followed by net/http (rest
// follows them itself, keeping the credentials) and no idle connections
// kept, so that nothing outlives a call (the calls are rare, and a Client
// owns no goroutine).
func (c *Client) newRESTClient() *http.Client {
	t := &http.Transport{
		Proxy:             c.proxy(),
		TLSClientConfig:   c.tls.Clone(),
		DisableKeepAlives: true,
		ForceAttemptHTTP2: false,
	}
	if c.opts.NetDialContext != nil {
		t.DialContext = c.opts.NetDialContext
	} else {
		t.DialContext = (&net.Dialer{}).DialContext
	}
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// rest runs one admin call: method on path ("/admin/v2/…", escaped) at the
// service URLs in turn (ws becomes http, wss https), moving on only when
// no answer came. body, if not nil, is sent as JSON; a JSON answer is
// decoded into out, if not nil. The token goes in the Authorization header
// (the admin API does not read it from the query, whatever
// ClientOptions.TokenInQuery says), with ClientOptions.Header.
func (c *Client) rest(ctx context.Context, op, method, path string, body, out any) error {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return err
		}
	}
	tok, err := c.token(ctx)
	if err != nil {
		return err
	}
	var lastErr error
	for _, base := range c.urls {
		u := *base
		u.Scheme = map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
		target := u.String() + path
		ans, err := c.restFollow(ctx, op, method, target, data, tok)
		if err == nil {
			if out == nil || len(bytes.TrimSpace(ans)) == 0 {
				return nil
			}
			if err := json.Unmarshal(ans, out); err != nil {
				return fmt.Errorf("stargate: %s: decoding the answer: %w", op, err)
			}
			return nil
		}
		if _, refused := errors.AsType[*RESTError](err); refused || ctx.Err() != nil {
			return err
		}
		lastErr = err
	}
	return lastErr
}

// restFollow sends one request and follows 307 and 308 redirects to the
// broker the server names, resending the body and the credentials (which
// net/http would drop on a redirect to another host); never from https to
// http.
func (c *Client) restFollow(ctx context.Context, op, method, target string, body []byte, tok string) ([]byte, error) {
	for hops := 0; ; hops++ {
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
		req.Header.Set("Accept", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := c.restHTTP.Do(req)
		if err != nil {
			return nil, fmt.Errorf("stargate: %s: %w", op, c.redact(err, tok))
		}
		ans, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("stargate: %s: %w", op, err)
		}
		code := resp.StatusCode
		if code/100 == 2 {
			return ans, nil
		}
		rerr := &RESTError{Op: op, Path: req.URL.EscapedPath(), StatusCode: code, Message: restReason(ans)}
		if code != http.StatusTemporaryRedirect && code != http.StatusPermanentRedirect {
			return nil, rerr
		}
		next, err := req.URL.Parse(resp.Header.Get("Location"))
		switch {
		case err != nil || resp.Header.Get("Location") == "" || next.Scheme != "http" && next.Scheme != "https":
			rerr.Message = "redirect not followed: bad Location"
			return nil, rerr
		case req.URL.Scheme == "https" && next.Scheme == "http":
			rerr.Message = "redirect not followed: from https to http"
			return nil, rerr
		case hops >= maxRESTRedirects:
			rerr.Message = "redirect not followed: too many redirects"
			return nil, rerr
		}
		target = next.String()
	}
}

// redact hides a token that a lower layer put in an error text.
func (c *Client) redact(err error, tok string) error {
	if tok != "" && strings.Contains(err.Error(), tok) {
		return &redactedError{msg: strings.ReplaceAll(err.Error(), tok, "REDACTED"), err: err}
	}
	return err
}

// restReason is the server's reason in an error answer: the "reason"
// field of Pulsar's JSON, or the body's start.
func restReason(body []byte) string {
	var r struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(body, &r) == nil && r.Reason != "" {
		return r.Reason
	}
	return truncate(bytes.TrimSpace(body))
}

// restID is a message ID in the admin API's JSON.
type restID struct {
	LedgerID   int64  `json:"ledgerId"`
	EntryID    int64  `json:"entryId"`
	Partition  *int32 `json:"partitionIndex,omitempty"`
	BatchIndex *int32 `json:"batchIndex,omitempty"`
}

// restTopicPath is the admin path of topic t.
func restTopicPath(t Topic) string { return "/admin/v2/" + t.path() }

// restSubPath is the admin path of subscription sub of t. The broker
// decodes a subscription name twice (Pulsar 4.0.8), so it is escaped twice.
func restSubPath(t Topic, sub string) string {
	return restTopicPath(t) + "/subscription/" + escapeName(escapeName(sub))
}
