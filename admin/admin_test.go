package admin_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
)

// recorder is an httptest server that records the requests it gets and
// answers each with handle (200 "{}" when nil).
type recorder struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	handle func(w http.ResponseWriter, r *http.Request)
}

type recorded struct {
	Method, Path, Query, Auth, Body string
}

func newRecorder(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *recorder {
	t.Helper()
	rec := &recorder{handle: handle}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Authorization"), string(b)})
		rec.mu.Unlock()
		if rec.handle != nil {
			rec.handle(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func newClient(t *testing.T, url string, o *admin.Options) *admin.Client {
	t.Helper()
	c, err := admin.New(url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func TestPathEscaping(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	c := newClient(t, rec.URL, nil)
	ctx := context.Background()
	cases := []struct {
		call func() error
		want string
	}{
		{func() error { return c.CreateTopic(ctx, "persistent://t/ns/a+b c%d é") }, "/admin/v2/persistent/t/ns/a%2Bb%20c%25d%20%C3%A9"},
		{func() error { return c.CreateTopic(ctx, "non-persistent://t/ns/x~y_z.-") }, "/admin/v2/non-persistent/t/ns/x~y_z.-"},
		{func() error { return c.CreateTopic(ctx, "orders:v1") }, "/admin/v2/persistent/public/default/orders%3Av1"},
		{func() error { return c.ClearBacklog(ctx, "t/ns/x", "a+b") }, "/admin/v2/persistent/t/ns/x/subscription/a%252Bb/skip_all"},
		{func() error { return c.ClearBacklog(ctx, "t/ns/x", "s/ %é") }, "/admin/v2/persistent/t/ns/x/subscription/s%252F%2520%2525%25C3%25A9/skip_all"},
		{func() error { return c.CreateNamespace(ctx, "my-tenant/ns.1=:_") }, "/admin/v2/namespaces/my-tenant/ns.1=:_"},
		{func() error { return c.SkipMessages(ctx, "t/ns/x", "s", 3) }, "/admin/v2/persistent/t/ns/x/subscription/s/skip/3"},
		{func() error { return c.RevokeTopicPermission(ctx, "t/ns/x y", "r+1 é") }, "/admin/v2/persistent/t/ns/x%20y/permissions/r%2B1%20%C3%A9"},
		{func() error { _, err := c.LookupTopic(ctx, "t/ns/a+b"); return err }, "/lookup/v2/topic/persistent/t/ns/a%2Bb"},
	}
	for i, tc := range cases {
		if err := tc.call(); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		reqs := rec.requests()
		if got := reqs[len(reqs)-1].Path; got != tc.want {
			t.Errorf("case %d: path %q, want %q", i, got, tc.want)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status     int
		body, ct   string
		sentinel   error
		wantReason string
	}{
		{404, `{"reason":"Topic persistent://public/default/x not found"}`, "application/json", admin.ErrNotFound, "Topic persistent://public/default/x not found"},
		{409, `{"reason":"This topic already exists"}`, "application/json", admin.ErrConflict, "This topic already exists"},
		{401, `<html><title>Error 401</title></html>`, "text/html", admin.ErrUnauthorized, "Unauthorized"},
		{403, `{"reason":"Don't have permission"}`, "application/json", admin.ErrForbidden, "Don't have permission"},
		{412, `{"reason":"Clusters can not be empty"}`, "application/json", admin.ErrPreconditionFailed, "Clusters can not be empty"},
		{405, `{"reason":"Peek messages on a partitioned topic is not allowed"}`, "application/json", admin.ErrNotAllowed, "Peek messages on a partitioned topic is not allowed"},
		{400, `plain text`, "text/plain", admin.ErrBadRequest, "plain text"},
		{429, ``, "", admin.ErrTooManyRequests, "Too Many Requests"},
		{503, `{"reason":"not ready"}`, "application/json", admin.ErrServer, "not ready"},
	}
	for _, tc := range cases {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			if tc.ct != "" {
				w.Header().Set("Content-Type", tc.ct)
			}
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		})
		c := newClient(t, rec.URL, nil)
		err := c.CreateTopic(context.Background(), "t/ns/x")
		if !errors.Is(err, tc.sentinel) {
			t.Errorf("%d: %v does not match %v", tc.status, err, tc.sentinel)
		}
		e, ok := errors.AsType[*admin.Error](err)
		if !ok {
			t.Fatalf("%d: %T is not *admin.Error", tc.status, err)
		}
		if e.StatusCode != tc.status || e.Op != "CreateTopic" || e.Name != "persistent://t/ns/x" || e.Reason != tc.wantReason {
			t.Errorf("%d: got %+v, reason want %q", tc.status, *e, tc.wantReason)
		}
		if admin.StatusCode(err) != tc.status {
			t.Errorf("StatusCode = %d", admin.StatusCode(err))
		}
		for _, other := range []error{admin.ErrNotFound, admin.ErrConflict, admin.ErrServer} {
			if other != tc.sentinel && errors.Is(err, other) {
				t.Errorf("%d matches %v too", tc.status, other)
			}
		}
	}
}

func TestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	c := newClient(t, rec.URL, nil)
	ctx := context.Background()
	id := stargate.MessageID{LedgerID: 1, EntryID: 2, Partition: -1, BatchIndex: -1}
	calls := map[string]func() error{
		"empty topic":           func() error { return c.CreateTopic(ctx, "") },
		"bad domain":            func() error { return c.CreateTopic(ctx, "http://t/ns/x") },
		"two segments":          func() error { return c.CreateTopic(ctx, "t/x") },
		"bad tenant":            func() error { return c.CreateTopic(ctx, "t t/ns/x") },
		"control char":          func() error { return c.DeleteTopic(ctx, "t/ns/a\nb", nil) },
		"zero partitions":       func() error { return c.CreatePartitionedTopic(ctx, "t/ns/x", 0) },
		"negative partitions":   func() error { return c.UpdatePartitions(ctx, "t/ns/x", -2) },
		"empty sub":             func() error { return c.ClearBacklog(ctx, "t/ns/x", "") },
		"blank sub":             func() error { return c.DeleteSubscription(ctx, "t/ns/x", " \u3000", nil) },
		"NUL sub":               func() error { return c.CreateSubscription(ctx, "t/ns/x", "a\x00", stargate.Earliest) },
		"zero position":         func() error { return c.CreateSubscriptionAt(ctx, "t/ns/x", "s", stargate.MessageID{}) },
		"bad position":          func() error { return c.CreateSubscription(ctx, "t/ns/x", "s", stargate.Position(7)) },
		"negative skip":         func() error { return c.SkipMessages(ctx, "t/ns/x", "s", -1) },
		"zero skip":             func() error { return c.SkipMessages(ctx, "t/ns/x", "s", 0) },
		"negative expire":       func() error { return c.ExpireMessages(ctx, "t/ns/x", "s", -time.Second) },
		"zero expire":           func() error { return c.ExpireMessages(ctx, "t/ns/x", "s", 0) },
		"fractional expire":     func() error { return c.ExpireMessages(ctx, "t/ns/x", "s", 1500*time.Millisecond) },
		"zero reset time":       func() error { return c.ResetCursorToTime(ctx, "t/ns/x", "s", time.Time{}) },
		"zero reset id":         func() error { return c.ResetCursor(ctx, "t/ns/x", "s", stargate.MessageID{}) },
		"peek zero":             func() error { _, err := c.PeekMessages(ctx, "t/ns/x", "s", 0); return err },
		"peek bad sub":          func() error { _, err := c.PeekMessages(ctx, "t/ns/x", "", 1); return err },
		"get zero id":           func() error { _, err := c.GetMessage(ctx, "t/ns/x", stargate.MessageID{}); return err },
		"get bad topic":         func() error { _, err := c.GetMessage(ctx, "", id); return err },
		"by time zero":          func() error { _, err := c.MessageIDByTime(ctx, "t/ns/x", time.Time{}); return err },
		"empty tenant":          func() error { return c.CreateTenant(ctx, "", admin.TenantInfo{}) },
		"slash tenant":          func() error { return c.DeleteTenant(ctx, "a/b", nil) },
		"namespaces bad tenant": func() error { _, err := c.Namespaces(ctx, "a b"); return err },
		"namespace no slash":    func() error { return c.CreateNamespace(ctx, "public") },
		"namespace three parts": func() error { return c.DeleteNamespace(ctx, "a/b/c", nil) },
		"namespace empty part":  func() error { return c.CreateNamespace(ctx, "a/") },
		"topics bad ns":         func() error { _, err := c.Topics(ctx, "a"); return err },
		"negative TTL":          func() error { return c.SetMessageTTL(ctx, "a/b", -time.Second) },
		"fractional TTL":        func() error { return c.SetMessageTTL(ctx, "a/b", time.Millisecond) },
		"fractional retention":  func() error { return c.SetRetention(ctx, "a/b", admin.Retention{Time: 90 * time.Second}) },
		"bad quota type": func() error {
			return c.SetBacklogQuota(ctx, "a/b", "x", admin.BacklogQuota{Policy: admin.ProducerException})
		},
		"bad quota policy": func() error {
			return c.SetBacklogQuota(ctx, "a/b", admin.BacklogSize, admin.BacklogQuota{Policy: "drop"})
		},
		"remove bad quota type":  func() error { return c.RemoveBacklogQuota(ctx, "a/b", "") },
		"stats bad topic":        func() error { _, err := c.TopicStats(ctx, "a//b", nil); return err },
		"internal bad topic":     func() error { _, err := c.InternalStats(ctx, "-partition-1"); return err },
		"terminate bad topic":    func() error { _, err := c.TerminateTopic(ctx, "x "); return err },
		"grant no actions":       func() error { return c.GrantTopicPermission(ctx, "t/ns/x", "r") },
		"grant bad action":       func() error { return c.GrantNamespacePermission(ctx, "a/b", "r", "fly") },
		"grant empty role":       func() error { return c.GrantTopicPermission(ctx, "t/ns/x", "", admin.ActionConsume) },
		"revoke NUL role":        func() error { return c.RevokeNamespacePermission(ctx, "a/b", "r\x00") },
		"replication none":       func() error { return c.SetReplicationClusters(ctx, "a/b", nil) },
		"lookup bad topic":       func() error { _, err := c.LookupTopic(ctx, "a/b"); return err },
		"bundle bad topic":       func() error { _, err := c.TopicBundle(ctx, ""); return err },
		"unload bad namespace":   func() error { return c.UnloadNamespace(ctx, "a") },
		"subscriptions bad name": func() error { _, err := c.Subscriptions(ctx, "a/b/c/d"); return err },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, stargate.ErrInvalidArgument) {
			t.Errorf("%s: %v does not match stargate.ErrInvalidArgument", name, err)
		}
		if _, ok := errors.AsType[*stargate.ArgError](err); !ok {
			t.Errorf("%s: %T is not *stargate.ArgError", name, err)
		}
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests sent for bad input: %+v", n, rec.requests())
	}
}

func TestNewRefusesBadURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "localhost:8080", "ftp://h:1", "http://", "http://h:1?x=1", "http://u:p@h:1", "http://a:1,,"} {
		if _, err := admin.New(u, nil); !errors.Is(err, stargate.ErrInvalidArgument) {
			t.Errorf("New(%q) = %v, want an invalid argument", u, err)
		}
	}
	if _, err := admin.New("http://h:1", &admin.Options{Token: "Bearer x"}); !errors.Is(err, stargate.ErrInvalidArgument) {
		t.Errorf("a token with a space: %v", err)
	}
}

func TestWebSocketURLsAndFailover(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `["standalone"]`) })
	// A port that refuses connections: listen, then close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	live := strings.TrimPrefix(rec.URL, "http://")
	c := newClient(t, "ws://"+dead+","+live+"/", nil)
	for range 3 {
		got, err := c.Clusters(context.Background())
		if err != nil || len(got) != 1 || got[0] != "standalone" {
			t.Fatalf("Clusters = %v, %v", got, err)
		}
	}
	if n := len(rec.requests()); n != 3 {
		t.Errorf("live server got %d requests, want 3", n)
	}
}

func TestNoFailoverAfterAnswer(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	bad := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	})
	good := newRecorder(t, nil)
	c := newClient(t, bad.URL+","+good.URL, nil)
	if err := c.CreateTopic(context.Background(), "t/ns/x"); !errors.Is(err, admin.ErrServer) {
		t.Fatalf("err = %v", err)
	}
	if len(good.requests()) != 0 {
		t.Error("a refused request was sent again to the next URL")
	}
}

func TestTokenAndHeader(t *testing.T) {
	t.Parallel()
	var seen atomic.Value
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("X-Trace"))
		io.WriteString(w, "[]")
	})
	var calls atomic.Int32
	c := newClient(t, rec.URL, &admin.Options{
		Token:  "static",
		Header: http.Header{"X-Trace": {"t1"}},
		TokenProvider: func(ctx context.Context) (string, error) {
			calls.Add(1)
			return "Bearer fresh", nil
		},
	})
	if _, err := c.Tenants(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Tenants(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rec.requests()[1].Auth; got != "Bearer fresh" {
		t.Errorf("Authorization %q", got)
	}
	if calls.Load() != 2 || seen.Load() != "t1" {
		t.Errorf("provider calls %d, header %v", calls.Load(), seen.Load())
	}
	boom := errors.New("boom")
	c2 := newClient(t, rec.URL, &admin.Options{TokenProvider: func(context.Context) (string, error) { return "", boom }})
	_, err := c2.Tenants(context.Background())
	if !errors.Is(err, boom) {
		t.Errorf("provider failure: %v", err)
	}
}

func TestContextCanceled(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	defer close(block)
	c := newClient(t, rec.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Tenants(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
}
