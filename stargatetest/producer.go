package stargatetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// producer is one producer socket.
type producer struct {
	sess        *session
	p           producerParams
	name        string
	topic       string // as addressed (base name for partitioned topics)
	parts       []*topic
	partitioned bool
	single      int // SinglePartition's partition for key-less messages
	rr          int // RoundRobinPartition's next partition
	batches     map[*topic]*openBatch
}

// openBatch collects batched messages for one partition until it is full or
// batchingMaxPublishDelay has passed since its first message.
type openBatch struct {
	msgs []message
	ctxs []*string
}

// serveProducer handles /ws/v2/producer. Order of checks: authentication,
// path, authorization, parameters (400), topic (404/503), name (409).
func (s *Server) serveProducer(w http.ResponseWriter, r *http.Request, q query) *httpError {
	role, e := s.authenticate(r, q)
	if e != nil {
		return e
	}
	path, e := parsePath(r.RequestURI)
	if e != nil {
		return e
	}
	if e := s.authorize(role, path.topic, ActionProduce); e != nil {
		return e
	}
	p, e := parseProducerParams(q)
	if e != nil {
		return e
	}
	s.mu.Lock()
	pr, names, e := s.createProducerLocked(path.topic, p)
	if e == nil {
		pr.sess = s.newSessionLocked(names)
		pr.sess.prod = pr
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	if err := s.upgrade(w, r, pr.sess); err != nil {
		s.mu.Lock()
		s.closeProducerLocked(pr)
		s.mu.Unlock()
	}
	return nil
}

func (s *Server) createProducerLocked(full string, p producerParams) (*producer, []string, *httpError) {
	parts, partitioned, ok := s.resolveLocked(full)
	if !ok {
		return nil, nil, errStatus(404, "Failed to create producer: Topic "+full+" does not exist")
	}
	names := []string{full}
	for _, t := range parts {
		if t.terminate {
			return nil, nil, brokerRefusal(503, "org.apache.pulsar.broker.service.BrokerServiceException$TopicTerminatedException: Topic was already terminated")
		}
		if partitioned {
			names = append(names, t.name)
		}
		for o := range t.producers {
			if p.name != "" && o.name == p.name {
				return nil, nil, brokerRefusal(409, fmt.Sprintf("org.apache.pulsar.broker.service.BrokerServiceException$NamingException: "+
					"Producer with name '%s' is already connected to topic '%s'", p.name, t.name))
			}
		}
	}
	pr := &producer{p: p, name: p.name, topic: full, parts: parts, partitioned: partitioned,
		batches: make(map[*topic]*openBatch)}
	if pr.name == "" {
		pr.name = "standalone-0-" + strconv.Itoa(s.prodSeq)
		s.prodSeq++
	}
	pr.single = rand.IntN(len(parts))
	pr.rr = rand.IntN(len(parts))
	for _, t := range parts {
		t.producers[pr] = struct{}{}
	}
	return pr, names, nil
}

// closeProducerLocked detaches pr; an open batch is failed, not stored, like
// the Java producer's close.
func (s *Server) closeProducerLocked(pr *producer) {
	for _, t := range pr.parts {
		delete(t.producers, pr)
	}
	clear(pr.batches)
}

// onProducerFrame handles one send (§3.1, §3.2, §6.2).
func (s *Server) onProducerFrame(pr *producer, data []byte) {
	var f producerFrame
	if err := f.decode(data); err != nil {
		pr.sess.send(producerAck{Result: "send-error:3", ErrorMsg: err.Error()})
		return
	}
	ctx := f.Context.ptr()
	m, errMsg := buildMessage(f)
	if errMsg == "" {
		errMsg = applyEncryption(&m, f, pr.p.clientKeys)
	}
	if errMsg != "" {
		pr.sess.send(producerAck{Result: "send-error:7", ErrorMsg: errMsg, Context: ctx})
		return
	}
	if fs := &s.faults; fs.failN > 0 {
		fs.failN--
		pr.sess.send(producerAck{Result: "send-error:" + strconv.Itoa(fs.failCode), ErrorMsg: fs.failMsg, Context: ctx})
		return
	}
	t := pr.route(m.key)
	if t.terminate {
		pr.sess.send(producerAck{Result: "send-error:8", ErrorMsg: terminatedMsg(t, pr), Context: ctx})
		return
	}
	if pr.p.batching && m.deliverAt.IsZero() { // delayed messages are never batched
		s.addToBatchLocked(pr, t, m, ctx)
		return
	}
	id := s.storeLocked(t, []message{m}, false)[0]
	s.ackSendLocked(pr, t, id, ctx)
}

func terminatedMsg(*topic, *producer) string {
	return "org.apache.pulsar.client.api.PulsarClientException$TopicTerminatedException: Topic was terminated"
}

// npeNoPayload is the NullPointerException text of a send without payload.
const npeNoPayload = `Cannot invoke "String.getBytes(java.nio.charset.Charset)" because "src" is null`

// buildMessage validates a send; a non-empty errMsg means send-error:7.
func buildMessage(f producerFrame) (m message, errMsg string) {
	if !f.Payload.set {
		return m, npeNoPayload
	}
	payload, err := decodeJavaBase64(f.Payload.s)
	if err != nil {
		return m, "Invalid Base64 message-payload error=" + err.Error()
	}
	m.payload = payload
	if f.EventTime.set {
		t, err := parseJavaTime(f.EventTime.s)
		if err != nil {
			return m, err.Error()
		}
		m.eventTime = t.UnixMilli()
	}
	if len(f.Properties) > 0 {
		m.props = make(map[string]string, len(f.Properties))
		for k, v := range f.Properties {
			m.props[k] = v.s
		}
	}
	if f.Key.set { // "" is a key too: Pulsar 4.0.8 delivers "key":""
		m.key = f.Key.ptr()
	}
	if f.DeliverAt.v > 0 {
		m.deliverAt = time.UnixMilli(f.DeliverAt.v)
	}
	if f.DeliverAfterMs.v > 0 { // set after deliverAt in the proxy, so it wins
		m.deliverAt = time.Now().Add(time.Duration(f.DeliverAfterMs.v) * time.Millisecond)
	}
	return m, ""
}

// route picks the partition (§1.4): keyed messages by hash(key) % n,
// key-less ones by SinglePartition or RoundRobinPartition.
func (pr *producer) route(key *string) *topic {
	n := len(pr.parts)
	if !pr.partitioned || n == 1 {
		return pr.parts[0]
	}
	if key != nil {
		h := javaStringHash(*key)
		if pr.p.hashing == "Murmur3_32Hash" {
			h = murmur3Hash(*key)
		}
		return pr.parts[int(h)%n]
	}
	if pr.p.routing == "RoundRobinPartition" {
		t := pr.parts[pr.rr%n]
		pr.rr++
		return t
	}
	return pr.parts[pr.single]
}

func (s *Server) addToBatchLocked(pr *producer, t *topic, m message, ctx *string) {
	b := pr.batches[t]
	if b == nil {
		b = &openBatch{}
		pr.batches[t] = b
		s.sched.after(pr.p.batchDelay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if pr.batches[t] == b {
				s.flushBatchLocked(pr, t)
			}
		})
	}
	b.msgs = append(b.msgs, m)
	b.ctxs = append(b.ctxs, ctx)
	if len(b.msgs) >= pr.p.batchMax {
		s.flushBatchLocked(pr, t)
	}
}

func (s *Server) flushBatchLocked(pr *producer, t *topic) {
	b := pr.batches[t]
	delete(pr.batches, t)
	if t.terminate {
		for _, ctx := range b.ctxs {
			pr.sess.send(producerAck{Result: "send-error:8", ErrorMsg: terminatedMsg(t, pr), Context: ctx})
		}
		return
	}
	batched := len(b.msgs) > 1 // a batch of one is sent as a single message by the Java producer
	ids := s.storeLocked(t, b.msgs, batched)
	for i, id := range ids {
		s.ackSendLocked(pr, t, id, b.ctxs[i])
	}
}

// ackSendLocked sends the ok ack, honouring DelayAcks and WithholdAcks.
func (s *Server) ackSendLocked(pr *producer, t *topic, id messageID, ctx *string) {
	if pr.partitioned {
		id.partition = t.partition
	}
	// The Java producer's BatchMessageIdImpl writes batch_index but not the
	// batch size: acks of batched sends say batch_size 0 (Pulsar 4.0.8),
	// consumed messages the size of their batch.
	id.batchSize = 0
	b, _ := json.Marshal(producerAck{Result: "ok", MessageID: id.encode(), Context: ctx})
	ss := pr.sess
	switch fs := &s.faults; {
	case fs.withhold:
		fs.held = append(fs.held, heldAck{sess: ss, frame: b})
	case fs.ackDelay > 0:
		s.sched.after(fs.ackDelay, func() { ss.sendRaw(b) })
	default:
		ss.sendRaw(b)
	}
}
