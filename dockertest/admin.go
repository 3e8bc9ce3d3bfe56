package dockertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Admin is a small client for Pulsar's admin REST API (v2).
type Admin struct {
	BaseURL string       // e.g. http://127.0.0.1:18080
	Token   string       // sent as "Authorization: Bearer" when non-empty
	Client  *http.Client // nil: a client without keep-alives (no idle goroutines left for leak checks)
}

// NewAdmin returns an Admin for baseURL.
func NewAdmin(baseURL, token string) *Admin {
	return &Admin{BaseURL: strings.TrimRight(baseURL, "/"), Token: token}
}

var defaultHTTP = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
}

// HTTPError is a non-2xx answer of the admin API.
type HTTPError struct {
	Method, Path string
	StatusCode   int
	Body         string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.StatusCode, strings.TrimSpace(e.Body))
}

// IsStatus reports whether err is an *HTTPError with the given status code.
func IsStatus(err error, code int) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.StatusCode == code
}

func (a *Admin) do(ctx context.Context, method, path string, body any, out any) error {
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
	req.Header.Set("Accept", "application/json")
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	c := a.Client
	if c == nil {
		c = defaultHTTP
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &HTTPError{Method: method, Path: path, StatusCode: resp.StatusCode, Body: string(data)}
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if s, ok := out.(*string); ok {
		*s = string(data)
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decoding %q: %w", method, path, truncate(string(data), 200), err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// topicPath turns "persistent://t/ns/x", "non-persistent://t/ns/x" or "t/ns/x"
// into "persistent/t/ns/x" (the form used by both the admin and the
// WebSocket URLs).
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
// Codec.decode), as both the admin API and the WebSocket API do: every byte
// but the unreserved ones (letters, digits, "-._~") becomes %XX. (A plain
// path escape would leave "+", which URLDecoder turns into a space.)
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
func (a *Admin) Clusters(ctx context.Context) ([]string, error) {
	var out []string
	return out, a.do(ctx, http.MethodGet, "/admin/v2/clusters", nil, &out)
}

// Namespaces lists the namespaces ("tenant/ns") of a tenant.
func (a *Admin) Namespaces(ctx context.Context, tenant string) ([]string, error) {
	var out []string
	return out, a.do(ctx, http.MethodGet, "/admin/v2/namespaces/"+url.PathEscape(tenant), nil, &out)
}

// CreateTenant creates a tenant allowed on every cluster, administered by role
// "admin". An existing tenant is not an error.
func (a *Admin) CreateTenant(ctx context.Context, tenant string) error {
	clusters, err := a.Clusters(ctx)
	if err != nil {
		return err
	}
	body := map[string]any{"adminRoles": []string{"admin"}, "allowedClusters": clusters}
	err = a.do(ctx, http.MethodPut, "/admin/v2/tenants/"+url.PathEscape(tenant), body, nil)
	if IsStatus(err, http.StatusConflict) {
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
	if strings.Count(namespace, "/") != 1 {
		return fmt.Errorf("namespace %q: want tenant/ns", namespace)
	}
	err := a.do(ctx, http.MethodPut, "/admin/v2/namespaces/"+namespace, nil, nil)
	if err != nil && !IsStatus(err, http.StatusConflict) {
		return err
	}
	if opts.InfiniteRetention {
		body := map[string]int{"retentionTimeInMinutes": -1, "retentionSizeInMB": -1}
		if err := a.do(ctx, http.MethodPost, "/admin/v2/namespaces/"+namespace+"/retention", body, nil); err != nil {
			return err
		}
	}
	return nil
}

// DeleteNamespace deletes "tenant/ns", which must hold no topics (delete
// them first with DeleteTopic). A 409 is retried until ctx is done.
func (a *Admin) DeleteNamespace(ctx context.Context, namespace string) error {
	if strings.Count(namespace, "/") != 1 {
		return fmt.Errorf("namespace %q: want tenant/ns", namespace)
	}
	return retryConflict(ctx, func() error {
		return a.do(ctx, http.MethodDelete, "/admin/v2/namespaces/"+namespace, nil, nil)
	})
}

// retryConflict calls del until it does not fail with 409 or ctx is done:
// right after its topics (or namespaces) were deleted, the broker may
// still answer "Cannot delete non empty bundle" or "The tenant still has
// active namespaces" for a moment.
func retryConflict(ctx context.Context, del func() error) error {
	for {
		err := del()
		if !IsStatus(err, http.StatusConflict) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// DeleteTenant deletes a tenant, which must hold no namespaces. A 409 is
// retried until ctx is done (the broker may list a namespace just deleted).
func (a *Admin) DeleteTenant(ctx context.Context, tenant string) error {
	return retryConflict(ctx, func() error {
		return a.do(ctx, http.MethodDelete, "/admin/v2/tenants/"+url.PathEscape(tenant), nil, nil)
	})
}

// Tenants lists the tenant names.
func (a *Admin) Tenants(ctx context.Context) ([]string, error) {
	var out []string
	return out, a.do(ctx, http.MethodGet, "/admin/v2/tenants", nil, &out)
}

// Topics lists the full names of the persistent topics of "tenant/ns"
// (system topics left out), partitions listed one by one (a partitioned topic as
// "<topic>-partition-<i>"). Names are as the broker stores them, decoded.
func (a *Admin) Topics(ctx context.Context, namespace string) ([]string, error) {
	if strings.Count(namespace, "/") != 1 {
		return nil, fmt.Errorf("namespace %q: want tenant/ns", namespace)
	}
	var out []string
	return out, a.do(ctx, http.MethodGet, "/admin/v2/namespaces/"+namespace+"/topics", nil, &out)
}

// CreateTopic creates a non-partitioned topic.
func (a *Admin) CreateTopic(ctx context.Context, topic string) error {
	p, err := topicPath(topic)
	if err != nil {
		return err
	}
	return a.do(ctx, http.MethodPut, "/admin/v2/"+p, nil, nil)
}

// CreatePartitionedTopic creates a partitioned topic with n partitions
// (partition i is "<topic>-partition-<i>").
func (a *Admin) CreatePartitionedTopic(ctx context.Context, topic string, partitions int) error {
	p, err := topicPath(topic)
	if err != nil {
		return err
	}
	return a.do(ctx, http.MethodPut, "/admin/v2/"+p+"/partitions", partitions, nil)
}

// TerminateTopic terminates a topic: no more messages can be published to it,
// and consumers get "end of topic" once they have read everything. It returns
// the last message ID as the broker reports it (raw JSON).
func (a *Admin) TerminateTopic(ctx context.Context, topic string) (json.RawMessage, error) {
	p, err := topicPath(topic)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	return out, a.do(ctx, http.MethodPost, "/admin/v2/"+p+"/terminate", nil, &out)
}

// DeleteTopic force-deletes a non-partitioned topic (producers and consumers
// are disconnected).
func (a *Admin) DeleteTopic(ctx context.Context, topic string) error {
	p, err := topicPath(topic)
	if err != nil {
		return err
	}
	return a.do(ctx, http.MethodDelete, "/admin/v2/"+p+"?force=true", nil, nil)
}

// DeletePartitionedTopic force-deletes a partitioned topic and its partitions.
func (a *Admin) DeletePartitionedTopic(ctx context.Context, topic string) error {
	p, err := topicPath(topic)
	if err != nil {
		return err
	}
	return a.do(ctx, http.MethodDelete, "/admin/v2/"+p+"/partitions?force=true", nil, nil)
}

// Subscriptions lists a topic's subscription names.
func (a *Admin) Subscriptions(ctx context.Context, topic string) ([]string, error) {
	p, err := topicPath(topic)
	if err != nil {
		return nil, err
	}
	var out []string
	return out, a.do(ctx, http.MethodGet, "/admin/v2/"+p+"/subscriptions", nil, &out)
}

// TopicStats is the part of Pulsar's topic stats the tests look at.
type TopicStats struct {
	MsgInCounter   int64                        `json:"msgInCounter"`
	MsgOutCounter  int64                        `json:"msgOutCounter"`
	BytesInCounter int64                        `json:"bytesInCounter"`
	StorageSize    int64                        `json:"storageSize"`
	BacklogSize    int64                        `json:"backlogSize"`
	Publishers     []PublisherStats             `json:"publishers"`
	Subscriptions  map[string]SubscriptionStats `json:"subscriptions"`
}

// PublisherStats describes one connected producer.
type PublisherStats struct {
	ProducerName string  `json:"producerName"`
	MsgRateIn    float64 `json:"msgRateIn"`
	Address      string  `json:"address"`
}

// SubscriptionStats describes one subscription.
type SubscriptionStats struct {
	Type            string          `json:"type"`
	MsgBacklog      int64           `json:"msgBacklog"`
	UnackedMessages int64           `json:"unackedMessages"`
	MsgOutCounter   int64           `json:"msgOutCounter"`
	Consumers       []ConsumerStats `json:"consumers"`
}

// ConsumerStats describes one connected consumer.
type ConsumerStats struct {
	ConsumerName     string `json:"consumerName"`
	AvailablePermits int64  `json:"availablePermits"`
	UnackedMessages  int64  `json:"unackedMessages"`
	Address          string `json:"address"`
}

// PartitionedTopicStats is the aggregate over all partitions plus, per
// partition, that partition's stats (keyed by full partition topic name).
type PartitionedTopicStats struct {
	TopicStats
	Metadata struct {
		Partitions int `json:"partitions"`
	} `json:"metadata"`
	Partitions map[string]TopicStats `json:"partitions"`
}

// TopicStats returns the stats of a non-partitioned topic (or one partition),
// with a precise backlog. Backlog counters are updated asynchronously; poll.
func (a *Admin) TopicStats(ctx context.Context, topic string) (*TopicStats, error) {
	p, err := topicPath(topic)
	if err != nil {
		return nil, err
	}
	var out TopicStats
	if err := a.do(ctx, http.MethodGet, "/admin/v2/"+p+"/stats?getPreciseBacklog=true", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PartitionedStats returns the stats of a partitioned topic, per partition.
func (a *Admin) PartitionedStats(ctx context.Context, topic string) (*PartitionedTopicStats, error) {
	p, err := topicPath(topic)
	if err != nil {
		return nil, err
	}
	var out PartitionedTopicStats
	if err := a.do(ctx, http.MethodGet, "/admin/v2/"+p+"/partitioned-stats?perPartition=true&getPreciseBacklog=true", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// waitReady polls, every 500 ms, /admin/v2/brokers/ready → "ok", then
// /admin/v2/clusters lists "standalone", then /admin/v2/namespaces/public
// lists "public/default". done (may be nil) closing means the process died.
func waitReady(ctx context.Context, adminURL, token string, timeout time.Duration, done <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	a := NewAdmin(adminURL, token)
	a.Client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
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
	var s string
	if err := a.do(ctx, http.MethodGet, "/admin/v2/brokers/ready", nil, &s); err != nil {
		return err
	}
	if strings.TrimSpace(s) != "ok" {
		return fmt.Errorf("/admin/v2/brokers/ready answered %q", s)
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
