package stargatetest

import (
	"net/http"
	"strconv"
)

// serveReader handles /ws/v2/reader. The reader maps every creation failure
// to 500 "Failed to create reader: …" (§2.4); receiverQueueSize is parsed
// before authorization.
func (s *Server) serveReader(w http.ResponseWriter, r *http.Request, q query) *httpError {
	role, e := s.authenticate(r, q)
	if e != nil {
		return e
	}
	path, e := parsePath(r.RequestURI)
	if e != nil {
		return e
	}
	p := consumerParams{subType: subExclusive, queueSize: 1000}
	if v, ok := q.get("receiverQueueSize"); ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return errStatus(500, "java.lang.NumberFormatException: For input string: \""+v+"\"")
		}
		p.queueSize = int(min(n, 1000))
	}
	p.name, _ = q.get("readerName")
	p.crypto = cryptoAction(q)
	if e := s.authorize(role, path.topic, ActionConsume); e != nil {
		return e
	}
	if p.queueSize < 0 {
		return errStatus(500, "Failed to create reader: receiverQueueSize needs to be >= 0")
	}
	start, _ := q.get("messageId")
	var startID *messageID
	switch start {
	case "", "latest":
	case "earliest":
		p.earliest = true
	default:
		id, err := decodeMessageID(start)
		if err != nil {
			return errStatus(500, "Failed to create reader: "+err.Error())
		}
		startID = &id
	}
	return s.openConsumer(w, r, func() (*consumer, []string, *httpError) {
		return s.createReaderLocked(path.topic, p, startID)
	})
}

// createReaderLocked creates a non-durable exclusive subscription named like
// the Java client's ("reader-" + 10 hex digits) on every partition; a start
// id is exclusive.
func (s *Server) createReaderLocked(full string, p consumerParams, startID *messageID) (*consumer, []string, *httpError) {
	parts, partitioned, ok := s.resolveLocked(full)
	if !ok {
		return nil, nil, errStatus(500, "Failed to create reader: Topic "+full+" does not exist")
	}
	if partitioned && startID != nil {
		// The Java client behind the server takes only earliest or latest
		// for a multi-topic reader.
		return nil, nil, errStatus(500, "Failed to create reader: java.util.concurrent.ExecutionException: "+
			"org.apache.pulsar.client.api.PulsarClientException: The partitioned topic startMessageId is illegal")
	}
	c := newConsumer(p, true)
	c.subName = "reader-" + randomHex(5)
	c.multi = partitioned
	names := []string{full}
	for _, t := range parts {
		sub := join(c, t, c.subName, partitioned)
		if partitioned {
			names = append(names, t.name)
		}
		if startID != nil {
			pos := 0
			for pos < len(t.msgs) && !startID.before(t.msgs[pos].id) {
				pos++
			}
			sub.cursor, sub.markDelete = pos, pos
		}
	}
	return c, names, nil
}

// onReaderFrame: isEndOfTopic is answered; any other valid JSON frame only
// frees one window slot (§3.7, §5.3). Invalid JSON drops the connection.
func (s *Server) onReaderFrame(c *consumer, data []byte) {
	var cmd consumerCommand
	if err := cmd.decode(data); err != nil {
		c.sess.abort()
		return
	}
	if cmd.Type.s == "isEndOfTopic" {
		c.sess.send(endOfTopic{EndOfTopic: c.endOfTopic()})
		return
	}
	s.ackFrameLocked(c)
}
