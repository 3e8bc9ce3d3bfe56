package stargatetest

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
)

// Action is what a client asks to do with a topic, as passed to
// [Options.Authorize].
type Action int

const (
	// ActionProduce is the producer endpoint (Pulsar's PRODUCE permission).
	ActionProduce Action = iota + 1
	// ActionConsume is the consumer and reader endpoints (CONSUME).
	ActionConsume
)

// String returns "produce", "consume" or "unknown".
func (a Action) String() string {
	switch a {
	case ActionProduce:
		return "produce"
	case ActionConsume:
		return "consume"
	}
	return "unknown"
}

// Options configures a Server. A nil *Options means all defaults; the
// struct is copied by NewServer.
type Options struct {
	// Tokens maps accepted tokens to roles. Nil or empty disables
	// authentication: every upgrade is accepted with role "". Otherwise an
	// upgrade needs "Authorization: Bearer <token>" or, when that header is
	// absent, ?token=<token> (with or without "Bearer "); a missing or
	// unknown token is refused with 401.
	Tokens map[string]string

	// Authorize decides whether role may perform action on topic (a full
	// name such as "persistent://public/default/x"; for a partitioned topic
	// the base name). Nil allows everything; false refuses the upgrade with
	// 403 "Not authorized".
	Authorize func(role, topic string, action Action) bool

	// DisableAutoTopicCreation makes upgrades for topics that were not
	// created with CreateTopic, CreatePartitionedTopic or Publish fail with
	// 404 (500 for readers). By default unknown topics are created as
	// non-partitioned topics, like a broker with allowAutoTopicCreation=true.
	DisableAutoTopicCreation bool

	// MaxTextFrameSize is the largest text message a client may send, like
	// webSocketMaxTextFrameSize; bigger messages close the socket with 1009.
	// Zero means 1 MiB (1048576), the broker default.
	MaxTextFrameSize int

	// Now returns the time stamped on published messages as publishTime,
	// rendered in its location (the real proxy uses its JVM's default zone;
	// return UTC times for "…Z" strings). Nil means time.Now. Timers (nack
	// delay, ack timeout, deliverAt, batching) always use the real clock.
	Now func() time.Time
}

// Errors returned by the topic admin methods.
var (
	// ErrTopicNotFound is returned for a topic that does not exist.
	ErrTopicNotFound = errors.New("stargatetest: topic not found")
	// ErrTopicExists is returned when creating a topic that exists.
	ErrTopicExists = errors.New("stargatetest: topic already exists")
)

// Server is an in-process fake of Pulsar's WebSocket API (the /ws/v2 and
// /ws/v3 endpoints of a broker or WebSocket proxy), listening on a loopback
// port. All methods are safe for concurrent use.
//
// Start one with [New] in tests or [NewServer] elsewhere, point a client at
// [Server.URL], and stop it with [Server.Close].
type Server struct {
	opts     Options
	ln       net.Listener
	http     *http.Server
	upgrader *gws.Upgrader
	sched    *scheduler
	served   chan struct{}
	url      string

	mu        sync.Mutex
	closed    bool
	handlers  int // HTTP handlers running; Close waits for zero
	idle      *sync.Cond
	sessions  map[*session]struct{}
	sessWG    sync.WaitGroup
	topics    map[string]*topic // full name → topic, partitions included
	parents   map[string]int    // partitioned base name → partition count
	nextLedg  int64
	prodSeq   int
	faults    faults
	patternCs map[*consumer]struct{} // v3 pattern consumers, for new topics
}

// faults holds the fault-injection state set by the hook methods.
type faults struct {
	refuseN      int
	refuseStatus int
	refuseMsg    string
	failN        int
	failCode     int
	failMsg      string
	ackDelay     time.Duration
	withhold     bool
	held         []heldAck
}

type heldAck struct {
	sess  *session
	frame []byte
}

// NewServer starts a Server on 127.0.0.1 with a random port.
func NewServer(opts *Options) (*Server, error) {
	s := &Server{
		sessions:  make(map[*session]struct{}),
		topics:    make(map[string]*topic),
		parents:   make(map[string]int),
		patternCs: make(map[*consumer]struct{}),
		nextLedg:  10,
		served:    make(chan struct{}),
	}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.MaxTextFrameSize <= 0 {
		s.opts.MaxTextFrameSize = 1 << 20
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	s.idle = sync.NewCond(&s.mu)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.ln = ln
	s.url = "ws://" + ln.Addr().String()
	s.upgrader = gws.NewUpgrader(eventHandler{s}, &gws.ServerOption{
		ReadMaxPayloadSize: s.opts.MaxTextFrameSize,
		CheckUtf8Enabled:   true,
		Recovery:           gws.Recovery,
	})
	s.sched = newScheduler()
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.served)
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

// New starts a Server for the test and registers its Close with
// tb.Cleanup. It calls tb.Fatal if the server cannot start.
func New(tb testing.TB, opts *Options) *Server {
	tb.Helper()
	s, err := NewServer(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// URL returns the base URL, "ws://127.0.0.1:PORT"; clients append
// /ws/v2/… or /ws/v3/….
func (s *Server) URL() string { return s.url }

// Close stops listening, closes every socket without a close frame, and
// waits for every goroutine the Server started. Stored topics are kept, so
// admin methods still work. Close is idempotent and always returns nil.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	_ = s.http.Close()
	<-s.served
	s.mu.Lock()
	for s.handlers > 0 {
		s.idle.Wait()
	}
	for ss := range s.sessions {
		ss.drop()
	}
	s.mu.Unlock()
	s.sessWG.Wait()
	s.sched.stop()
	return nil
}

// ServeHTTP implements http.Handler: it validates an upgrade request like
// the proxy does and upgrades it, or answers with a Jetty-style error page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		writeJettyError(w, r, errStatus(503, "Server is shutting down"))
		return
	}
	defer s.leave()
	if strings.HasPrefix(r.URL.Path, "/admin/v2/") {
		s.serveAdmin(w, r)
		return
	}
	if e := s.takeRefusal(); e != nil {
		writeJettyError(w, r, e)
		return
	}
	var handle func(http.ResponseWriter, *http.Request, query) *httpError
	switch {
	case strings.HasPrefix(r.URL.Path, "/ws/v2/producer/"):
		handle = s.serveProducer
	case strings.HasPrefix(r.URL.Path, "/ws/v2/consumer/"), strings.HasPrefix(r.URL.Path, "/ws/v3/consumer/"):
		handle = s.serveConsumer
	case strings.HasPrefix(r.URL.Path, "/ws/v2/reader/"):
		handle = s.serveReader
	default:
		writeJettyError(w, r, errStatus(404, "Not Found"))
		return
	}
	q, _ := queryOf(r)
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		// The broker's authentication filter runs first; then Jetty's
		// WebSocketServlet falls back to HttpServlet for plain GETs.
		if _, e := s.authenticate(r, q); e != nil {
			writeJettyError(w, r, e)
			return
		}
		writeJettyError(w, r, errStatus(405, "HTTP method GET is not supported by this URL"))
		return
	}
	if e := handle(w, r, q); e != nil {
		writeJettyError(w, r, e)
	}
}

func queryOf(r *http.Request) (query, error) {
	v, err := parseQueryLenient(r.URL.RawQuery)
	return query(v), err
}

func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.handlers++
	return true
}

func (s *Server) leave() {
	s.mu.Lock()
	s.handlers--
	if s.handlers == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
}

// authenticate checks the token (§8). Like the broker-embedded WebSocket
// service, whose HTTP AuthenticationFilter runs before the servlet, it runs
// before any other check and answers 401 "Authentication required".
func (s *Server) authenticate(r *http.Request, q query) (role string, e *httpError) {
	if len(s.opts.Tokens) == 0 {
		return "", nil
	}
	var tok string
	if h := r.Header.Get("Authorization"); h != "" {
		t, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return "", errStatus(401, "Authentication required")
		}
		tok = t
	} else if t, ok := q.get("token"); ok {
		tok = strings.TrimPrefix(t, "Bearer ")
	}
	role, ok := s.opts.Tokens[tok]
	if !ok || tok == "" {
		return "", errStatus(401, "Authentication required")
	}
	return role, nil
}

// authorize applies Options.Authorize (§8): false → 403 "Not authorized".
func (s *Server) authorize(role, topic string, a Action) *httpError {
	if s.opts.Authorize != nil && !s.opts.Authorize(role, topic, a) {
		return errStatus(403, "Not authorized")
	}
	return nil
}

// upgrade completes the handshake for ss, whose producer or consumer was
// reserved before (so that a 101 means it exists, §7.1, and a consumer can
// be dispatched to while the 101 is on its way: frames wait in ss's queue),
// and starts the session's goroutines.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, ss *session) error {
	conn, err := s.upgrader.Upgrade(w, r)
	if err != nil {
		s.mu.Lock()
		delete(s.sessions, ss)
		s.mu.Unlock()
		return err
	}
	conn.Session().Store(sessionKey, ss)
	s.mu.Lock()
	ss.conn = conn
	if ss.dropped {
		ss.drop() // DropConnections or DeleteTopic came while the 101 was on its way
	}
	s.sessWG.Add(2)
	s.mu.Unlock()
	go func() {
		defer s.sessWG.Done()
		conn.ReadLoop()
	}()
	go func() {
		defer s.sessWG.Done()
		ss.writeLoop()
	}()
	return nil
}

// newSessionLocked creates and registers the session of a reserved
// producer or consumer.
func (s *Server) newSessionLocked(topics []string) *session {
	ss := newSession(s, topics)
	s.sessions[ss] = struct{}{}
	return ss
}

// now is the publish clock.
func (s *Server) now() time.Time { return s.opts.Now() }
