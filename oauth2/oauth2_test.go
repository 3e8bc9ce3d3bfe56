package oauth2

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// issuer is a fake identity provider: discovery plus a token endpoint that
// checks the client credentials form.
type issuer struct {
	*httptest.Server
	mu        sync.Mutex
	forms     []url.Values
	expiresIn int
	reply     func(w http.ResponseWriter) bool // overrides the answer when it returns true
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{expiresIn: 3600}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"token_endpoint":%q}`, is.URL, is.URL+"/oauth/token")
	})
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad content type", http.StatusBadRequest)
			return
		}
		_ = r.ParseForm()
		is.mu.Lock()
		is.forms = append(is.forms, r.PostForm)
		n, exp, reply := len(is.forms), is.expiresIn, is.reply
		is.mu.Unlock()
		if reply != nil && reply(w) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("client_secret") != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"Unknown client"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":"token-%d","token_type":"Bearer","expires_in":%d}`, n, exp)
	})
	is.Server = httptest.NewServer(mux)
	t.Cleanup(is.Close)
	return is
}

func (is *issuer) fetches() []url.Values {
	is.mu.Lock()
	defer is.mu.Unlock()
	return append([]url.Values(nil), is.forms...)
}

func keyFileFor(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodKey = `{"type":"client_credentials","client_id":"my-app","client_secret":"s3cret","client_email":"my-app@example.com","scope":"from-file"}`

func TestRequestFormAndCache(t *testing.T) {
	is := newIssuer(t)
	src, err := New(Config{IssuerURL: is.URL + "/", Audience: "urn:sn:pulsar:o:i", KeyFile: keyFileFor(t, goodKey)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if tok, err := src.Token(ctx); err != nil || tok != "token-1" {
			t.Fatalf("Token = %q, %v", tok, err)
		}
	}
	f := is.fetches()
	if len(f) != 1 {
		t.Fatalf("%d fetches, want 1 (cached)", len(f))
	}
	want := url.Values{"grant_type": {"client_credentials"}, "client_id": {"my-app"}, "client_secret": {"s3cret"},
		"audience": {"urn:sn:pulsar:o:i"}, "scope": {"from-file"}}
	if fmt.Sprint(f[0]) != fmt.Sprint(want) {
		t.Errorf("form %v, want %v", f[0], want)
	}
}

func TestRefreshBeforeExpiry(t *testing.T) {
	is := newIssuer(t)
	src, _ := New(Config{IssuerURL: is.URL, KeyFile: keyFileFor(t, goodKey), Scope: "override"})
	now := time.Unix(1_000_000, 0)
	src.now = func() time.Time { return now }
	ctx := context.Background()
	tok, _ := src.Token(ctx)
	if tok != "token-1" || is.fetches()[0].Get("scope") != "override" || is.fetches()[0].Has("audience") {
		t.Fatalf("first: %q, form %v", tok, is.fetches()[0])
	}
	now = now.Add(58*time.Minute + 59*time.Second) // a minute and a second before expiry
	if tok, _ := src.Token(ctx); tok != "token-1" {
		t.Errorf("before the margin: %q", tok)
	}
	now = now.Add(2 * time.Second) // inside the one-minute margin
	if tok, _ := src.Token(ctx); tok != "token-2" {
		t.Errorf("inside the margin: %q, want a new token", tok)
	}

	// A short lifetime: the margin is a fifth of it.
	is.mu.Lock()
	is.expiresIn = 10
	is.mu.Unlock()
	now = now.Add(time.Hour)
	if tok, _ := src.Token(ctx); tok != "token-3" {
		t.Fatalf("after expiry: %q", tok)
	}
	now = now.Add(7 * time.Second)
	if tok, _ := src.Token(ctx); tok != "token-3" {
		t.Errorf("at 7s of 10s: %q", tok)
	}
	now = now.Add(1500 * time.Millisecond)
	if tok, _ := src.Token(ctx); tok != "token-4" {
		t.Errorf("at 8.5s of 10s: %q, want a new token", tok)
	}
}

func TestLifetimeFromJWT(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	jwt := func(claims string) string {
		return "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".sig"
	}
	for _, tc := range []struct {
		expiresIn string
		tok       string
		want      time.Duration
	}{
		{"300", "opaque", 5 * time.Minute},
		{`"300"`, "opaque", 5 * time.Minute},
		{"", jwt(`{"sub":"a","exp":1000600}`), 10 * time.Minute},
		{"", jwt(`{"sub":"a"}`), 0},
		{"", "opaque", 0},
		{"", jwt(`{"exp":999000}`), 0},
	} {
		if got := lifetime(json.RawMessage(tc.expiresIn), tc.tok, now); got != tc.want {
			t.Errorf("lifetime(%s, %s) = %v, want %v", tc.expiresIn, tc.tok, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	is := newIssuer(t)
	ctx := context.Background()

	src, _ := New(Config{IssuerURL: is.URL, KeyFile: keyFileFor(t, `{"client_id":"my-app","client_secret":"wrong-secret-77"}`)})
	_, err := src.Token(ctx)
	var oe *Error
	if !errors.As(err, &oe) || oe.StatusCode != 401 || oe.Code != "invalid_client" || oe.Description != "Unknown client" {
		t.Fatalf("wrong secret: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-77") || !strings.Contains(err.Error(), "/oauth/token") {
		t.Errorf("error %q: want the endpoint, not the secret", err)
	}

	missing := filepath.Join(t.TempDir(), "nope.json")
	src, _ = New(Config{IssuerURL: is.URL, KeyFile: missing})
	_, err = src.Token(ctx)
	var ke *KeyFileError
	if !errors.As(err, &ke) || ke.Path != missing || !errors.Is(err, fs.ErrNotExist) || strings.Count(err.Error(), missing) != 1 {
		t.Errorf("missing key file: %v", err)
	}
	for content, why := range map[string]string{
		`not json s3cret`:   "not a JSON object",
		`{"client_id":"a"}`: "client_secret are required",
		`{"type":"jwt","client_id":"a","client_secret":"b"}`: "want client_credentials",
	} {
		src, _ = New(Config{IssuerURL: is.URL, KeyFile: keyFileFor(t, content)})
		_, err = src.Token(ctx)
		if !errors.As(err, &ke) || !strings.Contains(err.Error(), why) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v", content, err)
		}
	}

	src, _ = New(Config{KeyFile: keyFileFor(t, goodKey)})
	if _, err = src.Token(ctx); err == nil || !strings.Contains(err.Error(), "issuer") {
		t.Errorf("no issuer: %v", err)
	}
	src, _ = New(Config{KeyFile: keyFileFor(t, `{"client_id":"my-app","client_secret":"s3cret","issuer_url":"`+is.URL+`"}`)})
	if tok, err := src.Token(ctx); err != nil || tok == "" {
		t.Errorf("issuer_url from the key file: %q, %v", tok, err)
	}

	src, _ = New(Config{IssuerURL: is.URL + "/nothing-here", KeyFile: keyFileFor(t, goodKey)})
	if _, err = src.Token(ctx); !errors.As(err, &oe) || oe.StatusCode != 404 || !strings.Contains(oe.Endpoint, "openid-configuration") {
		t.Errorf("no discovery document: %v", err)
	}

	is.mu.Lock()
	is.reply = func(w http.ResponseWriter) bool {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"token_type":"Bearer"}`)
		return true
	}
	is.mu.Unlock()
	src, _ = New(Config{IssuerURL: is.URL, KeyFile: keyFileFor(t, goodKey)})
	if _, err = src.Token(ctx); !errors.As(err, &oe) || !strings.Contains(err.Error(), "no access_token") {
		t.Errorf("no access_token: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err = src.Token(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}

	if _, err := New(Config{}); err == nil {
		t.Error("New without KeyFile succeeded")
	}
}

// Concurrent dials share one fetch; a caller whose ctx ends while another
// fetches gives up without waiting.
func TestConcurrentCallersShareAFetch(t *testing.T) {
	is := newIssuer(t)
	release := make(chan struct{})
	is.mu.Lock()
	is.reply = func(http.ResponseWriter) bool { <-release; return false }
	is.mu.Unlock()
	src, _ := New(Config{IssuerURL: is.URL, KeyFile: keyFileFor(t, goodKey)})
	var wg sync.WaitGroup
	toks := make([]string, 8)
	for i := range toks {
		wg.Go(func() { toks[i], _ = src.Token(context.Background()) })
	}
	for len(is.fetches()) == 0 { // a fetch has started and holds the lock
		time.Sleep(time.Millisecond)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := src.Token(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting caller with a short ctx: %v", err)
	}
	close(release)
	wg.Wait()
	for i, tok := range toks {
		if tok != "token-1" {
			t.Errorf("caller %d got %q", i, tok)
		}
	}
	if n := len(is.fetches()); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}
