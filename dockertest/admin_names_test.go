package dockertest_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stargate-go/stargate/dockertest"
)

func TestEscapeName(t *testing.T) {
	for _, s := range []string{"orders:v1+x", "a b", "%", "%2B", "é😀", "a/b", "!*'();:@&=+$,?#[]", "-._~"} {
		e := dockertest.EscapeName(s)
		// The broker decodes with Java's URLDecoder, which url.QueryUnescape
		// mirrors; the escaped form must also be a valid URL path segment.
		if back, err := url.QueryUnescape(e); err != nil || back != s {
			t.Errorf("EscapeName(%q) = %s, decoded as %q (%v)", s, e, back, err)
		}
		// net/url must send the escaped form unchanged.
		if u, err := url.Parse("http://h/" + e); err != nil || u.EscapedPath() != "/"+e || u.Path != "/"+s {
			t.Errorf("EscapeName(%q) = %s does not survive net/url (%v)", s, e, err)
		}
	}
}

// TestAdminNames: the admin helpers and the WebSocket URLs carry a tricky
// topic name, subscription, tenant and namespace to the broker verbatim.
func TestAdminNames(t *testing.T) {
	b := dockertest.Require(t, dockertest.Plain)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	a := b.Admin()
	tenant := "t=:." + dockertest.UniqueName(t)
	ns := tenant + "/n-=:._"
	if err := a.CreateTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateNamespace(ctx, ns, dockertest.NamespaceOptions{}); err != nil {
		t.Fatal(err)
	}
	topic := "persistent://" + ns + "/a+b c%2B%é😀:@"
	sub := "s+ %2B😀"
	cons := mustDial(t, b.ConsumerURL(topic, sub), b.Token(), nil)
	prod := mustDial(t, b.ProducerURL(topic), b.Token(), nil)
	prod.sendJSON(t, map[string]any{"payload": base64.StdEncoding.EncodeToString([]byte("x"))})
	var m consumerMsg
	cons.recvJSON(t, &m, 30*time.Second)

	tenants, err := a.Tenants(ctx)
	if err != nil || !slices.Contains(tenants, tenant) {
		t.Errorf("Tenants = %q, %v; want %q among them", tenants, err, tenant)
	}
	topics, err := a.Topics(ctx, ns)
	if err != nil || !slices.Equal(topics, []string{topic}) {
		t.Errorf("Topics = %q, %v; want [%q]", topics, err, topic)
	}
	subs, err := a.Subscriptions(ctx, topic)
	if err != nil || !slices.Contains(subs, sub) {
		t.Errorf("Subscriptions = %q, %v; want %q among them", subs, err, sub)
	}
	if st, err := a.TopicStats(ctx, topic); err != nil || st.MsgInCounter != 1 {
		t.Errorf("TopicStats = %+v, %v; want 1 message in", st, err)
	}
	// Close both sockets and wait until the broker has let go of the
	// producer and consumer: a force-deleted topic with live clients has the
	// proxy's own client reconnect to it while the namespace is deleted.
	_ = cons.conn.NetConn().Close()
	_ = prod.conn.NetConn().Close()
	for {
		st, err := a.TopicStats(ctx, topic)
		if err != nil {
			t.Fatalf("TopicStats while waiting for the clients to go: %v", err)
		}
		if len(st.Publishers) == 0 && len(st.Subscriptions[sub].Consumers) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the broker still lists the closed producer or consumer: %+v", st)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := a.DeleteTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
}
