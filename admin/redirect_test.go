package admin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stargate-go/stargate/admin"
)

// localhost returns u with 127.0.0.1 replaced by localhost: another host
// to net/http, which drops Authorization on a redirect to it.
func localhost(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) }

func TestRedirectKeepsCredentialsMethodAndBody(t *testing.T) {
	t.Parallel()
	owner := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	front := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, localhost(owner.URL)+r.URL.RequestURI()+"?authoritative=true", http.StatusTemporaryRedirect)
	})
	c := newClient(t, front.URL, &admin.Options{Token: "tok"})
	if err := c.CreatePartitionedTopic(context.Background(), "t/ns/a+b", 3); err != nil {
		t.Fatal(err)
	}
	got := owner.requests()
	if len(got) != 1 {
		t.Fatalf("owner got %d requests", len(got))
	}
	want := recordedReq("PUT", "/admin/v2/persistent/t/ns/a%2Bb/partitions", "authoritative=true", "Bearer tok", "3")
	if got[0] != want {
		t.Errorf("owner got %+v, want %+v", got[0], want)
	}
}

func recordedReq(method, path, query, auth, body string) recorded {
	return recorded{Method: method, Path: path, Query: query, Auth: auth, Body: body}
}

func TestRedirectRelativeAndPermanent(t *testing.T) {
	t.Parallel()
	var rec *recorder
	rec = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/moved") {
			w.Header().Set("Location", "/moved"+r.URL.Path)
			w.WriteHeader(http.StatusPermanentRedirect)
			return
		}
		io.WriteString(w, `["a"]`)
	})
	c := newClient(t, rec.URL, &admin.Options{Token: "tok"})
	got, err := c.Tenants(context.Background())
	if err != nil || len(got) != 1 {
		t.Fatalf("Tenants = %v, %v", got, err)
	}
	if r := rec.requests(); len(r) != 2 || r[1].Auth != "Bearer tok" {
		t.Errorf("requests %+v", r)
	}
}

func TestRedirectLoopIsBounded(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
	})
	c := newClient(t, rec.URL, &admin.Options{MaxRedirects: 3})
	_, err := c.Tenants(context.Background())
	e, ok := errors.AsType[*admin.Error](err)
	if !ok || e.StatusCode != http.StatusTemporaryRedirect || !strings.Contains(e.Reason, "more than 3 redirects") {
		t.Fatalf("err = %v", err)
	}
	if n := len(rec.requests()); n != 4 {
		t.Errorf("%d requests, want 4 (the first and 3 redirects)", n)
	}
	none := newClient(t, rec.URL, &admin.Options{MaxRedirects: -1})
	if _, err := none.Tenants(context.Background()); admin.StatusCode(err) != http.StatusTemporaryRedirect {
		t.Errorf("MaxRedirects -1: %v", err)
	}
}

func TestRedirectHTTPSToHTTPRefused(t *testing.T) {
	t.Parallel()
	plain := newRecorder(t, nil)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(tlsSrv.Close)
	c := newClient(t, tlsSrv.URL, &admin.Options{Token: "secret", Transport: tlsSrv.Client().Transport})
	_, err := c.Tenants(context.Background())
	if !strings.Contains(err.Error(), "from https to http") {
		t.Fatalf("err = %v", err)
	}
	if len(plain.requests()) != 0 {
		t.Error("the token went over http")
	}
}
