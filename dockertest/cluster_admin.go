package dockertest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The admin calls the cluster tests use: who owns a topic, and moving a
// namespace bundle to a chosen broker.

// CreateNamespaceBundles creates "tenant/ns" with n bundles (1: every topic
// of the namespace has one owner, and one bundle unload moves them all).
func (a *Admin) CreateNamespaceBundles(ctx context.Context, namespace string, n int) error {
	if strings.Count(namespace, "/") != 1 {
		return fmt.Errorf("namespace %q: want tenant/ns", namespace)
	}
	body := map[string]any{"bundles": map[string]any{"numBundles": n}}
	err := a.do(ctx, http.MethodPut, "/admin/v2/namespaces/"+namespace, body, nil)
	if IsStatus(err, http.StatusConflict) {
		return nil
	}
	return err
}

// Owner returns the id (127.0.0.1:webport) of the broker that owns topic
// (a lookup: the load manager assigns an unowned bundle first).
func (a *Admin) Owner(ctx context.Context, topic string) (string, error) {
	p, err := topicPath(topic)
	if err != nil {
		return "", err
	}
	var out struct {
		HTTPURL string `json:"httpUrl"`
	}
	if err := a.do(ctx, http.MethodGet, "/lookup/v2/topic/"+p, nil, &out); err != nil {
		return "", err
	}
	u, err := url.Parse(out.HTTPURL)
	if err != nil {
		return "", fmt.Errorf("lookup of %s: httpUrl %q: %v", topic, out.HTTPURL, err)
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
	return a.do(ctx, http.MethodPut, p, nil, nil)
}

// FullBundle is the only bundle of a namespace created with one bundle.
const FullBundle = "0x00000000_0xffffffff"
