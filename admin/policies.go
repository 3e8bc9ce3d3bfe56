package admin

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Policies (retention, message TTL, deduplication, backlog quotas) are set
// on a namespace or on one topic; a topic's own policy overrides its
// namespace's. Topic policies need the broker setting
// topicLevelPoliciesEnabled (on by default) and take effect
// asynchronously: a read right after a write may still return the
// previous value. Getters report set=false when the namespace or topic has
// no policy of its own (the namespace's or the broker's default applies).

// scope is what a policy is set on: a namespace or a topic.
type scope struct {
	name, path string
	topic      bool
}

func nsScope(ns string) (scope, error) {
	p, err := namespacePath(ns)
	return scope{name: ns, path: p}, err
}

func topicScope(topic string) (scope, error) {
	t, err := parseTopic(topic)
	return scope{name: t.String(), path: t.path, topic: true}, err
}

type scoper func(string) (scope, error)

func (c *Client) scoped(ctx context.Context, op string, mk scoper, name, method, suffix string, q url.Values, body, out any) error {
	s, err := mk(name)
	if err != nil {
		return err
	}
	return c.do(ctx, request{Op: op, Name: s.name, Method: method, Path: s.path + suffix, Query: q, Body: body}, out)
}

// Retention is how much of its acknowledged messages a namespace or topic
// keeps, so that readers and reset cursors can go back to them. Messages
// are kept while both limits allow.
type Retention struct {
	// Time is how long acknowledged messages are kept, in whole minutes;
	// negative means without limit.
	Time time.Duration
	// SizeMB is how many megabytes of them are kept per topic; negative
	// means without limit.
	SizeMB int64
}

type retentionJSON struct {
	Minutes int64 `json:"retentionTimeInMinutes"`
	SizeMB  int64 `json:"retentionSizeInMB"`
}

// Retention returns a namespace's retention policy.
func (c *Client) Retention(ctx context.Context, namespace string) (r Retention, set bool, err error) {
	return c.retention(ctx, "Retention", nsScope, namespace)
}

// TopicRetention returns a topic's own retention policy.
func (c *Client) TopicRetention(ctx context.Context, topic string) (r Retention, set bool, err error) {
	return c.retention(ctx, "TopicRetention", topicScope, topic)
}

func (c *Client) retention(ctx context.Context, op string, mk scoper, name string) (Retention, bool, error) {
	var out *retentionJSON
	if err := c.scoped(ctx, op, mk, name, http.MethodGet, "/retention", nil, nil, &out); err != nil || out == nil {
		return Retention{}, false, err
	}
	r := Retention{Time: time.Duration(out.Minutes) * time.Minute, SizeMB: out.SizeMB}
	if out.Minutes < 0 {
		r.Time = -1
	}
	return r, true, nil
}

// SetRetention sets a namespace's retention policy. A positive r.Time must
// be a whole number of minutes. The broker refuses a retention smaller
// than the backlog quota (ErrPreconditionFailed).
func (c *Client) SetRetention(ctx context.Context, namespace string, r Retention) error {
	return c.setRetention(ctx, "SetRetention", nsScope, namespace, r)
}

// SetTopicRetention sets a topic's own retention policy (see SetRetention).
func (c *Client) SetTopicRetention(ctx context.Context, topic string, r Retention) error {
	return c.setRetention(ctx, "SetTopicRetention", topicScope, topic, r)
}

func (c *Client) setRetention(ctx context.Context, op string, mk scoper, name string, r Retention) error {
	body := retentionJSON{Minutes: -1, SizeMB: r.SizeMB}
	if r.Time >= 0 {
		if r.Time%time.Minute != 0 {
			return argErr("Retention.Time", r.Time.String(), "must be a whole number of minutes (or negative for no limit)")
		}
		body.Minutes = int64(r.Time / time.Minute)
	}
	if r.SizeMB < 0 {
		body.SizeMB = -1
	}
	return c.scoped(ctx, op, mk, name, http.MethodPost, "/retention", nil, body, nil)
}

// RemoveRetention removes a namespace's own retention policy.
func (c *Client) RemoveRetention(ctx context.Context, namespace string) error {
	return c.scoped(ctx, "RemoveRetention", nsScope, namespace, http.MethodDelete, "/retention", nil, nil, nil)
}

// RemoveTopicRetention removes a topic's own retention policy.
func (c *Client) RemoveTopicRetention(ctx context.Context, topic string) error {
	return c.scoped(ctx, "RemoveTopicRetention", topicScope, topic, http.MethodDelete, "/retention", nil, nil, nil)
}

// MessageTTL returns a namespace's message time to live: unacknowledged
// messages older than it are acknowledged by the broker.
func (c *Client) MessageTTL(ctx context.Context, namespace string) (ttl time.Duration, set bool, err error) {
	return c.messageTTL(ctx, "MessageTTL", nsScope, namespace)
}

// TopicMessageTTL returns a topic's own message time to live.
func (c *Client) TopicMessageTTL(ctx context.Context, topic string) (ttl time.Duration, set bool, err error) {
	return c.messageTTL(ctx, "TopicMessageTTL", topicScope, topic)
}

func (c *Client) messageTTL(ctx context.Context, op string, mk scoper, name string) (time.Duration, bool, error) {
	var out *int64
	if err := c.scoped(ctx, op, mk, name, http.MethodGet, "/messageTTL", nil, nil, &out); err != nil || out == nil {
		return 0, false, err
	}
	return time.Duration(*out) * time.Second, true, nil
}

// SetMessageTTL sets a namespace's message time to live, a whole number of
// seconds; zero means messages never expire.
func (c *Client) SetMessageTTL(ctx context.Context, namespace string, ttl time.Duration) error {
	return c.setMessageTTL(ctx, "SetMessageTTL", nsScope, namespace, ttl)
}

// SetTopicMessageTTL sets a topic's own message time to live (see
// SetMessageTTL).
func (c *Client) SetTopicMessageTTL(ctx context.Context, topic string, ttl time.Duration) error {
	return c.setMessageTTL(ctx, "SetTopicMessageTTL", topicScope, topic, ttl)
}

func (c *Client) setMessageTTL(ctx context.Context, op string, mk scoper, name string, ttl time.Duration) error {
	if ttl < 0 || ttl%time.Second != 0 || ttl/time.Second > 1<<31-1 {
		return argErr("message TTL", ttl.String(), "must be a whole, non-negative number of seconds below 2^31")
	}
	secs := int64(ttl / time.Second)
	s, err := mk(name)
	if err != nil {
		return err
	}
	if s.topic { // the topic call takes a query parameter, the namespace call a body
		return c.scoped(ctx, op, mk, name, http.MethodPost, "/messageTTL", url.Values{"messageTTL": {strconv.FormatInt(secs, 10)}}, nil, nil)
	}
	return c.scoped(ctx, op, mk, name, http.MethodPost, "/messageTTL", nil, secs, nil)
}

// RemoveMessageTTL removes a namespace's own message time to live.
func (c *Client) RemoveMessageTTL(ctx context.Context, namespace string) error {
	return c.scoped(ctx, "RemoveMessageTTL", nsScope, namespace, http.MethodDelete, "/messageTTL", nil, nil, nil)
}

// RemoveTopicMessageTTL removes a topic's own message time to live.
func (c *Client) RemoveTopicMessageTTL(ctx context.Context, topic string) error {
	return c.scoped(ctx, "RemoveTopicMessageTTL", topicScope, topic, http.MethodDelete, "/messageTTL", nil, nil, nil)
}

// Deduplication reports whether a namespace deduplicates messages by
// producer name and sequence ID.
func (c *Client) Deduplication(ctx context.Context, namespace string) (enabled, set bool, err error) {
	return c.dedup(ctx, "Deduplication", nsScope, namespace, "/deduplication")
}

// TopicDeduplication reports a topic's own deduplication setting.
func (c *Client) TopicDeduplication(ctx context.Context, topic string) (enabled, set bool, err error) {
	return c.dedup(ctx, "TopicDeduplication", topicScope, topic, "/deduplicationEnabled")
}

func (c *Client) dedup(ctx context.Context, op string, mk scoper, name, suffix string) (bool, bool, error) {
	var out *bool
	if err := c.scoped(ctx, op, mk, name, http.MethodGet, suffix, nil, nil, &out); err != nil || out == nil {
		return false, false, err
	}
	return *out, true, nil
}

// SetDeduplication turns message deduplication on or off for a namespace.
func (c *Client) SetDeduplication(ctx context.Context, namespace string, enabled bool) error {
	return c.scoped(ctx, "SetDeduplication", nsScope, namespace, http.MethodPost, "/deduplication", nil, enabled, nil)
}

// SetTopicDeduplication turns message deduplication on or off for a topic.
func (c *Client) SetTopicDeduplication(ctx context.Context, topic string, enabled bool) error {
	return c.scoped(ctx, "SetTopicDeduplication", topicScope, topic, http.MethodPost, "/deduplicationEnabled", nil, enabled, nil)
}

// RemoveDeduplication removes a namespace's own deduplication setting.
func (c *Client) RemoveDeduplication(ctx context.Context, namespace string) error {
	return c.scoped(ctx, "RemoveDeduplication", nsScope, namespace, http.MethodDelete, "/deduplication", nil, nil, nil)
}

// RemoveTopicDeduplication removes a topic's own deduplication setting.
func (c *Client) RemoveTopicDeduplication(ctx context.Context, topic string) error {
	return c.scoped(ctx, "RemoveTopicDeduplication", topicScope, topic, http.MethodDelete, "/deduplicationEnabled", nil, nil, nil)
}

// BacklogQuotaType says what a backlog quota limits.
type BacklogQuotaType string

// Backlog quota types.
const (
	// BacklogSize limits the size of a subscription's backlog (LimitSize).
	BacklogSize BacklogQuotaType = "destination_storage"
	// BacklogAge limits the age of a subscription's oldest unacknowledged
	// message (LimitTime).
	BacklogAge BacklogQuotaType = "message_age"
)

// BacklogPolicy is what the broker does when a backlog quota is exceeded.
type BacklogPolicy string

// Backlog policies.
const (
	// ProducerRequestHold holds producers' sends until the backlog shrinks.
	ProducerRequestHold BacklogPolicy = "producer_request_hold"
	// ProducerException fails producers' sends.
	ProducerException BacklogPolicy = "producer_exception"
	// ConsumerBacklogEviction drops the oldest messages of the backlog.
	ConsumerBacklogEviction BacklogPolicy = "consumer_backlog_eviction"
)

// BacklogQuota is a limit on subscriptions' backlogs.
type BacklogQuota struct {
	// LimitSize is the backlog size limit in bytes, for BacklogSize;
	// negative means none.
	LimitSize int64
	// LimitTime is the age limit, a whole number of seconds, for
	// BacklogAge; negative means none.
	LimitTime time.Duration
	// Policy is what happens when the limit is exceeded.
	Policy BacklogPolicy
}

type backlogQuotaJSON struct {
	LimitSize int64         `json:"limitSize"`
	LimitTime int64         `json:"limitTime"`
	Policy    BacklogPolicy `json:"policy"`
}

// BacklogQuotas returns a namespace's backlog quotas by type. A type the
// namespace sets no quota for is absent.
func (c *Client) BacklogQuotas(ctx context.Context, namespace string) (map[BacklogQuotaType]BacklogQuota, error) {
	return c.backlogQuotas(ctx, "BacklogQuotas", nsScope, namespace)
}

// TopicBacklogQuotas returns a topic's own backlog quotas by type.
func (c *Client) TopicBacklogQuotas(ctx context.Context, topic string) (map[BacklogQuotaType]BacklogQuota, error) {
	return c.backlogQuotas(ctx, "TopicBacklogQuotas", topicScope, topic)
}

func (c *Client) backlogQuotas(ctx context.Context, op string, mk scoper, name string) (map[BacklogQuotaType]BacklogQuota, error) {
	var out map[BacklogQuotaType]backlogQuotaJSON
	if err := c.scoped(ctx, op, mk, name, http.MethodGet, "/backlogQuotaMap", nil, nil, &out); err != nil {
		return nil, err
	}
	m := make(map[BacklogQuotaType]BacklogQuota, len(out))
	for k, q := range out {
		bq := BacklogQuota{LimitSize: q.LimitSize, LimitTime: time.Duration(q.LimitTime) * time.Second, Policy: q.Policy}
		if q.LimitTime < 0 {
			bq.LimitTime = -1
		}
		m[k] = bq
	}
	return m, nil
}

// SetBacklogQuota sets a namespace's backlog quota of type typ.
func (c *Client) SetBacklogQuota(ctx context.Context, namespace string, typ BacklogQuotaType, q BacklogQuota) error {
	return c.setBacklogQuota(ctx, "SetBacklogQuota", nsScope, namespace, typ, q)
}

// SetTopicBacklogQuota sets a topic's own backlog quota of type typ. The
// broker refuses a quota larger than the topic's retention
// (ErrPreconditionFailed).
func (c *Client) SetTopicBacklogQuota(ctx context.Context, topic string, typ BacklogQuotaType, q BacklogQuota) error {
	return c.setBacklogQuota(ctx, "SetTopicBacklogQuota", topicScope, topic, typ, q)
}

func (c *Client) setBacklogQuota(ctx context.Context, op string, mk scoper, name string, typ BacklogQuotaType, q BacklogQuota) error {
	if err := checkQuotaType(typ); err != nil {
		return err
	}
	switch q.Policy {
	case ProducerRequestHold, ProducerException, ConsumerBacklogEviction:
	default:
		return argErr("BacklogQuota.Policy", string(q.Policy), "want producer_request_hold, producer_exception or consumer_backlog_eviction")
	}
	body := backlogQuotaJSON{LimitSize: q.LimitSize, LimitTime: -1, Policy: q.Policy}
	if q.LimitTime >= 0 {
		if q.LimitTime%time.Second != 0 || q.LimitTime/time.Second > 1<<31-1 {
			return argErr("BacklogQuota.LimitTime", q.LimitTime.String(), "must be a whole number of seconds below 2^31 (or negative for none)")
		}
		body.LimitTime = int64(q.LimitTime / time.Second)
	}
	if q.LimitSize < 0 {
		body.LimitSize = -1
	}
	return c.scoped(ctx, op, mk, name, http.MethodPost, "/backlogQuota", url.Values{"backlogQuotaType": {string(typ)}}, body, nil)
}

func checkQuotaType(typ BacklogQuotaType) error {
	if typ != BacklogSize && typ != BacklogAge {
		return argErr("backlog quota type", string(typ), `want "destination_storage" (BacklogSize) or "message_age" (BacklogAge)`)
	}
	return nil
}

// RemoveBacklogQuota removes a namespace's backlog quota of type typ.
func (c *Client) RemoveBacklogQuota(ctx context.Context, namespace string, typ BacklogQuotaType) error {
	return c.removeBacklogQuota(ctx, "RemoveBacklogQuota", nsScope, namespace, typ)
}

// RemoveTopicBacklogQuota removes a topic's own backlog quota of type typ.
func (c *Client) RemoveTopicBacklogQuota(ctx context.Context, topic string, typ BacklogQuotaType) error {
	return c.removeBacklogQuota(ctx, "RemoveTopicBacklogQuota", topicScope, topic, typ)
}

func (c *Client) removeBacklogQuota(ctx context.Context, op string, mk scoper, name string, typ BacklogQuotaType) error {
	if err := checkQuotaType(typ); err != nil {
		return err
	}
	return c.scoped(ctx, op, mk, name, http.MethodDelete, "/backlogQuota", url.Values{"backlogQuotaType": {string(typ)}}, nil, nil)
}
