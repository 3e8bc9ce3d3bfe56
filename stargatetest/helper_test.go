package stargatetest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const waitFor = 5 * time.Second

// wsClient is a raw gws client that collects the text frames it receives.
type wsClient struct {
	t      testing.TB
	conn   *gws.Conn
	frames chan []byte
	pongs  chan string
	done   chan struct{} // ReadLoop returned

	mu       sync.Mutex
	closeErr error
}

func (c *wsClient) OnOpen(*gws.Conn)                {}
func (c *wsClient) OnPing(conn *gws.Conn, p []byte) { _ = conn.WritePong(p) }
func (c *wsClient) OnPong(_ *gws.Conn, p []byte)    { c.pongs <- string(p) }
func (c *wsClient) OnClose(_ *gws.Conn, err error) {
	c.mu.Lock()
	c.closeErr = err
	c.mu.Unlock()
}
func (c *wsClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	if m.Opcode == gws.OpcodeText {
		c.frames <- append([]byte(nil), m.Bytes()...)
	}
}

// handshakeError is a refused upgrade.
type handshakeError struct {
	status int
	body   string
}

func (e *handshakeError) Error() string { return e.body }

// tryDial dials url+path; a refused upgrade returns *handshakeError.
func tryDial(t testing.TB, srv *Server, path string, hdr http.Header) (*wsClient, error) {
	t.Helper()
	c := &wsClient{t: t, frames: make(chan []byte, 10000), pongs: make(chan string, 10), done: make(chan struct{})}
	conn, resp, err := gws.NewClient(c, &gws.ClientOption{Addr: srv.URL() + path, RequestHeader: hdr})
	if err != nil {
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			return nil, &handshakeError{status: resp.StatusCode, body: string(b)}
		}
		return nil, err
	}
	c.conn = conn
	go func() {
		defer close(c.done)
		conn.ReadLoop()
	}()
	t.Cleanup(c.close)
	return c, nil
}

func dial(t testing.TB, srv *Server, path string) *wsClient {
	t.Helper()
	c, err := tryDial(t, srv, path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	return c
}

// dialStatus expects a refused upgrade and returns its status and body.
func dialStatus(t testing.TB, srv *Server, path string, hdr http.Header) (int, string) {
	t.Helper()
	_, err := tryDial(t, srv, path, hdr)
	var he *handshakeError
	if !errors.As(err, &he) {
		t.Fatalf("dial %s: want a refused upgrade, got %v", path, err)
	}
	return he.status, he.body
}

func (c *wsClient) close() {
	_ = c.conn.WriteClose(1000, nil)
	_ = c.conn.NetConn().Close()
	<-c.done
}

func (c *wsClient) sendJSON(v any) {
	c.t.Helper()
	var b []byte
	if s, ok := v.(string); ok {
		b = []byte(s)
	} else {
		var err error
		if b, err = json.Marshal(v); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := c.conn.WriteMessage(gws.OpcodeText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// nextRaw waits for the next text frame.
func (c *wsClient) nextRaw() []byte {
	c.t.Helper()
	select {
	case b := <-c.frames:
		return b
	case <-time.After(waitFor):
		c.t.Fatal("timed out waiting for a frame")
		return nil
	}
}

// next waits for the next frame and decodes it as a JSON object.
func (c *wsClient) next() map[string]any {
	c.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.nextRaw(), &m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

// expectNone fails if a frame arrives within d.
func (c *wsClient) expectNone(d time.Duration) {
	c.t.Helper()
	select {
	case b := <-c.frames:
		c.t.Fatalf("unexpected frame %s", b)
	case <-time.After(d):
	}
}

// waitClosed waits for the server to end the socket and returns the error
// gws reported.
func (c *wsClient) waitClosed() error {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitFor):
		c.t.Fatal("socket not closed")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// send produces one message and returns the ack.
func (c *wsClient) send(payload, ctx string) map[string]any {
	c.t.Helper()
	c.sendJSON(map[string]any{"payload": b64(payload), "context": ctx})
	return c.next()
}

// receive reads n messages and returns their payloads.
func (c *wsClient) receive(n int) []map[string]any {
	c.t.Helper()
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = c.next()
		if _, ok := out[i]["messageId"]; !ok {
			c.t.Fatalf("frame %d is not a message: %v", i, out[i])
		}
	}
	return out
}

func (c *wsClient) ack(m map[string]any) {
	c.t.Helper()
	c.sendJSON(map[string]any{"messageId": m["messageId"]})
}

func (c *wsClient) endOfTopic() bool {
	c.t.Helper()
	c.sendJSON(map[string]string{"type": "isEndOfTopic"})
	m := c.next()
	v, ok := m["endOfTopic"].(bool)
	if !ok {
		c.t.Fatalf("want endOfTopic, got %v", m)
	}
	return v
}

func payloadOf(t testing.TB, m map[string]any) string {
	t.Helper()
	b, err := decodeJavaBase64(m["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func payloads(t testing.TB, ms []map[string]any) string {
	t.Helper()
	var s []string
	for _, m := range ms {
		s = append(s, payloadOf(t, m))
	}
	return strings.Join(s, ",")
}

func idOf(t testing.TB, m map[string]any) messageID {
	t.Helper()
	id, err := decodeMessageID(m["messageId"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func b64(s string) string { return encodeStd([]byte(s)) }

// publishN stores payloads "p0".."p{n-1}" on topic.
func publishN(t testing.TB, srv *Server, topic string, n int) {
	t.Helper()
	for i := range n {
		if _, err := srv.Publish(topic, Message{Payload: []byte("p" + itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
}

func decodeObject(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// closeCode returns the close code the server sent, or -1 if the socket
// ended without a close frame.
func closeCode(err error) int {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		return int(ce.Code)
	}
	return -1
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func encodeStd(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func itoa(i int) string { return strconv.Itoa(i) }
