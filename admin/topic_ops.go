package admin

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stargate-go/stargate"
)

// TopicLookup is where a topic is served: the addresses of the broker
// that owns it.
type TopicLookup struct {
	BrokerURL    string `json:"brokerUrl"`    // pulsar://…
	BrokerURLTLS string `json:"brokerUrlTls"` // pulsar+ssl://…, when TLS is on
	HTTPURL      string `json:"httpUrl"`      // http://… (admin and WebSocket)
	HTTPURLTLS   string `json:"httpUrlTls"`   // https://…, when TLS is on
	NativeURL    string `json:"nativeUrl"`
}

// LookupTopic returns the broker that owns a topic (asking assigns one if
// none does).
func (c *Client) LookupTopic(ctx context.Context, topic string) (TopicLookup, error) {
	var out TopicLookup
	err := c.lookupCall(ctx, "LookupTopic", topic, "", &out)
	return out, err
}

// TopicBundle returns the namespace bundle a topic belongs to, e.g.
// "0x00000000_0x40000000".
func (c *Client) TopicBundle(ctx context.Context, topic string) (string, error) {
	t, err := parseTopic(topic)
	if err != nil {
		return "", err
	}
	resp, err := c.send(ctx, request{Op: "TopicBundle", Name: t.String(), Method: http.MethodGet,
		Path: "/lookup/v2/topic/" + strings.TrimPrefix(t.path, v2+"/") + "/bundle"}, "*/*")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(resp.Body)), nil
}

func (c *Client) lookupCall(ctx context.Context, op, topic, suffix string, out any) error {
	t, err := parseTopic(topic)
	if err != nil {
		return err
	}
	return c.do(ctx, request{Op: op, Name: t.String(), Method: http.MethodGet,
		Path: "/lookup/v2/topic/" + strings.TrimPrefix(t.path, v2+"/") + suffix}, out)
}

// CompactTopic starts the compaction of a persistent topic: a compacted
// view keeping the latest message of each key. It returns once started;
// see CompactionStatus.
func (c *Client) CompactTopic(ctx context.Context, topic string) error {
	return c.topicCall(ctx, "CompactTopic", topic, http.MethodPut, "/compaction", nil, nil, nil)
}

// CompactionStatus is the state of a topic's last compaction.
type CompactionStatus struct {
	Status    string `json:"status"`    // "NOT_RUN", "RUNNING", "SUCCESS" or "ERROR"
	LastError string `json:"lastError"` // set with "ERROR"
}

// CompactionStatus returns the state of a topic's last compaction.
func (c *Client) CompactionStatus(ctx context.Context, topic string) (CompactionStatus, error) {
	var out CompactionStatus
	err := c.topicCall(ctx, "CompactionStatus", topic, http.MethodGet, "/compaction", nil, nil, &out)
	return out, err
}

// TerminatePartitionedTopic terminates every partition of a partitioned
// topic (see TerminateTopic) and returns each partition's last message ID
// by partition index. A partition without messages has EntryID -1.
func (c *Client) TerminatePartitionedTopic(ctx context.Context, topic string) (map[int]stargate.MessageID, error) {
	var out map[string]messageIDJSON
	if err := c.topicCall(ctx, "TerminatePartitionedTopic", topic, http.MethodPost, "/terminate/partitions", nil, nil, &out); err != nil {
		return nil, err
	}
	ids := make(map[int]stargate.MessageID, len(out))
	for k, j := range out {
		i, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		id := j.id()
		id.Partition = int32(i)
		ids[i] = id
	}
	return ids, nil
}

// CreateMissedPartitions creates the partitions of a partitioned topic
// that its metadata lists but that do not exist (e.g. after a failed
// create or UpdatePartitions).
func (c *Client) CreateMissedPartitions(ctx context.Context, topic string) error {
	return c.topicCall(ctx, "CreateMissedPartitions", topic, http.MethodPost, "/createMissedPartitions", nil, nil, nil)
}

// AuthAction is what a role may do on a topic or namespace.
type AuthAction string

// Authorization actions.
const (
	ActionProduce   AuthAction = "produce"
	ActionConsume   AuthAction = "consume"
	ActionFunctions AuthAction = "functions"
	ActionSources   AuthAction = "sources"
	ActionSinks     AuthAction = "sinks"
	ActionPackages  AuthAction = "packages"
)

// rolePath checks a role name and returns it escaped for a path segment
// (the broker decodes it once).
func rolePath(role string) (string, error) {
	if role == "" || !utf8.ValidString(role) || strings.IndexByte(role, 0) >= 0 {
		return "", argErr("role", role, "must be non-empty valid UTF-8 without NUL")
	}
	return escapeName(role), nil
}

func checkActions(actions []AuthAction) error {
	if len(actions) == 0 {
		return argErr("actions", "", "name at least one action")
	}
	for _, a := range actions {
		switch a {
		case ActionProduce, ActionConsume, ActionFunctions, ActionSources, ActionSinks, ActionPackages:
		default:
			return argErr("action", string(a), "want produce, consume, functions, sources, sinks or packages")
		}
	}
	return nil
}

// TopicPermissions returns the roles granted on a topic itself (not those
// inherited from its namespace) and their actions.
func (c *Client) TopicPermissions(ctx context.Context, topic string) (map[string][]AuthAction, error) {
	var out map[string][]AuthAction
	err := c.topicCall(ctx, "TopicPermissions", topic, http.MethodGet, "/permissions", nil, nil, &out)
	return out, err
}

// GrantTopicPermission grants role the actions on a topic, replacing what
// it was granted on the topic before.
func (c *Client) GrantTopicPermission(ctx context.Context, topic, role string, actions ...AuthAction) error {
	r, err := rolePath(role)
	if err != nil {
		return err
	}
	if err := checkActions(actions); err != nil {
		return err
	}
	return c.topicCall(ctx, "GrantTopicPermission", topic, http.MethodPost, "/permissions/"+r, nil, actions, nil)
}

// RevokeTopicPermission revokes what role was granted on a topic.
func (c *Client) RevokeTopicPermission(ctx context.Context, topic, role string) error {
	r, err := rolePath(role)
	if err != nil {
		return err
	}
	return c.topicCall(ctx, "RevokeTopicPermission", topic, http.MethodDelete, "/permissions/"+r, nil, nil, nil)
}
