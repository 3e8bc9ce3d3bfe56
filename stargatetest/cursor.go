package stargatetest

import "time"

// Cursor operations of the admin API on one subscription. Positions are
// indexes into topic.msgs; the broker positions cursors on entries, so a
// position inside a batch moves to the batch's first message.

// entryStart returns the first position of the entry holding pos.
func (t *topic) entryStart(pos int) int {
	for pos > 0 && pos < len(t.msgs) && t.msgs[pos-1].id.entry == t.msgs[pos].id.entry {
		pos--
	}
	return pos
}

// positionOf returns the position of the entry (ledger, entry): the first
// message of that entry, or of the next one when it does not exist.
func (t *topic) positionOf(ledger, entry int64) int {
	switch {
	case ledger < t.ledger: // earliest (-1) or a ledger before this one
		return 0
	case ledger > t.ledger: // latest (MaxInt64) or a later ledger
		return len(t.msgs)
	}
	for pos, e := range t.msgs {
		if e.id.entry >= entry {
			return pos
		}
	}
	return len(t.msgs)
}

// positionAt returns the first position published at or after at.
func (t *topic) positionAt(at time.Time) int {
	for pos, e := range t.msgs {
		if !e.publishTime.Before(at.Truncate(time.Millisecond)) {
			return pos
		}
	}
	return len(t.msgs)
}

// resetLocked moves sub's cursor to pos: positions before it count as
// acknowledged, the ones from it on (acknowledged or not) are delivered
// again. Deliveries outstanding are forgotten, like the broker forgets
// them when it disconnects the subscription's consumers for a reset; the
// WebSocket sessions stay open (the proxy's consumer re-subscribes) and
// the subscription's consumers are dispatched to from the new position.
func (s *Server) resetLocked(sub *subscription, pos int) {
	sub.cursor, sub.markDelete = pos, pos
	clear(sub.acked)
	clear(sub.replay)
	clear(sub.pending)
	clear(sub.redeliveries)
	clear(sub.keyOwner)
	sub.seq++ // outstanding ack-timeout and nack timers are now stale
	s.dispatchLocked(sub)
}

// ackBeforeLocked acknowledges every position below pos (skip, expire,
// clear backlog), keeping what lies after it.
func (s *Server) ackBeforeLocked(sub *subscription, pos int) {
	for p := sub.markDelete; p < pos; p++ {
		sub.ack(p)
	}
	if sub.cursor < pos {
		sub.cursor = pos
	}
	s.dispatchLocked(sub)
}

// skipLocked acknowledges the next n unacknowledged entries of sub's
// backlog (a batch counts as one, as on the broker).
func (s *Server) skipLocked(sub *subscription, n int) {
	msgs := sub.t.msgs
	for pos := sub.markDelete; pos < len(msgs) && n > 0; {
		end := pos + 1
		for end < len(msgs) && msgs[end].id.entry == msgs[pos].id.entry {
			end++
		}
		skipped := false
		for p := pos; p < end; p++ {
			if !sub.isAcked(p) {
				sub.ack(p)
				skipped = true
			}
		}
		if skipped {
			n--
		}
		pos = end
	}
	if sub.cursor < sub.markDelete {
		sub.cursor = sub.markDelete
	}
	s.dispatchLocked(sub)
}

// lastID returns the id of t's last message, or (ledger, -1) for none.
func (t *topic) lastID() messageID {
	if n := len(t.msgs); n > 0 {
		return t.msgs[n-1].id
	}
	return messageID{ledger: t.ledger, entry: -1, partition: -1, batchIndex: -1}
}
