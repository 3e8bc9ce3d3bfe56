package stargatetest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// adminSubscriptionCall routes the calls under /subscription/{sub}.
func (s *Server) adminSubscriptionCall(c adminCall, name, route string) (any, *adminError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts, partitioned, ok := s.partsLocked(c.full)
	if !ok && route == "PUT " {
		parts, partitioned, ok = s.resolveLocked(c.full) // a new subscription auto-creates the topic
	}
	if !ok {
		return nil, topicNotFound(c.full)
	}
	if route == "PUT " {
		ledger, entry, _, ok := idFromJSON(c.body)
		if !ok {
			return nil, adminErr(400, "Invalid message id")
		}
		for _, t := range parts {
			if _, exists := t.subs[name]; exists {
				return nil, adminErr(409, "Subscription already exists for topic")
			}
		}
		for _, t := range parts {
			sub := newSubscription(t, name, consumerParams{durable: true})
			pos := t.positionOf(ledger, entry)
			sub.cursor, sub.markDelete = pos, pos
			t.subs[name] = sub
		}
		return nil, nil
	}
	var subs []*subscription
	for _, t := range parts {
		if sub, ok := t.subs[name]; ok {
			subs = append(subs, sub)
		}
	}
	if len(subs) == 0 {
		return nil, adminErr(404, "Subscription %s not found for topic %s", name, c.full)
	}
	rest := strings.TrimPrefix(route, c.method+" ")
	verb, arg, _ := strings.Cut(rest, "/")
	switch {
	case route == "DELETE ":
		force := c.query.Get("force") == "true"
		for _, sub := range subs {
			if len(sub.consumers) > 0 && !force {
				return nil, adminErr(412, "Subscription has active connected consumers")
			}
		}
		for _, sub := range subs {
			delete(sub.t.subs, name)
			s.resubscribeLocked(sub)
		}
		return nil, nil
	case c.method == http.MethodPost && verb == "resetcursor" && arg != "":
		ms, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			return nil, noRoute
		}
		for _, sub := range subs {
			s.resetLocked(sub, sub.t.entryStart(sub.t.positionAt(time.UnixMilli(ms))))
		}
		return nil, nil
	case c.method == http.MethodPost && verb == "resetcursor":
		ledger, entry, _, ok := idFromJSON(c.body)
		switch {
		case partitioned: // even earliest and latest, in Pulsar 4.0.8
			return nil, adminErr(405, "Reset-cursor at position is not allowed for partitioned-topic")
		case !ok:
			return nil, adminErr(400, "Invalid message id")
		}
		s.resetLocked(subs[0], subs[0].t.positionOf(ledger, entry))
		return nil, nil
	case c.method == http.MethodPost && verb == "skip":
		n, err := strconv.Atoi(arg)
		if err != nil {
			return nil, noRoute
		}
		if partitioned {
			return nil, adminErr(405, "Skip messages on a partitioned topic is not allowed")
		}
		s.skipLocked(subs[0], n)
		return nil, nil
	case route == "POST skip_all":
		for _, sub := range subs {
			s.ackBeforeLocked(sub, len(sub.t.msgs))
		}
		return nil, nil
	case c.method == http.MethodPost && verb == "expireMessages":
		secs, err := strconv.Atoi(arg)
		if err != nil {
			return nil, noRoute
		}
		cut := s.now().Add(-time.Duration(secs) * time.Second)
		expired := false
		for _, sub := range subs {
			if sub.backlog() == 0 {
				continue
			}
			expired = true
			// Expired: published before now - age (the broker's
			// now > publishTime + age).
			s.ackBeforeLocked(sub, sub.t.entryStart(sub.t.positionAt(cut)))
		}
		if !expired {
			// The broker names the (first) partition it refused on.
			return nil, adminErr(409, "Expire message by timestamp not issued on topic %s for subscription %s due to ongoing message expiration not finished or subscription almost catch  up. If it's performed on a partitioned topic operation might succeeded on other partitions, please check stats of individual partition.", subs[0].t.name, name)
		}
		return nil, nil
	}
	return nil, noRoute
}

// resubscribeLocked handles the consumers of a subscription deleted by
// force: the broker disconnects them, and the proxy's consumer behind each
// WebSocket (which stays open) subscribes again, creating the
// subscription anew at the consumer's initial position (Pulsar 4.0.8).
// Deliveries outstanding are forgotten.
func (s *Server) resubscribeLocked(old *subscription) {
	if len(old.consumers) == 0 || old.reader {
		return
	}
	first := old.consumers[0]
	sub := newSubscription(old.t, old.name, first.p)
	old.t.subs[old.name] = sub
	for _, c := range old.consumers {
		sub.consumers = append(sub.consumers, c)
		for i, cs := range c.subs {
			if cs == old {
				c.subs[i] = sub
			}
		}
		c.viaParent[sub] = c.viaParent[old]
		delete(c.viaParent, old)
	}
	old.consumers, old.active = nil, nil
	clear(old.pending)
	s.dispatchLocked(sub)
}
