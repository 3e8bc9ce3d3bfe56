// Package oauth2 gets Pulsar tokens from an OAuth 2.0 identity provider
// with the client credentials grant, the way the Pulsar clients' OAuth2
// authentication plugin (the StreamNative flavour) does: an issuer URL whose
// OpenID discovery document names the token endpoint, an audience, and a
// JSON key file holding client_id and client_secret.
//
//	src, err := oauth2.New(oauth2.Config{
//		IssuerURL: "https://auth.example.com",
//		Audience:  "urn:sn:pulsar:my-org:my-instance",
//		KeyFile:   "/etc/pulsar/key.json",
//	})
//	client, err := stargate.NewClient(url, &stargate.ClientOptions{TokenProvider: src.Token})
//
// The token is cached until shortly before it expires and fetched again at
// the next dial after that, so a reconnecting handle always presents a
// valid one. A failed fetch (the provider down, credentials refused) fails
// that dial with an *Error or *KeyFileError, wrapped (errors.As finds
// it); a reconnecting handle retries it with backoff. The
// package uses only the standard library.
package oauth2

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config configures a Source.
type Config struct {
	// IssuerURL is the identity provider's issuer. The token endpoint is
	// read from IssuerURL + "/.well-known/openid-configuration" (its
	// token_endpoint). Empty means the key file's issuer_url.
	IssuerURL string
	// Audience is sent as the audience parameter (an Auth0 extension that
	// StreamNative Cloud and Pulsar's examples use); empty sends none.
	Audience string
	// KeyFile is the path of the JSON key file: {"type":
	// "client_credentials", "client_id": …, "client_secret": …} and
	// optionally "issuer_url" and "scope". It is read at every token fetch,
	// so a rotated key file is picked up. Required.
	KeyFile string
	// Scope is sent as the scope parameter (space-separated scopes); empty
	// means the key file's scope, if any.
	Scope string
	// HTTPClient sends the discovery and token requests. Nil means a client
	// with a 30s timeout that honours HTTPS_PROXY like http.DefaultClient.
	HTTPClient *http.Client
	// ExpiryMargin is how long before its expiry a cached token is
	// replaced, at most a fifth of its lifetime. Zero means 1 minute.
	ExpiryMargin time.Duration
}

// Source fetches and caches tokens. Its Token method is a
// stargate.ClientOptions.TokenProvider. A Source is safe for concurrent
// use; concurrent callers share one fetch.
type Source struct {
	cfg Config
	now func() time.Time

	lock     chan struct{} // one fetch at a time; waiters give up with their ctx
	endpoint string        // token endpoint, once discovered
	tok      string
	refresh  time.Time // when tok must be replaced
}

// New returns a Source for cfg. It checks cfg and does no I/O: the key
// file is read and the provider asked at the first Token call.
func New(cfg Config) (*Source, error) {
	if cfg.KeyFile == "" {
		return nil, errors.New("oauth2: Config.KeyFile is required")
	}
	if cfg.ExpiryMargin < 0 {
		return nil, errors.New("oauth2: Config.ExpiryMargin must not be negative")
	}
	if cfg.ExpiryMargin == 0 {
		cfg.ExpiryMargin = time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Source{cfg: cfg, now: time.Now, lock: make(chan struct{}, 1)}, nil
}

// Token returns a cached token that is not about to expire, or fetches a
// new one with the client credentials grant, bounded by ctx.
func (s *Source) Token(ctx context.Context) (string, error) {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.lock }()
	if s.tok != "" && s.now().Before(s.refresh) {
		return s.tok, nil
	}
	tok, lifetime, err := s.fetch(ctx)
	if err != nil {
		return "", err
	}
	s.tok, s.refresh = tok, s.now() // lifetime unknown: fetch at every dial
	if lifetime > 0 {
		s.refresh = s.refresh.Add(lifetime - min(s.cfg.ExpiryMargin, lifetime/5))
	}
	return tok, nil
}

// keyFile is the JSON credentials file of the Pulsar OAuth2 plugin.
type keyFile struct {
	Type         string `json:"type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	ClientEmail  string `json:"client_email"`
	IssuerURL    string `json:"issuer_url"`
	Scope        string `json:"scope"`
}

// KeyFileError reports a key file that could not be used; it names the
// file and never shows its contents.
type KeyFileError struct {
	Path string // Config.KeyFile
	Err  error  // why: the file system's error, or what is wrong with the JSON
}

// Error names the file and the reason.
func (e *KeyFileError) Error() string { return "oauth2: key file " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *KeyFileError) Unwrap() error { return e.Err }

func (s *Source) readKeyFile() (*keyFile, error) {
	b, err := os.ReadFile(s.cfg.KeyFile)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%s: %w", pe.Op, pe.Err)
		}
		return nil, &KeyFileError{Path: s.cfg.KeyFile, Err: err}
	}
	var k keyFile
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, &KeyFileError{Path: s.cfg.KeyFile, Err: errors.New("not a JSON object with client_id and client_secret")}
	}
	switch {
	case k.Type != "" && k.Type != "client_credentials":
		return nil, &KeyFileError{Path: s.cfg.KeyFile, Err: fmt.Errorf("type %q: want client_credentials", k.Type)}
	case k.ClientID == "" || k.ClientSecret == "":
		return nil, &KeyFileError{Path: s.cfg.KeyFile, Err: errors.New("client_id and client_secret are required")}
	}
	return &k, nil
}

// fetch runs the client credentials grant and returns the access token and
// its lifetime (0 if unknown).
func (s *Source) fetch(ctx context.Context) (string, time.Duration, error) {
	k, err := s.readKeyFile()
	if err != nil {
		return "", 0, err
	}
	endpoint, err := s.tokenEndpoint(ctx, k)
	if err != nil {
		return "", 0, err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {k.ClientID}, "client_secret": {k.ClientSecret}}
	if s.cfg.Audience != "" {
		form.Set("audience", s.cfg.Audience)
	}
	if scope := cmp.Or(s.cfg.Scope, k.Scope); scope != "" {
		form.Set("scope", scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("oauth2: token endpoint %q: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	var tr struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"` // a number, or a string with some providers
	}
	if err := s.do(req, &tr); err != nil {
		return "", 0, err
	}
	if tr.AccessToken == "" {
		return "", 0, &Error{Endpoint: endpoint, StatusCode: http.StatusOK, Description: "the response holds no access_token"}
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return "", 0, &Error{Endpoint: endpoint, StatusCode: http.StatusOK, Description: "token_type " + strconv.Quote(tr.TokenType) + ", want Bearer"}
	}
	return tr.AccessToken, lifetime(tr.ExpiresIn, tr.AccessToken, s.now()), nil
}

// tokenEndpoint discovers (once) the token endpoint from the issuer's
// OpenID configuration.
func (s *Source) tokenEndpoint(ctx context.Context, k *keyFile) (string, error) {
	if s.endpoint != "" {
		return s.endpoint, nil
	}
	issuer := strings.TrimSuffix(cmp.Or(s.cfg.IssuerURL, k.IssuerURL), "/")
	if issuer == "" {
		return "", errors.New("oauth2: no issuer URL: set Config.IssuerURL or issuer_url in the key file")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", fmt.Errorf("oauth2: issuer URL %q: %w", issuer, err)
	}
	req.Header.Set("Accept", "application/json")
	var meta struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := s.do(req, &meta); err != nil {
		return "", err
	}
	if meta.TokenEndpoint == "" {
		return "", &Error{Endpoint: req.URL.String(), StatusCode: http.StatusOK, Description: "the OpenID configuration names no token_endpoint"}
	}
	s.endpoint = meta.TokenEndpoint
	return s.endpoint, nil
}

// Error reports a refusal or an unusable answer from the identity
// provider: the discovery document or the token endpoint.
type Error struct {
	Endpoint    string // the URL asked
	StatusCode  int    // the HTTP status of the answer
	Code        string // the OAuth error code ("invalid_client", …), if the provider sent one
	Description string // the provider's error_description, or what was wrong with the answer
}

// Error names the endpoint and gives the status, code and description.
func (e *Error) Error() string {
	s := "oauth2: " + e.Endpoint + ": " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// do sends req and decodes a JSON 2xx answer into v.
func (s *Source) do(req *http.Request, v any) error {
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("oauth2: %w", err) // *url.Error names the URL
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("oauth2: reading %s: %w", req.URL.Redacted(), err)
	}
	e := &Error{Endpoint: req.URL.Redacted(), StatusCode: resp.StatusCode}
	if resp.StatusCode/100 != 2 {
		var oe struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		if json.Unmarshal(body, &oe) == nil {
			e.Code, e.Description = oe.Error, oe.ErrorDescription
		}
		return e
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "" && ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		e.Description = "answer of type " + ct + ", want application/json"
		return e
	}
	if err := json.Unmarshal(body, v); err != nil {
		e.Description = "bad JSON: " + err.Error()
		return e
	}
	return nil
}

// lifetime is the token's lifetime from expires_in, or else from the
// JWT's exp claim; 0 if neither is known.
func lifetime(expiresIn json.RawMessage, tok string, now time.Time) time.Duration {
	if n, err := strconv.ParseInt(strings.Trim(string(expiresIn), `"`), 10, 64); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return 0
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return 0
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == 0 {
		return 0
	}
	return max(time.Unix(claims.Exp, 0).Sub(now), 0)
}
