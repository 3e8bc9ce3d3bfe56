package stargate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/stargate-go/stargate/internal/wsconn"
)

// NoProxy, as ClientOptions.Proxy, makes every connection go straight to
// the broker whatever HTTPS_PROXY and HTTP_PROXY say.
func NoProxy(*http.Request) (*url.URL, error) { return nil, nil }

// ProxyError reports that the HTTP(S) forward proxy chosen by
// ClientOptions.Proxy could not be used: it could not be reached
// (StatusCode 0, Err holds the cause) or it refused the CONNECT request,
// for example with 407 for missing or wrong proxy credentials, 403 for a
// destination it does not allow (Squid, say, allows CONNECT only to port
// 443 unless configured otherwise), 502 when it could not reach the broker.
// Match it with errors.As.
type ProxyError struct {
	Proxy      string // the proxy URL, its password replaced by "xxxxx"
	StatusCode int    // the proxy's answer to CONNECT; 0 if there was none
	Message    string // the proxy's short reason, from its response body; may be empty
	Err        error  // the transport error when StatusCode is 0
}

// Error names the proxy and gives its status and reason, or the transport
// error.
func (e *ProxyError) Error() string {
	if e.StatusCode == 0 {
		return "stargate: proxy " + e.Proxy + ": " + fmt.Sprint(e.Err)
	}
	s := "stargate: proxy " + e.Proxy + " refused CONNECT: " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns the transport error, if any.
func (e *ProxyError) Unwrap() error { return e.Err }

// temporary reports whether trying again later may succeed (see
// IsRetryable): false for a 4xx refusal (407 proxy credentials, 403 a
// forbidden destination, …) other than 408 and 429, which a reconnecting
// handle therefore does not retry; true for 5xx, 408, 429 and a proxy that
// could not be reached.
func (e *ProxyError) temporary() bool {
	s := e.StatusCode
	return s/100 != 4 || s == http.StatusRequestTimeout || s == http.StatusTooManyRequests
}

// proxy returns the proxy selector for wsconn.
func (c *Client) proxy() func(*http.Request) (*url.URL, error) {
	if c.opts.Proxy == nil {
		return http.ProxyFromEnvironment
	}
	return c.opts.Proxy
}

// proxyError turns a *wsconn.ProxyError in err into a *ProxyError, keeping
// ctx.Err() matchable.
func proxyError(err error) error {
	var pe *wsconn.ProxyError
	if !errors.As(err, &pe) {
		return err
	}
	e := &ProxyError{Proxy: pe.Proxy, StatusCode: pe.StatusCode, Message: pe.Message, Err: pe.Err}
	for _, cerr := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, cerr) && !errors.Is(e, cerr) {
			return fmt.Errorf("%w: %w", cerr, e)
		}
	}
	return e
}

// proxyTerminal reports a proxy refusal that retrying cannot fix.
func proxyTerminal(err error) bool {
	var pe *ProxyError
	return errors.As(err, &pe) && !pe.temporary()
}
