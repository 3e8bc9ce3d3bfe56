package stargatetest

import (
	"time"
)

// DropConnections closes the TCP connection of every socket on topic
// (every socket when topic is ""), without a close frame, the way a
// crashed proxy or a network cut looks to the client. It returns the
// number of sockets dropped. Server-side cleanup (redelivery of unacked
// messages) happens asynchronously, as each socket's read loop ends.
func (s *Server) DropConnections(topic string) int {
	full := ""
	if topic != "" {
		var err error
		if full, err = normalizeTopic(topic); err != nil {
			return 0
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropLocked(full)
}

func (s *Server) dropLocked(full string) int {
	n := 0
	for ss := range s.sessions {
		match := full == ""
		for _, t := range ss.topics {
			match = match || t == full
		}
		if match {
			ss.drop()
			n++
		}
	}
	return n
}

// DelayAcks delays every successful producer ack by d (0 = no delay). The
// message is stored and delivered to consumers at once; only the ack is late.
func (s *Server) DelayAcks(d time.Duration) {
	s.mu.Lock()
	s.faults.ackDelay = max(d, 0)
	s.mu.Unlock()
}

// WithholdAcks(true) keeps successful producer acks back (messages are still
// stored and delivered); WithholdAcks(false) sends the held acks, in order,
// to the sockets that are still open. Dropping a connection while acks are
// held models sends whose outcome the client never learns (§7.2).
func (s *Server) WithholdAcks(on bool) {
	s.mu.Lock()
	s.faults.withhold = on
	var held []heldAck
	if !on {
		held, s.faults.held = s.faults.held, nil
	}
	s.mu.Unlock()
	for _, h := range held {
		h.sess.sendRaw(h.frame)
	}
}

// FailNextSends makes the next n well-formed sends (on any producer) fail
// without being stored: the producer gets
// {"result":"send-error:<code>","errorMsg":msg,"context":…}. Code 8 is what
// the real proxy uses for every broker-side send failure (§6.2).
func (s *Server) FailNextSends(n int, code int, msg string) {
	s.mu.Lock()
	s.faults.failN, s.faults.failCode, s.faults.failMsg = max(n, 0), code, msg
	s.mu.Unlock()
}

// RefuseUpgrades answers the next n upgrade requests (any endpoint) with
// status and a Jetty-style HTML error page containing msg (the standard
// status text when msg is ""), before any other check.
func (s *Server) RefuseUpgrades(n int, status int, msg string) {
	s.mu.Lock()
	s.faults.refuseN, s.faults.refuseStatus, s.faults.refuseMsg = max(n, 0), status, msg
	s.mu.Unlock()
}

func (s *Server) takeRefusal() *httpError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.refuseN == 0 {
		return nil
	}
	s.faults.refuseN--
	return errStatus(s.faults.refuseStatus, s.faults.refuseMsg)
}
