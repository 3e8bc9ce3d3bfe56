package dockertest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
)

// Admin is the admin REST client the tests use: package admin of the
// root module (github.com/stargate-go/stargate/admin), with the
// conveniences tests want (idempotent tenant and namespace creation,
// deletes that wait out the broker's 409s) and without keep-alive
// connections, so that no idle goroutine is left for leak checks.
type Admin struct {
	BaseURL string // e.g. http://127.0.0.1:18080
	Token   string // sent as "Authorization: Bearer" when non-empty

	c *admin.Client
}

// NewAdmin returns an Admin for baseURL.
func NewAdmin(baseURL, token string) *Admin {
	return newAdmin(baseURL, token, 30*time.Second)
}

func newAdmin(baseURL, token string, timeout time.Duration) *Admin {
	baseURL = strings.TrimRight(baseURL, "/")
	c, err := admin.New(baseURL, &admin.Options{
		Token:     token,
		Timeout:   timeout,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	})
	if err != nil {
		panic("dockertest: admin URL " + baseURL + ": " + err.Error())
	}
	return &Admin{BaseURL: baseURL, Token: token, c: c}
}

// Client returns the underlying admin.Client, for calls Admin does not
// wrap.
func (a *Admin) Client() *admin.Client { return a.c }

// HTTPError is a refusal that Admin reports itself (a subscription missing
// from the stats, a readiness probe that failed). Refusals of the broker
// are *admin.Error.
type HTTPError struct {
	Method, Path string
	StatusCode   int
	Body         string
}

// Error gives the method, path, status and body.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.StatusCode, strings.TrimSpace(e.Body))
}

// IsStatus reports whether err is an *admin.Error or *HTTPError with the
// given status code.
func IsStatus(err error, code int) bool {
	if he, ok := errors.AsType[*HTTPError](err); ok {
		return he.StatusCode == code
	}
	return admin.StatusCode(err) == code
}

// topicPath turns "persistent://t/ns/x", "non-persistent://t/ns/x" or "t/ns/x"
// into "persistent/t/ns/x" (the form of the WebSocket URLs).
func topicPath(topic string) (string, error) {
	domain := "persistent"
	if i := strings.Index(topic, "://"); i >= 0 {
		domain, topic = topic[:i], topic[i+3:]
	}
	parts := strings.Split(topic, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", fmt.Errorf("topic %q: want tenant/namespace/name", topic)
	}
	return domain + "/" + parts[0] + "/" + parts[1] + "/" + EscapeName(parts[2]), nil
}

// EscapeName escapes a topic's local name or a subscription name for a URL
// path segment that the server decodes with Java's URLDecoder (Pulsar's
// Codec.decode), as the WebSocket API does: every byte but the unreserved
// ones (letters, digits, "-._~") becomes %XX. (A plain path escape would
// leave "+", which URLDecoder turns into a space.)
func EscapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

// Clusters lists the cluster names.
func (a *Admin) Clusters(ctx context.Context) ([]string, error) { return a.c.Clusters(ctx) }

// Namespaces lists the namespaces ("tenant/ns") of a tenant.
func (a *Admin) Namespaces(ctx context.Context, tenant string) ([]string, error) {
	return a.c.Namespaces(ctx, tenant)
}

// CreateTenant creates a tenant allowed on every cluster, administered by role
// "admin". An existing tenant is not an error.
func (a *Admin) CreateTenant(ctx context.Context, tenant string) error {
	clusters, err := a.c.Clusters(ctx)
	if err != nil {
		return err
	}
	err = a.c.CreateTenant(ctx, tenant, admin.TenantInfo{AdminRoles: []string{"admin"}, AllowedClusters: clusters})
	if errors.Is(err, admin.ErrConflict) {
		return nil
	}
	return err
}

// NamespaceOptions are optional policies for CreateNamespace.
type NamespaceOptions struct {
	// InfiniteRetention keeps acknowledged messages forever
	// (retentionTimeInMinutes = retentionSizeInMB = -1), so readers can
	// replay a topic from the start.
	InfiniteRetention bool
}

// CreateNamespace creates "tenant/ns" (the tenant must exist). An existing
// namespace is not an error; its policies are still applied.
func (a *Admin) CreateNamespace(ctx context.Context, namespace string, opts NamespaceOptions) error {
	if err := a.c.CreateNamespace(ctx, namespace); err != nil && !errors.Is(err, admin.ErrConflict) {
		return err
	}
	if opts.InfiniteRetention {
		return a.c.SetRetention(ctx, namespace, admin.Retention{Time: -1, SizeMB: -1})
	}
	return nil
}

// DeleteNamespace deletes "tenant/ns", which must hold no topics (delete
// them first with DeleteTopic). A 409 or 5xx answer, or an attempt the broker
// has not answered within 30 s, is retried until ctx is done.
func (a *Admin) DeleteNamespace(ctx context.Context, namespace string) error {
	return retryDelete(ctx, func(ctx context.Context) error { return a.c.DeleteNamespace(ctx, namespace, nil) })
}

// deleteAttempt bounds one attempt of retryDelete.
const deleteAttempt = 30 * time.Second

// retryDelete calls del until it succeeds, fails for good, or ctx is done.
// Right after its topics (or namespaces) were deleted, the broker may still
// answer "Cannot delete non empty bundle" (409) or "The tenant still has
// active namespaces", or fail the deletion of the namespace's system topics
// with a 500; on a loaded machine an attempt can also go unanswered (a CI run
// once saw a namespace deletion not succeed within 2 min). Those are retried,
// each attempt bounded by deleteAttempt. A 404 after an unanswered or failed attempt means
// that attempt deleted it after all.
func retryDelete(ctx context.Context, del func(context.Context) error) error {
	retried := false
	for {
		actx, cancel := context.WithTimeout(ctx, deleteAttempt)
		err := del(actx)
		cancel()
		switch {
		case err == nil:
			return nil
		case retried && errors.Is(err, admin.ErrNotFound):
			return nil
		case ctx.Err() != nil:
			return err
		case errors.Is(err, admin.ErrConflict), errors.Is(err, admin.ErrServer), isTimeout(err):
		default:
			return err
		}
		retried = true
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// isTimeout reports an attempt cut short by its deadline or by the HTTP
// client's timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// DeleteTenant deletes a tenant, which must hold no namespaces. It retries
// like DeleteNamespace (the broker may list a namespace just deleted).
func (a *Admin) DeleteTenant(ctx context.Context, tenant string) error {
	return retryDelete(ctx, func(ctx context.Context) error { return a.c.DeleteTenant(ctx, tenant, nil) })
}

// Tenants lists the tenant names.
func (a *Admin) Tenants(ctx context.Context) ([]string, error) { return a.c.Tenants(ctx) }

// Topics lists the full names of the persistent topics of "tenant/ns"
// (system topics left out), partitions listed one by one (a partitioned topic as
// "<topic>-partition-<i>"). Names are as the broker stores them, decoded.
func (a *Admin) Topics(ctx context.Context, namespace string) ([]string, error) {
	all, err := a.c.Topics(ctx, namespace)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(t string) bool { return !strings.HasPrefix(t, "persistent://") }), nil
}

// CreateTopic creates a non-partitioned topic.
func (a *Admin) CreateTopic(ctx context.Context, topic string) error {
	return a.c.CreateTopic(ctx, topic)
}

// CreatePartitionedTopic creates a partitioned topic with n partitions
// (partition i is "<topic>-partition-<i>").
func (a *Admin) CreatePartitionedTopic(ctx context.Context, topic string, partitions int) error {
	return a.c.CreatePartitionedTopic(ctx, topic, partitions)
}

// TerminateTopic terminates a topic: no more messages can be published to it,
// and consumers get "end of topic" once they have read everything. It returns
// the last message's ID.
func (a *Admin) TerminateTopic(ctx context.Context, topic string) (stargate.MessageID, error) {
	return a.c.TerminateTopic(ctx, topic)
}

// DeleteTopic force-deletes a topic (producers and consumers are
// disconnected), partitioned or not.
func (a *Admin) DeleteTopic(ctx context.Context, topic string) error {
	return a.c.DeleteTopic(ctx, topic, &admin.DeleteOptions{Force: true})
}

// DeletePartitionedTopic force-deletes a partitioned topic and its partitions.
func (a *Admin) DeletePartitionedTopic(ctx context.Context, topic string) error {
	return a.DeleteTopic(ctx, topic)
}

// Subscriptions lists a topic's subscription names.
func (a *Admin) Subscriptions(ctx context.Context, topic string) ([]string, error) {
	return a.c.Subscriptions(ctx, topic)
}

// Stats types are package admin's.
type (
	TopicStats            = admin.TopicStats
	PublisherStats        = admin.PublisherStats
	SubscriptionStats     = admin.SubscriptionStats
	ConsumerStats         = admin.ConsumerStats
	PartitionedTopicStats = admin.PartitionedTopicStats
)

// TopicStats returns the stats of a non-partitioned topic (or one partition),
// with a precise backlog. Backlog counters are updated asynchronously; poll.
func (a *Admin) TopicStats(ctx context.Context, topic string) (*TopicStats, error) {
	return a.c.TopicStats(ctx, topic, &admin.StatsOptions{PreciseBacklog: true})
}

// PartitionedStats returns the stats of a partitioned topic, per partition.
func (a *Admin) PartitionedStats(ctx context.Context, topic string) (*PartitionedTopicStats, error) {
	return a.c.PartitionedTopicStats(ctx, topic, &admin.StatsOptions{PreciseBacklog: true, PerPartition: true})
}

// waitReady polls, every 500 ms, /admin/v2/brokers/ready → "ok", then
// /admin/v2/clusters lists "standalone", then /admin/v2/namespaces/public
// lists "public/default". done (may be nil) closing means the process died.
func waitReady(ctx context.Context, adminURL, token string, timeout time.Duration, done <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	a := newAdmin(adminURL, token, 5*time.Second)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		last = readyOnce(ctx, a)
		if last == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("broker process exited before it was ready (last check: %v)", last)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %v", timeout, last)
		case <-tick.C:
		}
	}
}

func readyOnce(ctx context.Context, a *Admin) error {
	if err := brokerReady(ctx, a); err != nil {
		return err
	}
	cl, err := a.Clusters(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(cl, "standalone") {
		return fmt.Errorf("cluster standalone not listed yet (%v)", cl)
	}
	ns, err := a.Namespaces(ctx, "public")
	if err != nil {
		return err
	}
	if !slices.Contains(ns, "public/default") {
		return fmt.Errorf("namespace public/default not listed yet (%v)", ns)
	}
	return nil
}

// brokerReady asks /admin/v2/brokers/ready, which answers "ok".
func brokerReady(ctx context.Context, a *Admin) error {
	const path = "/admin/v2/brokers/ready"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.BaseURL+path, nil)
	if err != nil {
		return err
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	resp, err := readyHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &HTTPError{Method: http.MethodGet, Path: path, StatusCode: resp.StatusCode, Body: string(body)}
	}
	if strings.TrimSpace(string(body)) != "ok" {
		return fmt.Errorf("%s answered %q", path, body)
	}
	return nil
}

var readyHTTP = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}

var unsafeTopicChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// UniqueTopic returns "persistent://public/default/<test-name>-<random>", a
// topic no other test (or earlier run) uses.
func UniqueTopic(tb testing.TB) string {
	return "persistent://public/default/" + UniqueName(tb)
}

// UniqueName returns "<sanitised test name>-<8 hex digits>", usable as a
// topic, subscription, tenant or namespace name.
func UniqueName(tb testing.TB) string {
	name := unsafeTopicChars.ReplaceAllString(tb.Name(), "-")
	if len(name) > 60 {
		name = name[:60]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%x", strings.Trim(name, "-"), b)
}
