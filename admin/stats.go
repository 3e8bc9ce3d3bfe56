package admin

import (
	"context"
	"net/http"
	"net/url"
)

// StatsOptions choose what TopicStats and PartitionedTopicStats compute.
// The zero value (or nil) asks for the broker's cheap estimates.
type StatsOptions struct {
	// PreciseBacklog counts each subscription's backlog exactly (MsgBacklog)
	// instead of estimating it from entries; it costs the broker a scan.
	PreciseBacklog bool
	// SubscriptionBacklogSize computes each subscription's BacklogSize.
	SubscriptionBacklogSize bool
	// PerPartition fills PartitionedTopicStats.Partitions.
	PerPartition bool
}

func (o *StatsOptions) query(partitioned bool) url.Values {
	q := url.Values{}
	if o == nil {
		o = &StatsOptions{}
	}
	if o.PreciseBacklog {
		q.Set("getPreciseBacklog", "true")
	}
	if o.SubscriptionBacklogSize {
		q.Set("subscriptionBacklogSize", "true")
	}
	if partitioned {
		q.Set("perPartition", "false")
		if o.PerPartition {
			q.Set("perPartition", "true")
		}
	}
	return q
}

// TopicStats are a topic's counters and rates, as the broker reports them.
// Rates are per second over the broker's last stats interval; counters
// count since the topic was loaded on its broker. Times are milliseconds
// since the Unix epoch, 0 when there is none.
type TopicStats struct {
	MsgRateIn        float64 `json:"msgRateIn"`
	MsgThroughputIn  float64 `json:"msgThroughputIn"` // bytes per second
	MsgRateOut       float64 `json:"msgRateOut"`
	MsgThroughputOut float64 `json:"msgThroughputOut"` // bytes per second
	MsgInCounter     int64   `json:"msgInCounter"`
	BytesInCounter   int64   `json:"bytesInCounter"`
	MsgOutCounter    int64   `json:"msgOutCounter"`
	BytesOutCounter  int64   `json:"bytesOutCounter"`
	AverageMsgSize   float64 `json:"averageMsgSize"`
	// StorageSize is the bytes the topic stores; BacklogSize the bytes not
	// yet acknowledged by every subscription.
	StorageSize          int64 `json:"storageSize"`
	BacklogSize          int64 `json:"backlogSize"`
	OffloadedStorageSize int64 `json:"offloadedStorageSize"`
	// EarliestMsgPublishTimeInBacklogs is the publish time of the oldest
	// unacknowledged message (when the broker computes it).
	EarliestMsgPublishTimeInBacklogs int64 `json:"earliestMsgPublishTimeInBacklogs"`

	Publishers        []PublisherStats             `json:"publishers"`
	WaitingPublishers int                          `json:"waitingPublishers"`
	Subscriptions     map[string]SubscriptionStats `json:"subscriptions"`
	// Replication is per remote cluster; see the broker's documentation.
	Replication map[string]map[string]any `json:"replication"`

	DeduplicationStatus string `json:"deduplicationStatus"` // e.g. "Disabled"
	OwnerBroker         string `json:"ownerBroker"`         // host:port of the broker serving the topic
}

// PublisherStats describe one connected producer.
type PublisherStats struct {
	ProducerID      int64             `json:"producerId"`
	ProducerName    string            `json:"producerName"`
	AccessMode      string            `json:"accessMode"` // "Shared", "Exclusive", …
	MsgRateIn       float64           `json:"msgRateIn"`
	MsgThroughputIn float64           `json:"msgThroughputIn"`
	AverageMsgSize  float64           `json:"averageMsgSize"`
	Address         string            `json:"address"`
	ConnectedSince  string            `json:"connectedSince"` // RFC 3339
	ClientVersion   string            `json:"clientVersion"`
	Metadata        map[string]string `json:"metadata"`
}

// SubscriptionStats describe one subscription.
type SubscriptionStats struct {
	Type             string  `json:"type"` // "Exclusive", "Shared", "Failover", "Key_Shared", or "None" without consumers
	MsgRateOut       float64 `json:"msgRateOut"`
	MsgThroughputOut float64 `json:"msgThroughputOut"`
	MsgOutCounter    int64   `json:"msgOutCounter"`
	BytesOutCounter  int64   `json:"bytesOutCounter"`
	MsgRateRedeliver float64 `json:"msgRateRedeliver"`
	MessageAckRate   float64 `json:"messageAckRate"`
	MsgRateExpired   float64 `json:"msgRateExpired"`
	TotalMsgExpired  int64   `json:"totalMsgExpired"`
	// MsgBacklog counts the messages not yet acknowledged (entries, unless
	// StatsOptions.PreciseBacklog); BacklogSize their bytes when asked.
	MsgBacklog          int64 `json:"msgBacklog"`
	MsgBacklogNoDelayed int64 `json:"msgBacklogNoDelayed"`
	BacklogSize         int64 `json:"backlogSize"`
	MsgDelayed          int64 `json:"msgDelayed"`
	UnackedMessages     int64 `json:"unackedMessages"`

	BlockedSubscriptionOnUnackedMsgs bool `json:"blockedSubscriptionOnUnackedMsgs"`
	IsDurable                        bool `json:"isDurable"`
	IsReplicated                     bool `json:"isReplicated"`

	LastExpireTimestamp   int64 `json:"lastExpireTimestamp"`
	LastConsumedTimestamp int64 `json:"lastConsumedTimestamp"`
	LastAckedTimestamp    int64 `json:"lastAckedTimestamp"`

	Consumers []ConsumerStats `json:"consumers"`
}

// ConsumerStats describe one connected consumer.
type ConsumerStats struct {
	ConsumerName                 string            `json:"consumerName"`
	MsgRateOut                   float64           `json:"msgRateOut"`
	MsgThroughputOut             float64           `json:"msgThroughputOut"`
	MsgOutCounter                int64             `json:"msgOutCounter"`
	BytesOutCounter              int64             `json:"bytesOutCounter"`
	MsgRateRedeliver             float64           `json:"msgRateRedeliver"`
	AvailablePermits             int64             `json:"availablePermits"`
	UnackedMessages              int64             `json:"unackedMessages"`
	BlockedConsumerOnUnackedMsgs bool              `json:"blockedConsumerOnUnackedMsgs"`
	Address                      string            `json:"address"`
	ConnectedSince               string            `json:"connectedSince"` // RFC 3339
	ClientVersion                string            `json:"clientVersion"`
	LastAckedTimestamp           int64             `json:"lastAckedTimestamp"`
	LastConsumedTimestamp        int64             `json:"lastConsumedTimestamp"`
	Metadata                     map[string]string `json:"metadata"`
}

// PartitionedTopicStats are the stats of a partitioned topic: the sums
// over its partitions (publishers and subscriptions merged), its partition
// count and, with StatsOptions.PerPartition, each partition's own stats by
// full partition name.
type PartitionedTopicStats struct {
	TopicStats
	Metadata struct {
		Partitions int `json:"partitions"`
	} `json:"metadata"`
	Partitions map[string]TopicStats `json:"partitions"`
}

// TopicStats returns the stats of a non-partitioned topic or of one
// partition. The broker updates rates and backlogs asynchronously: after
// a change, poll.
func (c *Client) TopicStats(ctx context.Context, topic string, opts *StatsOptions) (*TopicStats, error) {
	var out TopicStats
	if err := c.topicCall(ctx, "TopicStats", topic, http.MethodGet, "/stats", opts.query(false), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PartitionedTopicStats returns the stats of a partitioned topic.
func (c *Client) PartitionedTopicStats(ctx context.Context, topic string, opts *StatsOptions) (*PartitionedTopicStats, error) {
	var out PartitionedTopicStats
	if err := c.topicCall(ctx, "PartitionedTopicStats", topic, http.MethodGet, "/partitioned-stats", opts.query(true), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// InternalStats are the storage-level stats of a persistent topic (or one
// partition): its managed ledger and the cursor of each subscription.
// Positions are "ledger:entry".
type InternalStats struct {
	EntriesAddedCounter        int64  `json:"entriesAddedCounter"`
	NumberOfEntries            int64  `json:"numberOfEntries"`
	TotalSize                  int64  `json:"totalSize"`
	CurrentLedgerEntries       int64  `json:"currentLedgerEntries"`
	CurrentLedgerSize          int64  `json:"currentLedgerSize"`
	LastLedgerCreatedTimestamp string `json:"lastLedgerCreatedTimestamp"`
	WaitingCursorsCount        int    `json:"waitingCursorsCount"`
	PendingAddEntriesCount     int    `json:"pendingAddEntriesCount"`
	LastConfirmedEntry         string `json:"lastConfirmedEntry"`
	State                      string `json:"state"` // e.g. "LedgerOpened"

	Ledgers         []LedgerInfo `json:"ledgers"`
	CompactedLedger LedgerInfo   `json:"compactedLedger"`
	// Cursors are keyed by subscription name (decoded: the broker keys
	// them by the URL-encoded name).
	Cursors map[string]CursorStats `json:"cursors"`
}

// LedgerInfo describes one ledger of a topic.
type LedgerInfo struct {
	LedgerID        int64 `json:"ledgerId"`
	Entries         int64 `json:"entries"`
	Size            int64 `json:"size"`
	Offloaded       bool  `json:"offloaded"`
	UnderReplicated bool  `json:"underReplicated"`
}

// CursorStats describe a subscription's cursor.
type CursorStats struct {
	MarkDeletePosition                       string           `json:"markDeletePosition"`
	ReadPosition                             string           `json:"readPosition"`
	WaitingReadOp                            bool             `json:"waitingReadOp"`
	PendingReadOps                           int              `json:"pendingReadOps"`
	MessagesConsumedCounter                  int64            `json:"messagesConsumedCounter"`
	CursorLedger                             int64            `json:"cursorLedger"`
	CursorLedgerLastEntry                    int64            `json:"cursorLedgerLastEntry"`
	IndividuallyDeletedMessages              string           `json:"individuallyDeletedMessages"`
	LastLedgerSwitchTimestamp                string           `json:"lastLedgerSwitchTimestamp"`
	State                                    string           `json:"state"`
	Active                                   bool             `json:"active"`
	NumberOfEntriesSinceFirstNotAckedMessage int64            `json:"numberOfEntriesSinceFirstNotAckedMessage"`
	TotalNonContiguousDeletedMessagesRange   int64            `json:"totalNonContiguousDeletedMessagesRange"`
	Properties                               map[string]int64 `json:"properties"`
}

// InternalStats returns the storage-level stats of a persistent
// non-partitioned topic or of one partition.
func (c *Client) InternalStats(ctx context.Context, topic string) (*InternalStats, error) {
	var out InternalStats
	if err := c.topicCall(ctx, "InternalStats", topic, http.MethodGet, "/internalStats", nil, nil, &out); err != nil {
		return nil, err
	}
	if len(out.Cursors) > 0 {
		decoded := make(map[string]CursorStats, len(out.Cursors))
		for k, v := range out.Cursors {
			if d, err := url.QueryUnescape(k); err == nil {
				k = d
			}
			decoded[k] = v
		}
		out.Cursors = decoded
	}
	return &out, nil
}
