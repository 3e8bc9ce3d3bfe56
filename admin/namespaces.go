package admin

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Namespaces lists the namespaces of a tenant, as "tenant/namespace".
func (c *Client) Namespaces(ctx context.Context, tenant string) ([]string, error) {
	if !namedEntity(tenant) {
		_, err := tenantPath(tenant)
		return nil, err
	}
	var out []string
	err := c.do(ctx, request{Op: "Namespaces", Name: tenant, Method: http.MethodGet, Path: v2 + "/namespaces/" + tenant}, &out)
	return out, err
}

// CreateNamespace creates a namespace, "tenant/namespace", with the
// broker's default policies. An existing namespace is an error matching
// ErrConflict; a missing tenant one matching ErrNotFound.
func (c *Client) CreateNamespace(ctx context.Context, namespace string) error {
	return c.nsCall(ctx, "CreateNamespace", namespace, http.MethodPut, "", nil, nil, nil)
}

// DeleteNamespace deletes a namespace, which must hold no topics unless
// opts.Force is set (an error matching ErrConflict otherwise). Right
// after its topics were deleted the broker may still answer 409 for a
// moment.
func (c *Client) DeleteNamespace(ctx context.Context, namespace string, opts *DeleteOptions) error {
	return c.nsCall(ctx, "DeleteNamespace", namespace, http.MethodDelete, "", opts.query(), nil, nil)
}

// nsCall runs one call on namespace + suffix.
func (c *Client) nsCall(ctx context.Context, op, ns, method, suffix string, q url.Values, body, out any) error {
	p, err := namespacePath(ns)
	if err != nil {
		return err
	}
	return c.do(ctx, request{Op: op, Name: ns, Method: method, Path: p + suffix, Query: q, Body: body}, out)
}

// Retention is how much of its acknowledged messages a namespace keeps, so
// that readers and reset cursors can go back to them. Messages are kept
// while both limits allow.
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

// Retention returns a namespace's retention policy. set is false when the
// namespace has none of its own (the broker's default applies; r is zero).
func (c *Client) Retention(ctx context.Context, namespace string) (r Retention, set bool, err error) {
	var out *retentionJSON
	if err := c.nsCall(ctx, "Retention", namespace, http.MethodGet, "/retention", nil, nil, &out); err != nil || out == nil {
		return Retention{}, false, err
	}
	r = Retention{Time: time.Duration(out.Minutes) * time.Minute, SizeMB: out.SizeMB}
	if out.Minutes < 0 {
		r.Time = -1
	}
	return r, true, nil
}

// SetRetention sets a namespace's retention policy. A positive r.Time must
// be a whole number of minutes.
func (c *Client) SetRetention(ctx context.Context, namespace string, r Retention) error {
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
	return c.nsCall(ctx, "SetRetention", namespace, http.MethodPost, "/retention", nil, body, nil)
}

// RemoveRetention removes a namespace's own retention policy; the broker's
// default applies again.
func (c *Client) RemoveRetention(ctx context.Context, namespace string) error {
	return c.nsCall(ctx, "RemoveRetention", namespace, http.MethodDelete, "/retention", nil, nil, nil)
}

// MessageTTL returns a namespace's message time to live: unacknowledged
// messages older than it are acknowledged by the broker. set is false when
// the namespace has none of its own (the broker's default applies).
func (c *Client) MessageTTL(ctx context.Context, namespace string) (ttl time.Duration, set bool, err error) {
	var out *int64
	if err := c.nsCall(ctx, "MessageTTL", namespace, http.MethodGet, "/messageTTL", nil, nil, &out); err != nil || out == nil {
		return 0, false, err
	}
	return time.Duration(*out) * time.Second, true, nil
}

// SetMessageTTL sets a namespace's message time to live, a whole number of
// seconds; zero means messages never expire.
func (c *Client) SetMessageTTL(ctx context.Context, namespace string, ttl time.Duration) error {
	if ttl < 0 || ttl%time.Second != 0 || ttl/time.Second > 1<<31-1 {
		return argErr("message TTL", ttl.String(), "must be a whole, non-negative number of seconds below 2^31")
	}
	return c.nsCall(ctx, "SetMessageTTL", namespace, http.MethodPost, "/messageTTL", nil, int64(ttl/time.Second), nil)
}

// RemoveMessageTTL removes a namespace's own message time to live; the
// broker's default applies again.
func (c *Client) RemoveMessageTTL(ctx context.Context, namespace string) error {
	return c.nsCall(ctx, "RemoveMessageTTL", namespace, http.MethodDelete, "/messageTTL", nil, nil, nil)
}

// Deduplication reports whether a namespace deduplicates messages by
// producer name and sequence ID. set is false when the namespace has no
// setting of its own (the broker's default applies).
func (c *Client) Deduplication(ctx context.Context, namespace string) (enabled, set bool, err error) {
	var out *bool
	if err := c.nsCall(ctx, "Deduplication", namespace, http.MethodGet, "/deduplication", nil, nil, &out); err != nil || out == nil {
		return false, false, err
	}
	return *out, true, nil
}

// SetDeduplication turns message deduplication on or off for a namespace.
func (c *Client) SetDeduplication(ctx context.Context, namespace string, enabled bool) error {
	return c.nsCall(ctx, "SetDeduplication", namespace, http.MethodPost, "/deduplication", nil, enabled, nil)
}

// RemoveDeduplication removes a namespace's own deduplication setting; the
// broker's default applies again.
func (c *Client) RemoveDeduplication(ctx context.Context, namespace string) error {
	return c.nsCall(ctx, "RemoveDeduplication", namespace, http.MethodDelete, "/deduplication", nil, nil, nil)
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
	var out map[BacklogQuotaType]backlogQuotaJSON
	if err := c.nsCall(ctx, "BacklogQuotas", namespace, http.MethodGet, "/backlogQuotaMap", nil, nil, &out); err != nil {
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
	if typ != BacklogSize && typ != BacklogAge {
		return argErr("backlog quota type", string(typ), `want "destination_storage" (BacklogSize) or "message_age" (BacklogAge)`)
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
	return c.nsCall(ctx, "SetBacklogQuota", namespace, http.MethodPost, "/backlogQuota",
		url.Values{"backlogQuotaType": {string(typ)}}, body, nil)
}

// RemoveBacklogQuota removes a namespace's backlog quota of type typ.
func (c *Client) RemoveBacklogQuota(ctx context.Context, namespace string, typ BacklogQuotaType) error {
	if typ != BacklogSize && typ != BacklogAge {
		return argErr("backlog quota type", string(typ), `want "destination_storage" (BacklogSize) or "message_age" (BacklogAge)`)
	}
	return c.nsCall(ctx, "RemoveBacklogQuota", namespace, http.MethodDelete, "/backlogQuota",
		url.Values{"backlogQuotaType": {string(typ)}}, nil, nil)
}

func itoa(n int) string { return strconv.Itoa(n) }
