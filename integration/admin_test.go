package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
	"github.com/stargate-go/stargate/dockertest"
)

// Every call of package admin against the real broker, on the plain and
// the token broker. Names carry the characters escaping gets wrong.

// adminEnv is one test's admin client and stargate client on one broker.
type adminEnv struct {
	t   *testing.T
	b   *dockertest.Broker
	a   *admin.Client
	c   *stargate.Client
	ctx context.Context
}

// adminVariants runs f on the plain and on the token broker.
func adminVariants(t *testing.T, f func(e *adminEnv)) {
	for _, v := range []dockertest.Variant{dockertest.Plain, dockertest.Token} {
		t.Run(string(v), func(t *testing.T) {
			b := dockertest.Require(t, v)
			a, err := admin.New(b.AdminURL, &admin.Options{Token: b.Token()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(a.CloseIdleConnections)
			c, err := stargate.NewClient(b.WSURL, &stargate.ClientOptions{Token: b.Token()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			t.Cleanup(cancel)
			f(&adminEnv{t: t, b: b, a: a, c: c, ctx: ctx})
		})
	}
}

// check fails the test on err.
func (e *adminEnv) check(what string, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: %v", what, err)
	}
}

// wantErr fails the test unless err matches target.
func (e *adminEnv) wantErr(what string, err, target error) {
	e.t.Helper()
	if !errors.Is(err, target) {
		e.t.Fatalf("%s: got %v, want an error matching %v", what, err, target)
	}
}

// eventually retries f every 100ms until it succeeds or 30s pass: the
// broker updates stats and finishes deletes asynchronously.
func (e *adminEnv) eventually(what string, f func() error) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// topic returns a fresh topic name in public/default whose local name
// holds escaping's troublemakers.
func (e *adminEnv) topic() string {
	return "persistent://public/default/" + dockertest.UniqueName(e.t) + "+a b%2B:é"
}

func (e *adminEnv) deleteTopicLater(topic string) {
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = e.a.DeleteTopic(ctx, topic, &admin.DeleteOptions{Force: true})
	})
}

func TestAdminTenantsNamespacesClusters(t *testing.T) {
	adminVariants(t, func(e *adminEnv) {
		clusters, err := e.a.Clusters(e.ctx)
		e.check("Clusters", err)
		if !slices.Contains(clusters, "standalone") {
			e.t.Fatalf("Clusters = %v", clusters)
		}
		tenant := dockertest.UniqueName(e.t)
		info := admin.TenantInfo{AdminRoles: []string{"ops"}, AllowedClusters: []string{"standalone"}}
		e.check("CreateTenant", e.a.CreateTenant(e.ctx, tenant, info))
		e.wantErr("CreateTenant again", e.a.CreateTenant(e.ctx, tenant, info), admin.ErrConflict)
		e.wantErr("CreateTenant without clusters", e.a.CreateTenant(e.ctx, tenant+"x", admin.TenantInfo{}), admin.ErrPreconditionFailed)
		tenants, err := e.a.Tenants(e.ctx)
		e.check("Tenants", err)
		if !slices.Contains(tenants, tenant) {
			e.t.Fatalf("Tenants = %v, no %s", tenants, tenant)
		}
		got, err := e.a.Tenant(e.ctx, tenant)
		e.check("Tenant", err)
		if !slices.Equal(got.AdminRoles, info.AdminRoles) || !slices.Equal(got.AllowedClusters, info.AllowedClusters) {
			e.t.Fatalf("Tenant = %+v, want %+v", got, info)
		}
		info.AdminRoles = []string{"ops", "dev"}
		e.check("UpdateTenant", e.a.UpdateTenant(e.ctx, tenant, info))
		got, err = e.a.Tenant(e.ctx, tenant)
		e.check("Tenant", err)
		if slices.Sort(got.AdminRoles); !slices.Equal(got.AdminRoles, []string{"dev", "ops"}) {
			e.t.Fatalf("after UpdateTenant: %+v", got)
		}
		_, err = e.a.Tenant(e.ctx, tenant+"-missing")
		e.wantErr("Tenant missing", err, admin.ErrNotFound)

		ns := tenant + "/ns=1:a.b"
		e.check("CreateNamespace", e.a.CreateNamespace(e.ctx, ns))
		e.wantErr("CreateNamespace again", e.a.CreateNamespace(e.ctx, ns), admin.ErrConflict)
		e.wantErr("CreateNamespace in a missing tenant", e.a.CreateNamespace(e.ctx, tenant+"-missing/ns"), admin.ErrNotFound)
		nss, err := e.a.Namespaces(e.ctx, tenant)
		e.check("Namespaces", err)
		if !slices.Equal(nss, []string{ns}) {
			e.t.Fatalf("Namespaces = %v, want [%s]", nss, ns)
		}
		adminPolicies(e, ns)

		e.wantErr("DeleteTenant with a namespace", e.a.DeleteTenant(e.ctx, tenant, nil), admin.ErrConflict)
		e.eventually("DeleteNamespace", func() error { return e.a.DeleteNamespace(e.ctx, ns, nil) })
		e.wantErr("DeleteNamespace again", e.a.DeleteNamespace(e.ctx, ns, nil), admin.ErrNotFound)
		e.eventually("DeleteTenant", func() error { return e.a.DeleteTenant(e.ctx, tenant, nil) })
		e.wantErr("DeleteTenant again", e.a.DeleteTenant(e.ctx, tenant, nil), admin.ErrNotFound)
		_, err = e.a.Namespaces(e.ctx, tenant)
		e.wantErr("Namespaces of a deleted tenant", err, admin.ErrNotFound)
	})
}

// adminPolicies sets, reads and removes each namespace policy of ns.
func adminPolicies(e *adminEnv, ns string) {
	e.t.Helper()
	if _, set, err := e.a.Retention(e.ctx, ns); err != nil || set {
		e.t.Fatalf("Retention of a new namespace: set %v, %v", set, err)
	}
	for _, want := range []admin.Retention{{Time: 2 * time.Hour, SizeMB: 100}, {Time: -1, SizeMB: -1}} {
		e.check("SetRetention", e.a.SetRetention(e.ctx, ns, want))
		got, set, err := e.a.Retention(e.ctx, ns)
		if err != nil || !set || got != want {
			e.t.Fatalf("Retention = %+v, %v, %v; want %+v", got, set, err, want)
		}
	}
	e.check("RemoveRetention", e.a.RemoveRetention(e.ctx, ns))
	e.eventually("Retention removed", func() error {
		if _, set, err := e.a.Retention(e.ctx, ns); err != nil || set {
			return fmt.Errorf("set %v, %v", set, err)
		}
		return nil
	})

	if _, set, err := e.a.MessageTTL(e.ctx, ns); err != nil || set {
		e.t.Fatalf("MessageTTL of a new namespace: set %v, %v", set, err)
	}
	e.check("SetMessageTTL", e.a.SetMessageTTL(e.ctx, ns, 90*time.Second))
	if ttl, set, err := e.a.MessageTTL(e.ctx, ns); err != nil || !set || ttl != 90*time.Second {
		e.t.Fatalf("MessageTTL = %v, %v, %v", ttl, set, err)
	}
	e.check("RemoveMessageTTL", e.a.RemoveMessageTTL(e.ctx, ns))
	e.eventually("MessageTTL removed", func() error {
		if _, set, err := e.a.MessageTTL(e.ctx, ns); err != nil || set {
			return fmt.Errorf("set %v, %v", set, err)
		}
		return nil
	})

	if _, set, err := e.a.Deduplication(e.ctx, ns); err != nil || set {
		e.t.Fatalf("Deduplication of a new namespace: set %v, %v", set, err)
	}
	for _, want := range []bool{true, false} {
		e.check("SetDeduplication", e.a.SetDeduplication(e.ctx, ns, want))
		if on, set, err := e.a.Deduplication(e.ctx, ns); err != nil || !set || on != want {
			e.t.Fatalf("Deduplication = %v, %v, %v; want %v", on, set, err, want)
		}
	}
	e.check("RemoveDeduplication", e.a.RemoveDeduplication(e.ctx, ns))

	quotas, err := e.a.BacklogQuotas(e.ctx, ns)
	e.check("BacklogQuotas", err)
	if len(quotas) != 0 {
		e.t.Fatalf("BacklogQuotas of a new namespace = %+v", quotas)
	}
	size := admin.BacklogQuota{LimitSize: 1 << 30, LimitTime: -1, Policy: admin.ProducerException}
	age := admin.BacklogQuota{LimitSize: -1, LimitTime: time.Hour, Policy: admin.ConsumerBacklogEviction}
	e.check("SetBacklogQuota size", e.a.SetBacklogQuota(e.ctx, ns, admin.BacklogSize, size))
	e.check("SetBacklogQuota age", e.a.SetBacklogQuota(e.ctx, ns, admin.BacklogAge, age))
	quotas, err = e.a.BacklogQuotas(e.ctx, ns)
	e.check("BacklogQuotas", err)
	if quotas[admin.BacklogSize] != size || quotas[admin.BacklogAge] != age {
		e.t.Fatalf("BacklogQuotas = %+v, want size %+v, age %+v", quotas, size, age)
	}
	e.check("RemoveBacklogQuota", e.a.RemoveBacklogQuota(e.ctx, ns, admin.BacklogAge))
	quotas, err = e.a.BacklogQuotas(e.ctx, ns)
	e.check("BacklogQuotas", err)
	if _, ok := quotas[admin.BacklogAge]; ok || len(quotas) != 1 {
		e.t.Fatalf("after RemoveBacklogQuota: %+v", quotas)
	}
	e.wantErr("SetMessageTTL on a missing namespace", e.a.SetMessageTTL(e.ctx, ns+"-missing", time.Minute), admin.ErrNotFound)
}

func TestAdminTopics(t *testing.T) {
	adminVariants(t, func(e *adminEnv) {
		ns := "public/default"
		plain, parted, nonp := e.topic(), e.topic()+"-p", "non-persistent://public/default/"+dockertest.UniqueName(e.t)+" é"
		for _, tp := range []string{plain, parted, nonp} {
			e.deleteTopicLater(tp)
		}
		e.check("CreateTopic", e.a.CreateTopic(e.ctx, plain))
		e.wantErr("CreateTopic again", e.a.CreateTopic(e.ctx, plain), admin.ErrConflict)
		e.check("CreatePartitionedTopic", e.a.CreatePartitionedTopic(e.ctx, parted, 2))
		e.wantErr("CreatePartitionedTopic again", e.a.CreatePartitionedTopic(e.ctx, parted, 2), admin.ErrConflict)
		e.check("CreatePartitionedTopic non-persistent", e.a.CreatePartitionedTopic(e.ctx, nonp, 1))

		if n, err := e.a.Partitions(e.ctx, parted); err != nil || n != 2 {
			e.t.Fatalf("Partitions = %d, %v", n, err)
		}
		if n, err := e.a.Partitions(e.ctx, plain); err != nil || n != 0 {
			e.t.Fatalf("Partitions of a non-partitioned topic = %d, %v", n, err)
		}
		e.check("UpdatePartitions", e.a.UpdatePartitions(e.ctx, parted, 3))
		if n, err := e.a.Partitions(e.ctx, parted); err != nil || n != 3 {
			e.t.Fatalf("Partitions after update = %d, %v", n, err)
		}
		if err := e.a.UpdatePartitions(e.ctx, parted, 1); admin.StatusCode(err) < 400 {
			e.t.Fatalf("shrinking partitions: %v", err)
		}

		topics, err := e.a.Topics(e.ctx, ns)
		e.check("Topics", err)
		for _, want := range []string{plain, parted + "-partition-0", parted + "-partition-2"} {
			if !slices.Contains(topics, want) {
				e.t.Errorf("Topics lacks %q", want)
			}
		}
		if slices.Contains(topics, parted) {
			e.t.Errorf("Topics lists the partitioned topic %q itself", parted)
		}
		partitioned, err := e.a.PartitionedTopics(e.ctx, ns)
		e.check("PartitionedTopics", err)
		if !slices.Contains(partitioned, parted) || !slices.Contains(partitioned, nonp) || slices.Contains(partitioned, plain) {
			e.t.Errorf("PartitionedTopics = %v; want %q and %q, not %q", partitioned, parted, nonp, plain)
		}

		e.check("UnloadTopic", e.a.UnloadTopic(e.ctx, plain))
		e.check("UnloadTopic partitioned", e.a.UnloadTopic(e.ctx, parted))
		e.wantErr("UnloadTopic missing", e.a.UnloadTopic(e.ctx, plain+"-missing"), admin.ErrNotFound)

		// A connected producer keeps a topic unless the delete is forced.
		p, err := e.c.NewProducer(e.ctx, plain, nil)
		e.check("NewProducer", err)
		defer p.Close()
		if err := e.a.DeleteTopic(e.ctx, plain, nil); admin.StatusCode(err) < 400 {
			e.t.Fatalf("DeleteTopic with a producer, not forced: %v", err)
		}
		e.check("DeleteTopic forced", e.a.DeleteTopic(e.ctx, plain, &admin.DeleteOptions{Force: true}))
		e.check("DeleteTopic partitioned", e.a.DeleteTopic(e.ctx, parted, nil))
		e.check("DeleteTopic non-persistent", e.a.DeleteTopic(e.ctx, nonp, nil))
		e.wantErr("DeleteTopic again", e.a.DeleteTopic(e.ctx, parted+"-x", nil), admin.ErrNotFound)
		partitioned, err = e.a.PartitionedTopics(e.ctx, ns)
		e.check("PartitionedTopics", err)
		if slices.Contains(partitioned, parted) {
			e.t.Errorf("PartitionedTopics still lists %q", parted)
		}
	})
}

func TestAdminUnauthorized(t *testing.T) {
	b := dockertest.Require(t, dockertest.Token)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for name, opts := range map[string]*admin.Options{
		"no token":  nil,
		"bad token": {Token: b.MintToken("intruder", 0)[:20] + "AAAA"},
	} {
		a, err := admin.New(b.WSURL, opts) // a ws:// URL maps to the admin port
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Tenants(ctx)
		if !errors.Is(err, admin.ErrUnauthorized) || admin.StatusCode(err) != http.StatusUnauthorized {
			t.Errorf("%s: %v", name, err)
		}
		a.CloseIdleConnections()
	}
	a, _ := admin.New(b.WSURL, &admin.Options{TokenProvider: func(context.Context) (string, error) { return b.Token(), nil }})
	defer a.CloseIdleConnections()
	if _, err := a.Tenants(ctx); err != nil {
		t.Errorf("token provider: %v", err)
	}
}

// TestAdminRedirectKeepsToken puts a server in front of the token broker
// that answers every call with a 307 to the broker under another host
// name (localhost instead of 127.0.0.1), as a broker redirects to the
// topic's owner: the token must survive, where net/http drops it.
func TestAdminRedirectKeepsToken(t *testing.T) {
	b := dockertest.Require(t, dockertest.Token)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	owner, err := url.Parse(b.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	owner.Host = strings.Replace(owner.Host, "127.0.0.1", "localhost", 1)
	var redirects atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirects.Add(1)
		http.Redirect(w, r, owner.String()+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer front.Close()

	// net/http alone loses the token on the way: the control.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, front.URL+"/admin/v2/tenants", nil)
	req.Header.Set("Authorization", "Bearer "+b.Token())
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("control: net/http's redirect got %d, want 401 (is the redirect crossing hosts?)", resp.StatusCode)
	}

	a, err := admin.New(front.URL, &admin.Options{Token: b.Token()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.CloseIdleConnections()
	topic := "persistent://public/default/" + dockertest.UniqueName(t) + "+r é"
	if err := a.CreatePartitionedTopic(ctx, topic, 2); err != nil { // PUT with a body
		t.Fatalf("CreatePartitionedTopic through a redirect: %v", err)
	}
	if n, err := a.Partitions(ctx, topic); err != nil || n != 2 {
		t.Fatalf("Partitions through a redirect = %d, %v", n, err)
	}
	if err := a.DeleteTopic(ctx, topic, nil); err != nil {
		t.Fatalf("DeleteTopic through a redirect: %v", err)
	}
	if n := redirects.Load(); n < 4 {
		t.Errorf("only %d redirects", n)
	}
}

func TestAdminFailoverAndTLS(t *testing.T) {
	for _, v := range []dockertest.Variant{dockertest.TLS, dockertest.Token} {
		t.Run(string(v), func(t *testing.T) {
			b := dockertest.Require(t, v)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if b.AdminTLSURL == "" {
				t.Skip("no https admin URL")
			}
			cfg, err := b.TLSConfig(true)
			if err != nil {
				t.Fatal(err)
			}
			// The first URL refuses connections; the call moves on.
			dead := httptest.NewServer(http.NotFoundHandler())
			deadURL := strings.Replace(dead.URL, "http://", "https://", 1)
			dead.Close()
			a, err := admin.New(deadURL+","+b.AdminTLSURL, &admin.Options{
				Token: b.Token(), RootCAs: cfg.RootCAs, Certificates: cfg.Certificates})
			if err != nil {
				t.Fatal(err)
			}
			defer a.CloseIdleConnections()
			if cl, err := a.Clusters(ctx); err != nil || !slices.Contains(cl, "standalone") {
				t.Fatalf("Clusters over https after a dead URL = %v, %v", cl, err)
			}
			untrusted, _ := admin.New(b.AdminTLSURL, &admin.Options{Token: b.Token()})
			defer untrusted.CloseIdleConnections()
			if _, err := untrusted.Clusters(ctx); err == nil || admin.StatusCode(err) != -1 {
				t.Fatalf("without the CA: %v, want a TLS failure", err)
			}
		})
	}
}

func TestAdminLookupCompactionPermissions(t *testing.T) {
	adminVariants(t, func(e *adminEnv) {
		topic, parted := e.topic(), e.topic()+"-p"
		e.deleteTopicLater(topic)
		e.deleteTopicLater(parted)
		e.check("CreateTopic", e.a.CreateTopic(e.ctx, topic))

		l, err := e.a.LookupTopic(e.ctx, topic)
		e.check("LookupTopic", err)
		if !strings.HasPrefix(l.BrokerURL, "pulsar://") || !strings.HasPrefix(l.HTTPURL, "http://") {
			e.t.Fatalf("LookupTopic = %+v", l)
		}
		bundle, err := e.a.TopicBundle(e.ctx, topic)
		e.check("TopicBundle", err)
		if !strings.HasPrefix(bundle, "0x") || !strings.Contains(bundle, "_0x") {
			e.t.Fatalf("TopicBundle = %q", bundle)
		}

		e.produce(topic, 3, false)
		e.check("CompactTopic", e.a.CompactTopic(e.ctx, topic))
		e.eventually("CompactionStatus", func() error {
			st, err := e.a.CompactionStatus(e.ctx, topic)
			if err != nil {
				return err
			}
			if st.Status != "SUCCESS" {
				return fmt.Errorf("status %+v", st)
			}
			return nil
		})

		role := "role+1 é"
		e.check("GrantTopicPermission", e.a.GrantTopicPermission(e.ctx, topic, role, admin.ActionProduce, admin.ActionConsume))
		perms, err := e.a.TopicPermissions(e.ctx, topic)
		e.check("TopicPermissions", err)
		got := perms[role]
		if slices.Sort(got); !slices.Equal(got, []admin.AuthAction{admin.ActionConsume, admin.ActionProduce}) {
			e.t.Fatalf("TopicPermissions = %v", perms)
		}
		e.check("RevokeTopicPermission", e.a.RevokeTopicPermission(e.ctx, topic, role))
		e.eventually("permission revoked", func() error {
			perms, err := e.a.TopicPermissions(e.ctx, topic)
			if err == nil && len(perms[role]) > 0 {
				err = fmt.Errorf("still %v", perms)
			}
			return err
		})

		e.check("CreatePartitionedTopic", e.a.CreatePartitionedTopic(e.ctx, parted, 2))
		e.check("CreateMissedPartitions", e.a.CreateMissedPartitions(e.ctx, parted))
		s := e.produce(parted, 4, false)
		ids, err := e.a.TerminatePartitionedTopic(e.ctx, parted)
		e.check("TerminatePartitionedTopic", err)
		if len(ids) != 2 {
			e.t.Fatalf("TerminatePartitionedTopic = %v", ids)
		}
		for _, sentID := range s.ids {
			last := ids[int(sentID.Partition)]
			if last.Partition != sentID.Partition || last.LedgerID != sentID.LedgerID || last.EntryID < sentID.EntryID {
				e.t.Fatalf("partition %d terminated at %#v, before the sent %#v", sentID.Partition, last, sentID)
			}
		}
	})
}

func TestAdminNamespaceOps(t *testing.T) {
	adminVariants(t, func(e *adminEnv) {
		tenant := dockertest.UniqueName(e.t)
		ns := tenant + "/ops"
		e.check("CreateTenant", e.a.CreateTenant(e.ctx, tenant, admin.TenantInfo{AllowedClusters: []string{"standalone"}}))
		e.check("CreateNamespace", e.a.CreateNamespace(e.ctx, ns))
		e.t.Cleanup(func() {
			_ = e.a.DeleteNamespace(context.Background(), ns, &admin.DeleteOptions{Force: true})
			_ = e.a.DeleteTenant(context.Background(), tenant, &admin.DeleteOptions{Force: true})
		})
		cl, err := e.a.ReplicationClusters(e.ctx, ns)
		e.check("ReplicationClusters", err)
		if !slices.Equal(cl, []string{"standalone"}) {
			e.t.Fatalf("ReplicationClusters = %v", cl)
		}
		e.check("SetReplicationClusters", e.a.SetReplicationClusters(e.ctx, ns, []string{"standalone"}))
		if err := e.a.SetReplicationClusters(e.ctx, ns, []string{"nowhere"}); admin.StatusCode(err) < 400 {
			e.t.Fatalf("SetReplicationClusters to an unknown cluster: %v", err)
		}

		role := "ns role+é"
		e.check("GrantNamespacePermission", e.a.GrantNamespacePermission(e.ctx, ns, role, admin.ActionConsume))
		perms, err := e.a.NamespacePermissions(e.ctx, ns)
		e.check("NamespacePermissions", err)
		if !slices.Equal(perms[role], []admin.AuthAction{admin.ActionConsume}) {
			e.t.Fatalf("NamespacePermissions = %v", perms)
		}
		e.check("RevokeNamespacePermission", e.a.RevokeNamespacePermission(e.ctx, ns, role))
		perms, err = e.a.NamespacePermissions(e.ctx, ns)
		e.check("NamespacePermissions", err)
		if _, ok := perms[role]; ok {
			e.t.Fatalf("after revoke: %v", perms)
		}

		topic := "persistent://" + ns + "/t+1 é"
		e.check("CreateTopic", e.a.CreateTopic(e.ctx, topic))
		e.check("CreateSubscription", e.a.CreateSubscription(e.ctx, topic, "s", stargate.Earliest))
		e.produce(topic, 3, false)
		e.eventually("backlog", func() error { return e.backlogIs(topic, "s", 3, false) })
		e.check("ClearNamespaceBacklog", e.a.ClearNamespaceBacklog(e.ctx, ns))
		e.eventually("backlog cleared", func() error { return e.backlogIs(topic, "s", 0, false) })
		e.check("UnloadNamespace", e.a.UnloadNamespace(e.ctx, ns))
		e.check("DeleteTopic", e.a.DeleteTopic(e.ctx, topic, nil))
		e.eventually("DeleteNamespace", func() error { return e.a.DeleteNamespace(e.ctx, ns, nil) })
		e.eventually("DeleteTenant", func() error { return e.a.DeleteTenant(e.ctx, tenant, nil) })
	})
}

// TestAdminTopicPolicies: a topic's own policies, which the broker applies
// asynchronously (through its system topic), hence the polling reads.
func TestAdminTopicPolicies(t *testing.T) {
	adminVariants(t, func(e *adminEnv) {
		topic := e.topic()
		e.deleteTopicLater(topic)
		e.check("CreateTopic", e.a.CreateTopic(e.ctx, topic))
		poll := func(what string, f func() (any, bool, error), want any, wantSet bool) {
			e.t.Helper()
			e.eventually(what, func() error {
				got, set, err := f()
				if err == nil && (set != wantSet || fmt.Sprint(got) != fmt.Sprint(want)) {
					err = fmt.Errorf("got %v (set %v), want %v (set %v)", got, set, want, wantSet)
				}
				return err
			})
		}
		retention := func() (any, bool, error) { return e.a.TopicRetention(e.ctx, topic) }
		ttl := func() (any, bool, error) { return e.a.TopicMessageTTL(e.ctx, topic) }
		dedup := func() (any, bool, error) { return e.a.TopicDeduplication(e.ctx, topic) }

		poll("TopicRetention unset", retention, admin.Retention{}, false)
		for _, r := range []admin.Retention{{Time: -1, SizeMB: -1}, {Time: 2 * time.Hour, SizeMB: 20 << 10}} {
			e.check("SetTopicRetention", e.a.SetTopicRetention(e.ctx, topic, r))
			poll("TopicRetention", retention, r, true)
		}
		e.check("RemoveTopicRetention", e.a.RemoveTopicRetention(e.ctx, topic))
		poll("TopicRetention removed", retention, admin.Retention{}, false)

		e.check("SetTopicMessageTTL", e.a.SetTopicMessageTTL(e.ctx, topic, 2*time.Minute))
		poll("TopicMessageTTL", ttl, 2*time.Minute, true)
		e.check("RemoveTopicMessageTTL", e.a.RemoveTopicMessageTTL(e.ctx, topic))
		poll("TopicMessageTTL removed", ttl, time.Duration(0), false)

		e.check("SetTopicDeduplication", e.a.SetTopicDeduplication(e.ctx, topic, true))
		poll("TopicDeduplication", dedup, true, true)
		e.check("RemoveTopicDeduplication", e.a.RemoveTopicDeduplication(e.ctx, topic))
		poll("TopicDeduplication removed", dedup, false, false)

		q := admin.BacklogQuota{LimitSize: 1 << 20, LimitTime: -1, Policy: admin.ProducerException}
		e.check("SetTopicBacklogQuota", e.a.SetTopicBacklogQuota(e.ctx, topic, admin.BacklogSize, q))
		e.eventually("TopicBacklogQuotas", func() error {
			m, err := e.a.TopicBacklogQuotas(e.ctx, topic)
			if err == nil && (len(m) != 1 || m[admin.BacklogSize] != q) {
				err = fmt.Errorf("got %+v", m)
			}
			return err
		})
		e.check("RemoveTopicBacklogQuota", e.a.RemoveTopicBacklogQuota(e.ctx, topic, admin.BacklogSize))
		e.eventually("TopicBacklogQuotas removed", func() error {
			m, err := e.a.TopicBacklogQuotas(e.ctx, topic)
			if err == nil && len(m) != 0 {
				err = fmt.Errorf("got %+v", m)
			}
			return err
		})
		e.wantErr("TopicRetention of a missing topic", func() error { _, _, err := e.a.TopicRetention(e.ctx, topic+"-missing"); return err }(), admin.ErrNotFound)
	})
}
