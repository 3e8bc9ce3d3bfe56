package dockertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The admin calls the cluster tests use: who owns a topic, and moving a
// namespace bundle to a chosen broker. Package admin has no calls for
// broker readiness, bundle counts or unloads to a destination broker, so
// these few go through raw, a plain JSON request.

// raw sends one admin REST request with a's base URL and token and decodes
// a 2xx answer into out (a *string takes the body as text). A refusal is an
// *HTTPError.
func (a *Admin) raw(ctx context.Context, hc *http.Client, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.BaseURL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	if hc == nil {
		hc = readyClient()
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &HTTPError{Method: method, Path: path, StatusCode: resp.StatusCode, Body: string(b)}
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *string:
		*o = string(b)
		return nil
	default:
		return json.Unmarshal(b, out)
	}
}

// CreateNamespaceBundles creates "tenant/ns" with n bundles (1: every topic
// of the namespace has one owner, and one bundle unload moves them all).
func (a *Admin) CreateNamespaceBundles(ctx context.Context, namespace string, n int) error {
	if strings.Count(namespace, "/") != 1 {
		return fmt.Errorf("namespace %q: want tenant/ns", namespace)
	}
	body := map[string]any{"bundles": map[string]any{"numBundles": n}}
	err := a.raw(ctx, nil, http.MethodPut, "/admin/v2/namespaces/"+namespace, body, nil)
	if IsStatus(err, http.StatusConflict) {
		return nil
	}
	return err
}

// Owner returns the id (127.0.0.1:webport) of the broker that owns topic
// (a lookup: the load manager assigns an unowned bundle first).
func (a *Admin) Owner(ctx context.Context, topic string) (string, error) {
	l, err := a.c.LookupTopic(ctx, topic)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(l.HTTPURL)
	if err != nil {
		return "", fmt.Errorf("lookup of %s: httpUrl %q: %v", topic, l.HTTPURL, err)
	}
	return u.Host, nil
}

// UnloadBundle unloads bundle ("0x00000000_0xffffffff") of namespace; with
// destination (a broker id) non-empty, the load manager assigns it to that
// broker next.
func (a *Admin) UnloadBundle(ctx context.Context, namespace, bundle, destination string) error {
	p := "/admin/v2/namespaces/" + namespace + "/" + bundle + "/unload"
	if destination != "" {
		p += "?destinationBroker=" + url.QueryEscape(destination)
	}
	return a.raw(ctx, nil, http.MethodPut, p, nil, nil)
}

// FullBundle is the only bundle of a namespace created with one bundle.
const FullBundle = "0x00000000_0xffffffff"
