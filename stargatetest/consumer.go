package stargatetest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Server-side session failures come in two kinds on Pulsar 4.0.8 (Jetty
// 9.4.58): the handler's close(WebSocketError 3) uses a close code Jetty
// refuses, so the connection is dropped without a close frame
// (session.abort); an unchecked exception escaping a frame handler closes
// with 1011 and the exception's message as the reason.
const closeServerError = 1011

// npeNoID is the NullPointerException text of a consumer frame without a
// messageId (the proxy base64-decodes a null string).
const npeNoID = `Cannot invoke "String.getBytes(java.nio.charset.Charset)" because "src" is null`

// consumer is one consumer or reader socket, possibly spanning several
// subscriptions (partitions, v3 topics).
type consumer struct {
	sess      *session // nil until the upgrade completes
	subName   string
	p         consumerParams
	name      string
	reader    bool
	multi     bool // partitioned or v3: cache-miss acks fail silently (§5.4)
	dead      bool // closed or unsubscribed
	subs      []*subscription
	viaParent map[*subscription]bool
	ids       map[string]ackRef // the per-connection id cache (§5.4)
	pattern   *regexp.Regexp    // v3 topicsPattern, matched without the domain
	patternNS string
	rot       int

	// Flow control (§5): window W, counter pending, and pulls = receive
	// requests outstanding at the proxy's Java consumer.
	window, pending, pulls int
}

type ackRef struct {
	sub *subscription
	pos int
}

func newConsumer(p consumerParams, reader bool) *consumer {
	c := &consumer{p: p, name: p.name, reader: reader,
		viaParent: make(map[*subscription]bool), ids: make(map[string]ackRef), window: max(p.queueSize, 1)}
	if c.name == "" {
		c.name = randomHex(5)
	}
	if !p.pull {
		c.pulls = 1 // push mode starts receiving at once (§7.1)
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *consumer) canReceive() bool { return c.sess != nil && !c.dead && c.pulls > 0 }

// delivered does the per-message step of §5.1/§5.2.
func (c *consumer) delivered() {
	c.pulls--
	c.pending++
	if (c.p.pull && c.pending < 0) || (!c.p.pull && c.pending < c.window) {
		c.pulls++
	}
}

// ackFrame is checkResumeReceive: any ack or nack frame frees one slot of the
// push window, whatever id it names (§5.1). Pull mode ignores it (§5.2).
func (s *Server) ackFrameLocked(c *consumer) {
	if c.p.pull {
		return
	}
	old := c.pending
	c.pending--
	if old >= c.window {
		c.pulls++
		s.dispatchConsumerLocked(c)
	}
}

// permitLocked is handlePermit (§5.2): subtract N; a pull starts if the old
// counter was >= 0, even for N <= 0.
func (s *Server) permitLocked(c *consumer, n int64) {
	if !c.p.pull {
		return
	}
	old := c.pending
	c.pending -= int(n)
	if old >= 0 {
		c.pulls++
		s.dispatchConsumerLocked(c)
	}
}

// bindConsumerLocked gives a reserved consumer its session and starts
// delivery into the session's queue.
func (s *Server) bindConsumerLocked(c *consumer, names []string) {
	ss := s.newSessionLocked(names)
	ss.cons, c.sess = c, ss
	s.dispatchConsumerLocked(c)
}

func (s *Server) dispatchConsumerLocked(c *consumer) {
	n := len(c.subs)
	c.rot++
	for i := range n {
		s.dispatchLocked(c.subs[(c.rot+i)%n])
	}
}

func (c *consumer) endOfTopic() bool {
	if c.dead {
		return false
	}
	for _, sub := range c.subs {
		// The broker tells a consumer it reached the end only once the
		// subscription has no backlog: everything read and acknowledged
		// (Pulsar 4.0.8). Readers acknowledge as they read.
		if !sub.atEnd() || !c.reader && sub.backlog() > 0 {
			return false
		}
	}
	return true
}

// serveConsumer handles /ws/v2/consumer and /ws/v3/consumer. Order of
// checks: authentication, path, parameters (400), authorization, topics
// (404), subscription conflicts (409) — §2.5.
func (s *Server) serveConsumer(w http.ResponseWriter, r *http.Request, q query) *httpError {
	role, e := s.authenticate(r, q)
	if e != nil {
		return e
	}
	path, e := parsePath(r.RequestURI)
	if e != nil {
		return e
	}
	var v3 consumerParams
	if path.endpoint == "v3consumer" {
		// The v3 handler's constructor checks the topics before the
		// subscription and the other parameters.
		if e := v3.parseV3Topics(q); e != nil {
			return e
		}
		if path.subscription == "" {
			return errStatus(400, "Invalid query params: Empty subscription name")
		}
	}
	p, e := parseConsumerParams(q)
	if e != nil {
		return e
	}
	if javaBlank(path.subscription) {
		return errStatus(400, blankSubscription)
	}
	topics := []string{path.topic}
	if path.endpoint == "v3consumer" {
		p.topics, p.topicsPattern = v3.topics, v3.topicsPattern
		topics = p.topics
		if p.topicsPattern != "" {
			full, err := normalizeTopic(p.topicsPattern)
			if err != nil {
				return errStatus(500, "Failed to subscribe: "+err.Error())
			}
			topics = []string{full}
		}
	}
	for _, t := range topics {
		if e := s.authorize(role, t, ActionConsume); e != nil {
			return e
		}
	}
	return s.openConsumer(w, r, func() (*consumer, []string, *httpError) { return s.subscribeLocked(path, p) })
}

// openConsumer creates a consumer or reader with create (under the server
// lock), binds it to its session and upgrades the connection; a failed
// upgrade closes what was created.
func (s *Server) openConsumer(w http.ResponseWriter, r *http.Request, create func() (*consumer, []string, *httpError)) *httpError {
	s.mu.Lock()
	c, names, e := create()
	if e == nil {
		s.bindConsumerLocked(c, names)
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	if err := s.upgrade(w, r, c.sess); err != nil {
		s.mu.Lock()
		s.closeConsumerLocked(c)
		s.mu.Unlock()
	}
	return nil
}

// subscribeLocked creates the consumer and joins its subscriptions, before
// the upgrade, so that a 101 means the consumer exists (§7.1).
func (s *Server) subscribeLocked(path wsPath, p consumerParams) (*consumer, []string, *httpError) {
	c := newConsumer(p, false)
	c.subName = path.subscription
	type target struct {
		t         *topic
		viaParent bool
	}
	var targets []target
	var names []string
	add := func(full string) *httpError {
		parts, partitioned, ok := s.resolveLocked(full)
		if !ok {
			return errStatus(404, "Failed to subscribe: Topic "+full+" does not exist")
		}
		if partitioned {
			c.multi = true
		}
		names = append(names, full)
		for _, t := range parts {
			targets = append(targets, target{t, partitioned})
			if partitioned {
				names = append(names, t.name)
			}
		}
		return nil
	}
	switch {
	case path.endpoint == "consumer":
		if e := add(path.topic); e != nil {
			return nil, nil, e
		}
	case p.topicsPattern != "":
		c.multi = true
		if e := c.compilePattern(p.topicsPattern); e != nil {
			return nil, nil, e
		}
		for _, full := range s.matchPatternLocked(c) {
			_ = add(full)
		}
	default:
		// One topic is a plain consumer in the Java client (only a
		// partitioned one makes it multi-topic).
		c.multi = len(p.topics) > 1
		for _, full := range p.topics {
			if e := add(full); e != nil {
				return nil, nil, e
			}
		}
	}
	if c.multi && p.queueSize == 0 {
		// MultiTopicsConsumerImpl requires a receiver queue > 0 (§1.4).
		return nil, nil, errStatus(500, "Failed to create producer/consumer: java.util.concurrent.ExecutionException: "+
			iae+": Receiver queue size needs to be greater than 0 for Topics Consumer")
	}
	for _, tg := range targets {
		if e := checkJoin(tg.t, path.subscription, p); e != nil {
			return nil, nil, e
		}
	}
	for _, tg := range targets {
		join(c, tg.t, path.subscription, tg.viaParent)
	}
	if c.pattern != nil {
		s.patternCs[c] = struct{}{}
	}
	return c, names, nil
}

// checkJoin reports the 409 a broker gives when a subscription is taken.
func checkJoin(t *topic, name string, p consumerParams) *httpError {
	sub := t.subs[name]
	if sub == nil || len(sub.consumers) == 0 {
		return nil
	}
	if sub.typ != p.subType {
		return brokerRefusal(409, "Subscription is of different type")
	}
	if sub.typ == subExclusive {
		return brokerRefusal(409, "Exclusive consumer is already connected")
	}
	return nil
}

func join(c *consumer, t *topic, name string, viaParent bool) *subscription {
	sub := t.subs[name]
	if sub == nil {
		sub = newSubscription(t, name, c.p)
		t.subs[name] = sub
	} else if len(sub.consumers) == 0 {
		sub.typ = c.p.subType
	}
	sub.reader = c.reader
	sub.consumers = append(sub.consumers, c)
	c.subs = append(c.subs, sub)
	c.viaParent[sub] = viaParent
	return sub
}

func (c *consumer) compilePattern(pattern string) *httpError {
	full, err := normalizeTopic(pattern)
	if err != nil {
		return errStatus(500, "Failed to subscribe: "+err.Error())
	}
	c.patternNS = namespaceOf(full)
	_, short, _ := strings.Cut(full, "://")
	re, err := regexp.Compile("^(?:" + short + ")$")
	if err != nil {
		return errStatus(500, "Failed to subscribe: "+err.Error())
	}
	c.pattern = re
	return nil
}

// matchesPattern is TopicList.filterTopics: the pattern and the (partitioned)
// topic name are compared without their domain.
func (c *consumer) matchesPattern(full string) bool {
	if !strings.HasPrefix(full, "persistent://") || namespaceOf(full) != c.patternNS {
		return false
	}
	return c.pattern.MatchString(strings.TrimPrefix(full, "persistent://"))
}

// matchPatternLocked lists the base names of existing topics c matches.
func (s *Server) matchPatternLocked(c *consumer) []string {
	var out []string
	for name, t := range s.topics {
		if t.parent == "" && c.matchesPattern(name) {
			out = append(out, name)
		}
	}
	for name := range s.parents {
		if c.matchesPattern(name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// topicCreatedLocked subscribes live pattern consumers to a new topic, like
// the Java client's topic-list watcher.
func (s *Server) topicCreatedLocked(full string) {
	for c := range s.patternCs {
		if c.dead || !c.matchesPattern(full) {
			continue
		}
		parts, partitioned, _ := s.partsLocked(full)
		ok := true
		for _, t := range parts {
			ok = ok && checkJoin(t, c.subName, c.p) == nil
		}
		if !ok {
			continue
		}
		for _, t := range parts {
			join(c, t, c.subName, partitioned)
		}
		if c.sess != nil {
			c.sess.topics = append(c.sess.topics, full)
			s.dispatchConsumerLocked(c)
		}
	}
}

// closeConsumerLocked detaches c: unacked messages go back for redelivery
// to the other or next consumer, with their counts unchanged (§7.2).
func (s *Server) closeConsumerLocked(c *consumer) {
	c.dead = true
	delete(s.patternCs, c)
	for _, sub := range c.subs {
		s.leaveLocked(sub, c)
	}
	c.subs = nil
}

func (s *Server) leaveLocked(sub *subscription, c *consumer) {
	i := slices.Index(sub.consumers, c)
	if i < 0 {
		return
	}
	sub.consumers = slices.Delete(sub.consumers, i, i+1)
	if sub.rr > i {
		sub.rr--
	}
	sub.requeueAllOf(c)
	for k, o := range sub.keyOwner {
		if o == c {
			delete(sub.keyOwner, k)
		}
	}
	if len(sub.consumers) > 0 {
		s.dispatchLocked(sub)
		return
	}
	// The last consumer left: the dispatcher drops its redelivery tracker
	// and a non-durable cursor disappears.
	sub.active, sub.rr = nil, 0
	clear(sub.redeliveries)
	if !sub.durable && sub.t.subs[sub.name] == sub {
		delete(sub.t.subs, sub.name)
	}
}

// onConsumerFrame dispatches a client frame on case-sensitive type (§3.6).
func (s *Server) onConsumerFrame(c *consumer, data []byte) {
	var cmd consumerCommand
	if err := cmd.decode(data); err != nil {
		c.sess.abort()
		return
	}
	switch cmd.Type.s {
	case "permit":
		if !cmd.PermitMessages.set {
			c.sess.abort()
			return
		}
		s.permitLocked(c, cmd.PermitMessages.v)
	case "unsubscribe":
		s.unsubscribeLocked(c)
	case "isEndOfTopic":
		c.sess.send(endOfTopic{EndOfTopic: c.endOfTopic()})
	case "negativeAcknowledge":
		if ref, ok := s.lookupAckLocked(c, cmd); ok {
			if p, ok := ref.sub.pending[ref.pos]; ok && p.c == c && !c.dead {
				sub, pos, seq := ref.sub, ref.pos, p.seq
				s.sched.after(c.p.nackDelay, func() {
					s.mu.Lock()
					defer s.mu.Unlock()
					s.redeliverLocked(sub, pos, seq)
				})
			}
		} else if c.sess.isClosing() {
			return
		}
		s.ackFrameLocked(c)
	default: // any other or missing type is an individual ack
		if ref, ok := s.lookupAckLocked(c, cmd); ok {
			if !c.dead {
				ref.sub.ack(ref.pos)
			}
		} else if c.sess.isClosing() {
			return
		}
		s.ackFrameLocked(c)
	}
}

// lookupAckLocked resolves the messageId of an ack or nack: the per-socket
// cache first, then a re-parse that only works for non-batched ids on a
// single non-partitioned topic (§5.4). A bad id closes the session.
func (s *Server) lookupAckLocked(c *consumer, cmd consumerCommand) (ackRef, bool) {
	if !cmd.MessageID.set {
		c.sess.closeWith(closeServerError, npeNoID)
		return ackRef{}, false
	}
	if ref, ok := c.ids[cmd.MessageID.s]; ok {
		return ref, true
	}
	raw, err := decodeJavaBase64(cmd.MessageID.s)
	if err != nil {
		c.sess.closeWith(closeServerError, err.Error())
		return ackRef{}, false
	}
	id, err := parseMessageID(raw)
	if err != nil {
		c.sess.abort()
		return ackRef{}, false
	}
	if c.multi || len(c.subs) != 1 || id.batchIndex >= 0 || id.batchSize > 0 {
		return ackRef{}, false
	}
	sub := c.subs[0]
	msgs := sub.t.msgs
	i := sort.Search(len(msgs), func(i int) bool { return !msgs[i].id.before(id) })
	if i < len(msgs) && msgs[i].id.ledger == id.ledger && msgs[i].id.entry == id.entry {
		return ackRef{sub: sub, pos: i}, true
	}
	return ackRef{}, false
}

// unsubscribeLocked is handleUnsubscribe: it fails (dropping the session)
// while other consumers are connected; otherwise the subscriptions are
// deleted and the socket stays open with a dead consumer (§3.6, §7.3).
func (s *Server) unsubscribeLocked(c *consumer) {
	if c.dead {
		c.sess.abort()
		return
	}
	for _, sub := range c.subs {
		if len(sub.consumers) != 1 || sub.consumers[0] != c {
			c.sess.abort()
			return
		}
	}
	for _, sub := range c.subs {
		sub.consumers = nil
		if sub.t.subs[sub.name] == sub {
			delete(sub.t.subs, sub.name)
		}
	}
	c.subs = nil
	c.dead = true
	delete(s.patternCs, c)
}

// deadLetterLocked publishes the message at pos to the consumer's dead
// letter topic the way the Java client of Pulsar 4.0.8 does (properties
// REAL_TOPIC, REAL_SUBSCRIPTION, ORIGIN_MESSAGE_ID and, misspelt as in that
// release, ORIGIN_MESSAGE_IDY_TIME added). It reports false if the topic
// cannot be used.
func (s *Server) deadLetterLocked(c *consumer, sub *subscription, pos int) bool {
	dlq := c.p.deadLetter
	if dlq == "" {
		base := sub.t.name
		if c.viaParent[sub] {
			base = sub.t.parent
		}
		dlq = base + "-" + sub.name + "-DLQ"
	}
	parts, partitioned, ok := s.resolveLocked(dlq)
	if !ok {
		return false
	}
	e := sub.t.msgs[pos]
	origin := e.id
	if c.viaParent[sub] {
		origin.partition = sub.t.partition
	}
	props := map[string]string{"REAL_TOPIC": sub.t.name, "REAL_SUBSCRIPTION": sub.name,
		"ORIGIN_MESSAGE_ID": origin.String(), "ORIGIN_MESSAGE_IDY_TIME": origin.String()}
	for k, v := range e.props {
		props[k] = v
	}
	m := message{payload: e.payload, props: props, key: e.key, eventTime: e.eventTime}
	t := parts[0]
	if partitioned && e.key != nil {
		t = parts[int(javaStringHash(*e.key))%len(parts)]
	}
	s.storeLocked(t, []message{m}, false)
	return true
}
