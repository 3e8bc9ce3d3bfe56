package conformance

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"github.com/stargate-go/stargate"
)

// Timeouts: generous, for a loaded 2-core machine. quiet is how long a case
// waits to see that nothing more arrives.
const (
	waitFor = 20 * time.Second
	quiet   = 1500 * time.Millisecond
)

// raw is a WebSocket connection driven frame by frame.
type raw struct {
	t      *testing.T
	conn   *gws.Conn
	frames chan []byte
	done   chan struct{} // ReadLoop returned

	mu       sync.Mutex
	closeErr error
}

func (c *raw) OnOpen(*gws.Conn)                {}
func (c *raw) OnPing(conn *gws.Conn, p []byte) { _ = conn.WritePong(p) }
func (c *raw) OnPong(*gws.Conn, []byte)        {}
func (c *raw) OnClose(_ *gws.Conn, err error) {
	c.mu.Lock()
	c.closeErr = err
	c.mu.Unlock()
}
func (c *raw) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	if m.Opcode == gws.OpcodeText {
		c.frames <- append([]byte(nil), m.Bytes()...)
	}
}

// refused is an upgrade the server answered with an HTTP error.
type refused struct {
	status int
	msg    string // the message of Jetty's error page
	body   string
}

func (e *refused) Error() string { return fmt.Sprintf("HTTP %d %s", e.status, e.msg) }

var jettyTitle = regexp.MustCompile(`<title>Error \d+ (.*)</title>`)

// wsPath builds /ws/v2/<kind>/<domain>/<tenant>/<ns>/<local>[/<sub>] for a
// full topic name.
func wsPath(kind, topic, sub string) string {
	rest, ok := strings.CutPrefix(topic, "persistent://")
	if !ok {
		panic("not a persistent topic: " + topic)
	}
	parts := strings.SplitN(rest, "/", 3)
	p := "/ws/v2/" + kind + "/persistent/" + parts[0] + "/" + parts[1] + "/" + url.QueryEscape(parts[2])
	if sub != "" {
		p += "/" + url.QueryEscape(sub)
	}
	return p
}

func producerPath(topic string) string      { return wsPath("producer", topic, "") }
func consumerPath(topic, sub string) string { return wsPath("consumer", topic, sub) }
func readerPath(topic string) string        { return wsPath("reader", topic, "") }

// tryDial opens base+path (path may carry a query); a refused upgrade is a
// *refused.
func tryDial(t *testing.T, base, path string, hdr http.Header) (*raw, error) {
	t.Helper()
	c := &raw{t: t, frames: make(chan []byte, 10000), done: make(chan struct{})}
	conn, resp, err := gws.NewClient(c, &gws.ClientOption{
		Addr:               base + path,
		RequestHeader:      hdr,
		HandshakeTimeout:   waitFor,
		ReadMaxPayloadSize: 16 << 20,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			r := &refused{status: resp.StatusCode, body: string(b)}
			if m := jettyTitle.FindStringSubmatch(r.body); m != nil {
				r.msg = html.UnescapeString(m[1])
			}
			return nil, r
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

func dial(t *testing.T, tg Target, path string) *raw {
	t.Helper()
	c, err := tryDial(t, tg.URL(), path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	return c
}

// dialRefused expects the upgrade of path to be refused.
func dialRefused(t *testing.T, base, path string, hdr http.Header) *refused {
	t.Helper()
	c, err := tryDial(t, base, path, hdr)
	if err == nil {
		c.close()
		t.Fatalf("dial %s: upgraded, want an HTTP error", path)
	}
	var r *refused
	if !errors.As(err, &r) {
		t.Fatalf("dial %s: %v, want an HTTP error", path, err)
	}
	return r
}

func (c *raw) close() {
	_ = c.conn.WriteClose(1000, nil)
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	_ = c.conn.NetConn().Close()
	<-c.done
}

func (c *raw) send(v any) {
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
func (c *raw) nextRaw() []byte {
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
func (c *raw) next() map[string]any {
	c.t.Helper()
	b := c.nextRaw()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("frame %s: %v", b, err)
	}
	return m
}

// none fails if a frame arrives within d.
func (c *raw) none(d time.Duration) {
	c.t.Helper()
	select {
	case b := <-c.frames:
		c.t.Fatalf("unexpected frame %s", b)
	case <-time.After(d):
	}
}

// closed waits for the socket to end and returns gws's close error.
func (c *raw) closed(d time.Duration) (error, bool) {
	select {
	case <-c.done:
	case <-time.After(d):
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr, true
}

// produce sends one payload and returns the ack.
func (c *raw) produce(payload, ctx string) map[string]any {
	c.t.Helper()
	c.send(map[string]any{"payload": b64(payload), "context": ctx})
	a := c.next()
	if a["result"] != "ok" {
		c.t.Fatalf("send %q: %v", payload, a)
	}
	return a
}

// receive reads n messages.
func (c *raw) receive(n int) []map[string]any {
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

func (c *raw) ack(m map[string]any) { c.send(map[string]any{"messageId": m["messageId"]}) }

func (c *raw) endOfTopic() bool {
	c.t.Helper()
	c.send(map[string]string{"type": "isEndOfTopic"})
	m := c.next()
	v, ok := m["endOfTopic"].(bool)
	if !ok {
		c.t.Fatalf("want {\"endOfTopic\":bool}, got %v", m)
	}
	return v
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func payloadOf(t *testing.T, m map[string]any) string {
	t.Helper()
	s, _ := m["payload"].(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("payload %q: %v", s, err)
	}
	return string(b)
}

func payloads(t *testing.T, ms []map[string]any) []string {
	t.Helper()
	var s []string
	for _, m := range ms {
		s = append(s, payloadOf(t, m))
	}
	return s
}

func idOf(t *testing.T, m map[string]any) stargate.MessageID {
	t.Helper()
	s, _ := m["messageId"].(string)
	id, err := stargate.ParseMessageID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// idFields returns the protobuf field numbers present in a wire message id.
func idFields(t *testing.T, s string) []int {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("message id %q: %v", s, err)
	}
	var fields []int
	for len(b) > 0 {
		key, n := uvarint(b)
		if n == 0 {
			t.Fatalf("message id %q: bad varint", s)
		}
		b = b[n:]
		fields = append(fields, int(key>>3))
		switch key & 7 {
		case 0:
			_, n = uvarint(b)
			b = b[n:]
		case 2:
			l, n := uvarint(b)
			b = b[n+int(l):]
		default:
			t.Fatalf("message id %q: wire type %d", s, key&7)
		}
	}
	return fields
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i, c := range b {
		if i == 10 {
			return 0, 0
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}

// keys returns the sorted keys of a JSON object.
func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sortStrings(ks)
	return strings.Join(ks, ",")
}

// eventually polls f until it returns true or d passes.
func eventually(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
