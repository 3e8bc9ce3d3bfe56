package admin_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
)

// Options.Proxy sends the calls through a forward proxy (for http:// a
// proxy sees the absolute URL), as stargate.ClientOptions.Proxy does for
// the WebSocket; NetDialContext opens the connections; stargate.NoProxy
// turns the proxy off.
func TestProxyAndDialer(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Host != "broker.test:8080" || r.URL.Path != "/admin/v2/clusters" {
			http.Error(w, "unexpected "+r.URL.String(), http.StatusBadGateway)
			return
		}
		proxied.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`["standalone"]`))
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	c := newClient(t, "http://broker.test:8080", &admin.Options{Proxy: http.ProxyURL(pu)})
	got, err := c.Clusters(context.Background())
	if err != nil || len(got) != 1 || got[0] != "standalone" || proxied.Load() != 1 {
		t.Fatalf("through the proxy: %v %v (proxied %d)", got, err, proxied.Load())
	}

	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`["direct"]`))
	}))
	defer direct.Close()
	var dials atomic.Int32
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, direct.Listener.Addr().String())
	}
	c = newClient(t, "http://broker.test:8080", &admin.Options{Proxy: stargate.NoProxy, NetDialContext: dial})
	got, err = c.Clusters(context.Background())
	if err != nil || len(got) != 1 || got[0] != "direct" || dials.Load() != 1 || proxied.Load() != 1 {
		t.Fatalf("NoProxy with a dialer: %v %v (dials %d, proxied %d)", got, err, dials.Load(), proxied.Load())
	}
}
