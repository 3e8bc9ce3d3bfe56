package stargatetest

import "strings"

// statsJSONLocked renders TopicStats for topics (summed over partitions).
func (s *Server) statsJSONLocked(parts []*topic) map[string]any {
	var msgIn, msgOut, storage, backlogBytes int64
	subs := map[string]map[string]any{}
	publishers := []any{}
	for _, t := range parts {
		msgIn += t.msgIn
		msgOut += t.msgOut
		for _, e := range t.msgs {
			storage += int64(len(e.payload))
		}
		for p := range t.producers {
			publishers = append(publishers, map[string]any{"producerName": p.name, "accessMode": "Shared",
				"metadata": map[string]string{}})
		}
		for _, name := range sortedKeys(t.subs) {
			sub := t.subs[name]
			ss := subs[name]
			if ss == nil {
				ss = map[string]any{"type": "None", "msgBacklog": int64(0), "msgBacklogNoDelayed": int64(0),
					"unackedMessages": int64(0), "msgOutCounter": int64(0), "bytesOutCounter": int64(0),
					"isDurable": sub.durable, "isReplicated": false, "backlogSize": int64(0),
					"consumers": []any{}, "msgRateOut": 0.0, "msgThroughputOut": 0.0}
				subs[name] = ss
			}
			if len(sub.consumers) > 0 && sub.typ != "" {
				ss["type"] = sub.typ
			}
			ss["msgBacklog"] = ss["msgBacklog"].(int64) + int64(sub.backlog())
			ss["msgBacklogNoDelayed"] = ss["msgBacklog"]
			if sub.sharedLike() { // the broker tracks unacked messages only there
				ss["unackedMessages"] = ss["unackedMessages"].(int64) + int64(len(sub.pending))
			}
			ss["msgOutCounter"] = ss["msgOutCounter"].(int64) + sub.msgOut
			var subBacklogBytes int64
			for pos := sub.markDelete; pos < len(t.msgs); pos++ {
				if !sub.isAcked(pos) {
					subBacklogBytes += int64(len(t.msgs[pos].payload))
				}
			}
			backlogBytes = max(backlogBytes, subBacklogBytes)
			ss["backlogSize"] = ss["backlogSize"].(int64) + subBacklogBytes
			cons := ss["consumers"].([]any)
			for _, c := range sub.consumers {
				unacked := 0
				for _, p := range sub.pending {
					if p.c == c && sub.sharedLike() {
						unacked++
					}
				}
				cons = append(cons, map[string]any{"consumerName": c.name, "unackedMessages": unacked,
					"availablePermits": max(c.window-c.pending, 0), "metadata": map[string]string{}})
			}
			ss["consumers"] = cons
		}
	}
	return map[string]any{
		"msgRateIn": 0.0, "msgThroughputIn": 0.0, "msgRateOut": 0.0, "msgThroughputOut": 0.0,
		"msgInCounter": msgIn, "bytesInCounter": storage, "msgOutCounter": msgOut, "bytesOutCounter": int64(0),
		"averageMsgSize": 0.0, "storageSize": storage, "backlogSize": backlogBytes,
		"offloadedStorageSize": 0, "earliestMsgPublishTimeInBacklogs": 0,
		"publishers": publishers, "waitingPublishers": 0, "subscriptions": subs,
		"replication": map[string]any{}, "deduplicationStatus": "Disabled", "ownerBroker": strings.TrimPrefix(s.url, "ws://"),
	}
}
