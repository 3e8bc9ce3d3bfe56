package wsconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is an in-process gws WebSocket server for tests. Every upgraded conn runs its
// read loop on the handler goroutine and is closed and joined at cleanup.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	conns    []*gws.Conn
	wg       sync.WaitGroup
	accepted chan *gws.Conn // each upgraded conn, for tests that act on it
}

// serverOpts tune newServer.
type serverOpts struct {
	tls       bool
	noRead    bool                // upgrade, then never read (a stalled peer)
	onRequest func(*http.Request) // sees each upgrade request
}

func newServer(t testing.TB, ev gws.Event, so serverOpts) *server {
	t.Helper()
	s := &server{accepted: make(chan *gws.Conn, 16)}
	up := gws.NewUpgrader(ev, &gws.ServerOption{Recovery: gws.Recovery, Logger: discardLogger{}})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if so.onRequest != nil {
			so.onRequest(r)
		}
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		select {
		case s.accepted <- c:
		default:
		}
		if so.noRead {
			return
		}
		s.wg.Add(1)
		defer s.wg.Done()
		c.ReadLoop()
	})
	s.Server = httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // expected TLS handshake failures
	if so.tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(func() {
		s.mu.Lock()
		for _, c := range s.conns {
			_ = c.NetConn().Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		s.Server.Close()
	})
	return s
}

func (s *server) wsURL(path string) string {
	u := strings.Replace(s.URL, "http://", "ws://", 1)
	return strings.Replace(u, "https://", "wss://", 1) + path
}

// tlsConfig is caConfig for a TLS server, else nil.
func (s *server) tlsConfig() *tls.Config {
	if s.TLS == nil {
		return nil
	}
	return s.caConfig()
}

func (s *server) caConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return &tls.Config{RootCAs: pool}
}

type discardLogger struct{}

func (discardLogger) Error(...any) {}

// echo is a server event handler that echoes every message.
type echo struct{ gws.BuiltinEventHandler }

func (echo) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

// recorder is a client Handler that keeps copies of messages and the close cause.
type recorder struct {
	msgs   chan string
	closed chan error
	mu     sync.Mutex
	ncls   int
}

func newRecorder() *recorder {
	return &recorder{msgs: make(chan string, 1024), closed: make(chan error, 4)}
}

func (r *recorder) OnMessage(data []byte) {
	select {
	case r.msgs <- string(data):
	default:
	}
}

func (r *recorder) OnClose(err error) {
	r.mu.Lock()
	r.ncls++
	r.mu.Unlock()
	r.closed <- err
}

func (r *recorder) closeCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ncls
}

func (r *recorder) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
		return ""
	}
}

func (r *recorder) waitClose(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-r.closed:
		return err
	case <-time.After(within):
		t.Fatalf("OnClose not called within %v", within)
		return nil
	}
}

func dial(t *testing.T, o Options, h Handler) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, o, h)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(c.Abort)
	return c
}

func waitDone(t *testing.T, c *Conn, within time.Duration) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(within):
		t.Fatalf("Done not closed within %v", within)
	}
}
