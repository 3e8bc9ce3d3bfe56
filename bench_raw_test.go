package stargate

import (
	"bytes"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxzan/gws"
)

// BenchmarkConsumeRaw is the raw blaster's consumer (bench/client_raw.go,
// rawAcker) against the same child-process server as BenchmarkConsume: gws
// reads each frame, a byte search finds the messageId, a pre-masked ack
// frame is queued, and a writer goroutine flushes the queue in one socket
// write whenever it is not empty. It decodes nothing else and yields no
// Message: it is the floor BenchmarkConsume's CPU/op is compared with.
func BenchmarkConsumeRaw(b *testing.B) {
	addr := benchServer(b)
	a := &benchRawAcker{wake: make(chan struct{}, 1), done: make(chan struct{}), closed: make(chan struct{})}
	c, _, err := gws.NewClient(a, &gws.ClientOption{Addr: "ws://" + addr + "/ws/v2/consumer/persistent/public/default/bench/s",
		ReadMaxPayloadSize: 8 << 20, WriteMaxPayloadSize: 8 << 20})
	if err != nil {
		b.Fatal(err)
	}
	go c.ReadLoop()
	var wg sync.WaitGroup
	wg.Go(func() { a.run(c) })
	defer func() {
		_ = c.NetConn().Close()
		wg.Wait()
	}()
	b.ReportAllocs()
	b.SetBytes(100)
	cpu := cpuTime()
	b.ResetTimer()
	a.target.Store(int64(b.N))
	if a.count.Load() >= int64(b.N) {
		a.finish()
	}
	select {
	case <-a.done:
	case <-time.After(time.Minute):
		b.Fatal("raw consumer stalled")
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

type benchRawAcker struct {
	gws.BuiltinEventHandler
	mu     sync.Mutex
	buf    []byte
	wake   chan struct{}
	count  atomic.Int64
	target atomic.Int64
	once   sync.Once
	done   chan struct{}
	closed chan struct{}
}

var benchIDKey = []byte(`"messageId":"`)

func (a *benchRawAcker) finish() { a.once.Do(func() { close(a.done) }) }

func (a *benchRawAcker) OnClose(*gws.Conn, error) { close(a.closed) }

func (a *benchRawAcker) OnMessage(_ *gws.Conn, m *gws.Message) {
	data := m.Bytes()
	defer m.Close()
	i := bytes.Index(data, benchIDKey)
	if i < 0 {
		return
	}
	rest := data[i+len(benchIDKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return
	}
	var frame [160]byte
	f := append(frame[:0], `{"messageId":"`...)
	f = append(f, rest[:j]...)
	f = append(f, `"}`...)
	a.mu.Lock()
	a.buf = benchMaskedFrame(a.buf, f, [4]byte{0x5a, 0xc3, 0x17, 0x9e})
	a.mu.Unlock()
	if n, t := a.count.Add(1), a.target.Load(); t > 0 && n >= t {
		a.finish()
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *benchRawAcker) run(c *gws.Conn) {
	nc := c.NetConn()
	var out []byte
	for {
		select {
		case <-a.wake:
		case <-a.closed:
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

// benchMaskedFrame is bench/client_raw.go's appendMaskedFrame.
func benchMaskedFrame(b, p []byte, key [4]byte) []byte {
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
