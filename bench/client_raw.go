package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// The raw clients talk to the WebSocket API through gws directly, with no
// library around them: the blaster is the ceiling of the broker's WebSocket
// path (pre-encoded frames written in large socket writes, acks only
// counted), the naive loop the floor (one frame, wait for its ack, repeat).

// Blaster writes pre-encoded, pre-masked frames to the socket in chunks of up
// to 256 frames, keeping at most cfg.Window unacknowledged; consuming, it
// acks every message with frames coalesced into few socket writes.
var Blaster = Client{
	Name: "raw-blaster",
	Supports: func(sc Scenario) (bool, string) {
		switch {
		case sc.Kind == E2E:
			return false, "ceiling tool: no paced mode"
		case sc.Pull:
			return false, "push mode only"
		}
		return true, ""
	},
	Start: startBlaster,
}

// Naive sends one frame and waits for its ack before the next; consuming, it
// decodes each frame with encoding/json and acks it with one WriteMessage.
var Naive = Client{
	Name: "naive-loop",
	Supports: func(sc Scenario) (bool, string) {
		switch {
		case sc.Kind == E2E:
			return false, "not paced"
		case sc.Pull:
			return false, "push mode only"
		}
		return true, ""
	},
	Start: startNaive,
}

// wsPath turns a topic into the path of an endpoint.
func wsPath(kind, topic, sub string) string {
	t := strings.TrimPrefix(topic, "persistent://")
	p := "/ws/v2/" + kind + "/persistent/" + t
	if sub != "" {
		p += "/" + url.PathEscape(sub)
	}
	return p
}

// wsHandler adapts a function to gws.Event.
type wsHandler struct {
	gws.BuiltinEventHandler
	onMessage func(c *gws.Conn, data []byte)
	closed    chan struct{}
}

func (h *wsHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	h.onMessage(c, m.Bytes())
	m.Close()
}

func (h *wsHandler) OnClose(*gws.Conn, error) { close(h.closed) }

func dialWS(ctx context.Context, base, path string, q url.Values, on func(c *gws.Conn, data []byte)) (*gws.Conn, *wsHandler, error) {
	h := &wsHandler{onMessage: on, closed: make(chan struct{})}
	addr := strings.TrimRight(base, "/") + path
	if len(q) > 0 {
		addr += "?" + q.Encode()
	}
	c, _, err := gws.NewClient(h, &gws.ClientOption{Addr: addr, HandshakeTimeout: 30 * time.Second,
		ReadMaxPayloadSize: 8 << 20, WriteMaxPayloadSize: 8 << 20})
	if err != nil {
		return nil, nil, err
	}
	go c.ReadLoop()
	return c, h, nil
}

// appendMaskedFrame appends a masked client text frame holding p.
func appendMaskedFrame(b, p []byte, key [4]byte) []byte {
	n := len(p)
	switch {
	case n < 126:
		b = append(b, 0x81, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x81, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x81, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, key[:]...)
	for i, c := range p {
		b = append(b, c^key[i&3])
	}
	return b
}

var maskKey = [4]byte{0x5a, 0xc3, 0x17, 0x9e}

const blasterSlots = 4096 // distinct pre-encoded frames (contexts); > any window

func startBlaster(ctx context.Context, cfg Config, sc Scenario, m *Meter) (func(), error) {
	var wg sync.WaitGroup
	var conns []*gws.Conn
	fail := func(err error) (func(), error) {
		for _, c := range conns {
			_ = c.NetConn().Close()
		}
		return nil, err
	}
	switch sc.Kind {
	case Produce:
		for i := range sc.Producers {
			b := &blaster{m: m, window: int64(cfg.Window), wake: make(chan struct{}, 1)}
			q := url.Values{}
			if sc.Batching {
				q.Set("batchingEnabled", "true")
			}
			c, h, err := dialWS(ctx, cfg.URL, wsPath("producer", cfg.TopicN(sc, i), ""), q, b.onAck)
			if err != nil {
				return fail(err)
			}
			conns = append(conns, c)
			b.encode(sc.Size)
			wg.Go(func() { b.run(ctx, c, h) })
		}
	case Consume:
		q := url.Values{"subscriptionInitialPosition": {"Earliest"}, "receiverQueueSize": {strconv.Itoa(cfg.Window)}}
		a := &rawAcker{m: m, wake: make(chan struct{}, 1)}
		c, h, err := dialWS(ctx, cfg.URL, wsPath("consumer", cfg.Topic, cfg.Sub), q, a.onMessage)
		if err != nil {
			return fail(err)
		}
		conns = append(conns, c)
		wg.Go(func() { a.run(ctx, c, h) })
	}
	return func() {
		wg.Wait()
		for _, c := range conns {
			_ = c.WriteClose(1000, nil)
		}
	}, nil
}

type blaster struct {
	m      *Meter
	window int64
	frames []byte
	offs   [blasterSlots + 1]int
	sentAt [blasterSlots]atomic.Int64
	sent   int64 // writer only
	acked  atomic.Int64
	wake   chan struct{}
	hist   *Histogram // reader goroutine only
}

func (b *blaster) encode(size int) {
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	b64 := base64.StdEncoding.EncodeToString(payload)
	for i := range blasterSlots {
		b.offs[i] = len(b.frames)
		b.frames = appendMaskedFrame(b.frames, []byte(`{"payload":"`+b64+`","context":"`+strconv.Itoa(i)+`"}`), maskKey)
	}
	b.offs[blasterSlots] = len(b.frames)
	b.hist = b.m.NewHist()
}

var (
	ctxKey = []byte(`"context":"`)
	okKey  = []byte(`"result":"ok"`)
)

// onAck runs on the read goroutine.
func (b *blaster) onAck(_ *gws.Conn, data []byte) {
	i := bytes.Index(data, ctxKey)
	if i < 0 {
		b.m.Fail()
		return
	}
	rest := data[i+len(ctxKey):]
	j := bytes.IndexByte(rest, '"')
	slot, err := strconv.Atoi(string(rest[:max(j, 0)]))
	if err != nil || slot < 0 || slot >= blasterSlots {
		b.m.Fail()
	} else if !bytes.Contains(data, okKey) {
		b.m.Fail()
	} else {
		b.m.Done(b.hist, time.Duration(nanotime()-b.sentAt[slot].Load()))
	}
	b.acked.Add(1)
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

var epoch = time.Now()

func nanotime() int64 { return int64(time.Since(epoch)) }

func (b *blaster) run(ctx context.Context, c *gws.Conn, h *wsHandler) {
	nc := c.NetConn()
	const chunk = 256
	for ctx.Err() == nil {
		free := b.window - (b.sent - b.acked.Load())
		if free < min(32, b.window) {
			select {
			case <-b.wake:
			case <-ctx.Done():
			case <-h.closed:
				return
			}
			continue
		}
		n := min(free, chunk)
		first := int(b.sent % blasterSlots)
		n = min(n, int64(blasterSlots-first)) // no wrap within one write
		now := nanotime()
		for s := first; s < first+int(n); s++ {
			b.sentAt[s].Store(now)
		}
		if _, err := nc.Write(b.frames[b.offs[first]:b.offs[first+int(n)]]); err != nil {
			return
		}
		b.sent += n
	}
}

// rawAcker is the blaster's consumer: it extracts messageId with a byte
// search and queues a pre-masked ack frame; a writer goroutine flushes the
// queue in one socket write whenever it is not empty.
type rawAcker struct {
	m    *Meter
	mu   sync.Mutex
	buf  []byte
	wake chan struct{}
}

var idKey = []byte(`"messageId":"`)

func (a *rawAcker) onMessage(_ *gws.Conn, data []byte) {
	i := bytes.Index(data, idKey)
	if i < 0 {
		return
	}
	rest := data[i+len(idKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return
	}
	var frame [160]byte
	f := append(frame[:0], `{"messageId":"`...)
	f = append(f, rest[:j]...)
	f = append(f, `"}`...)
	a.mu.Lock()
	a.buf = appendMaskedFrame(a.buf, f, maskKey)
	a.mu.Unlock()
	a.m.Received(nil, -1)
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *rawAcker) run(ctx context.Context, c *gws.Conn, h *wsHandler) {
	nc := c.NetConn()
	var out []byte
	for {
		select {
		case <-a.wake:
		case <-ctx.Done():
			return
		case <-h.closed:
			return
		}
		a.mu.Lock()
		out, a.buf = a.buf, out[:0]
		a.mu.Unlock()
		if len(out) > 0 {
			if _, err := nc.Write(out); err != nil {
				return
			}
		}
	}
}

func startNaive(ctx context.Context, cfg Config, sc Scenario, m *Meter) (func(), error) {
	var wg sync.WaitGroup
	var conns []*gws.Conn
	fail := func(err error) (func(), error) {
		for _, c := range conns {
			_ = c.NetConn().Close()
		}
		return nil, err
	}
	switch sc.Kind {
	case Produce:
		for i := range sc.Producers {
			acks := make(chan []byte, 1)
			q := url.Values{}
			if sc.Batching {
				q.Set("batchingEnabled", "true")
			}
			c, h, err := dialWS(ctx, cfg.URL, wsPath("producer", cfg.TopicN(sc, i), ""), q, func(_ *gws.Conn, data []byte) {
				acks <- bytes.Clone(data)
			})
			if err != nil {
				return fail(err)
			}
			conns = append(conns, c)
			wg.Go(func() { naiveSend(ctx, c, h, acks, sc.Size, m) })
		}
	case Consume:
		q := url.Values{"subscriptionInitialPosition": {"Earliest"}, "receiverQueueSize": {strconv.Itoa(cfg.Window)}}
		c, _, err := dialWS(ctx, cfg.URL, wsPath("consumer", cfg.Topic, cfg.Sub), q, func(c *gws.Conn, data []byte) {
			var in struct {
				MessageID string `json:"messageId"`
				Payload   []byte `json:"payload"`
			}
			if json.Unmarshal(data, &in) != nil || in.MessageID == "" {
				return
			}
			ack, _ := json.Marshal(map[string]string{"messageId": in.MessageID})
			if c.WriteMessage(gws.OpcodeText, ack) != nil && ctx.Err() == nil {
				m.Fail()
			}
			m.Received(nil, -1)
		})
		if err != nil {
			return fail(err)
		}
		conns = append(conns, c)
	}
	return func() {
		wg.Wait()
		for _, c := range conns {
			_ = c.WriteClose(1000, nil)
		}
	}, nil
}

type naiveFrame struct {
	Payload []byte `json:"payload"`
	Context string `json:"context"`
}

type naiveAck struct {
	Result  string `json:"result"`
	Context string `json:"context"`
}

func naiveSend(ctx context.Context, c *gws.Conn, h *wsHandler, acks chan []byte, size int, m *Meter) {
	hist := m.NewHist()
	payload := make([]byte, size)
	for i := 0; ctx.Err() == nil; i++ {
		frame, _ := json.Marshal(naiveFrame{Payload: payload, Context: strconv.Itoa(i)})
		t := time.Now()
		if err := c.WriteMessage(gws.OpcodeText, frame); err != nil {
			return
		}
		select {
		case data := <-acks:
			var a naiveAck
			if err := json.Unmarshal(data, &a); err != nil || a.Result != "ok" {
				m.Fail()
				continue
			}
			m.Done(hist, time.Since(t))
		case <-ctx.Done():
			return
		case <-h.closed:
			return
		}
	}
}

var errNA = errors.New("not applicable")
