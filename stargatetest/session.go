package stargatetest

import (
	"encoding/json"
	"sync"

	"github.com/lxzan/gws"
)

const sessionKey = "stargatetest.session"

// session is one upgraded socket. Frames to the client go through an
// unbounded queue drained by the session's own writer goroutine, so the
// broker lock is never held across a socket write and a client that stops
// reading stalls only its own socket.
type session struct {
	srv    *Server
	conn   *gws.Conn // set under srv.mu once the upgrade succeeded
	topics []string  // full names this socket serves, for DropConnections

	// Set once, under srv.mu, when the producer or consumer is reserved.
	prod    *producer
	cons    *consumer // consumer or reader
	dropped bool      // under srv.mu

	mu       sync.Mutex
	queue    [][]byte
	closing  *closeFrame
	finished bool
	wake     chan struct{}
	done     chan struct{} // closed by OnClose
}

type closeFrame struct {
	code   uint16
	reason string
}

func newSession(s *Server, topics []string) *session {
	return &session{srv: s, topics: topics, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// send queues one JSON text frame. It never blocks; frames for a finished
// socket are dropped (like the proxy's isConnected check, §3.2).
func (ss *session) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // our own frame types always marshal
	}
	ss.sendRaw(b)
}

func (ss *session) sendRaw(b []byte) {
	ss.mu.Lock()
	if ss.finished || ss.closing != nil {
		ss.mu.Unlock()
		return
	}
	ss.queue = append(ss.queue, b)
	ss.mu.Unlock()
	ss.poke()
}

// closeWith queues a close frame after the frames already queued.
func (ss *session) closeWith(code uint16, reason string) {
	ss.mu.Lock()
	if ss.closing == nil && !ss.finished {
		ss.closing = &closeFrame{code: code, reason: reason}
	}
	ss.mu.Unlock()
	ss.poke()
}

// abort drops the connection without a close frame after the frames
// already queued: what a real broker does when the handler closes the
// session with a WebSocketError code (Jetty 9.4 refuses codes 1–8).
func (ss *session) abort() { ss.closeWith(0, "") }

// isClosing reports whether a close frame is queued or the socket is gone.
func (ss *session) isClosing() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.closing != nil || ss.finished
}

// drop closes the TCP connection without a close frame, at once or, while
// the upgrade is still in progress, as soon as the connection exists.
// Called under srv.mu.
func (ss *session) drop() {
	ss.dropped = true
	if ss.conn != nil {
		_ = ss.conn.NetConn().Close()
	}
}

func (ss *session) poke() {
	select {
	case ss.wake <- struct{}{}:
	default:
	}
}

func (ss *session) writeLoop() {
	for {
		select {
		case <-ss.wake:
		case <-ss.done:
			return
		}
		for {
			ss.mu.Lock()
			q, cl := ss.queue, ss.closing
			ss.queue = nil
			if cl != nil {
				ss.finished = true
			}
			ss.mu.Unlock()
			if len(q) == 0 && cl == nil {
				break
			}
			for _, b := range q {
				if ss.conn.WriteMessage(gws.OpcodeText, b) != nil {
					return // gws closed the socket; OnClose follows
				}
			}
			if cl != nil && cl.code == 0 {
				_ = ss.conn.NetConn().Close()
				return
			}
			if cl != nil {
				_ = ss.conn.WriteClose(cl.code, []byte(cl.reason))
				return
			}
		}
	}
}

// eventHandler receives gws events for every socket of a Server.
type eventHandler struct{ s *Server }

func sessionOf(c *gws.Conn) *session {
	v, _ := c.Session().Load(sessionKey)
	ss, _ := v.(*session)
	return ss
}

func (eventHandler) OnOpen(*gws.Conn) {}

func (eventHandler) OnPong(*gws.Conn, []byte) {}

// OnPing echoes the payload (§7.4; gws's builtin pong does not echo).
func (eventHandler) OnPing(c *gws.Conn, payload []byte) { _ = c.WritePong(payload) }

func (h eventHandler) OnClose(c *gws.Conn, _ error) {
	ss := sessionOf(c)
	if ss == nil {
		return
	}
	ss.mu.Lock()
	ss.finished = true
	ss.queue = nil
	ss.mu.Unlock()
	close(ss.done)
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, ss)
	if ss.prod != nil {
		s.closeProducerLocked(ss.prod)
	}
	if ss.cons != nil {
		s.closeConsumerLocked(ss.cons)
	}
}

// OnMessage decodes nothing itself: it copies the text and hands it to the
// endpoint under the broker lock. Binary frames are ignored (§3).
func (h eventHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	if m.Opcode != gws.OpcodeText {
		return
	}
	ss := sessionOf(c)
	if ss == nil {
		return
	}
	data := append([]byte(nil), m.Bytes()...)
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case ss.prod != nil:
		s.onProducerFrame(ss.prod, data)
	case ss.cons != nil && ss.cons.reader:
		s.onReaderFrame(ss.cons, data)
	case ss.cons != nil:
		s.onConsumerFrame(ss.cons, data)
	}
}
