package stargate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"iter"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lxzan/gws"
)

// Micro-benchmarks of the hot paths. The Send and Consume benchmarks talk to
// a tiny acking server in another process (this test binary re-executed with
// STARGATE_BENCH_SERVER=1), so the CPU they report (cpu-ns/op, from
// getrusage of this process) is the client's alone. Run with
//
//	go test -run '^$' -bench . -benchtime 200000x -count 6 | tee new.txt && benchstat old.txt new.txt

var (
	benchPayload100 = bytes.Repeat([]byte("x"), 100)
	benchPayload1K  = bytes.Repeat([]byte("y"), 1024)
	// a delivery frame as the proxy writes it (4.0.8), 100 B payload
	benchInbound = []byte(`{"messageId":"CLlAEKMXIAAwAA==","payload":"` + base64.StdEncoding.EncodeToString(benchPayload100) +
		`","properties":{},"publishTime":"2026-11-28T02:10:00.123Z","redeliveryCount":0}`)
	benchInboundProps = []byte(`{"messageId":"CLlAEKMXIAAwAA==","payload":"` + base64.StdEncoding.EncodeToString(benchPayload1K) +
		`","properties":{"trace":"abc-123","k":"v"},"publishTime":"2026-11-28T02:10:00.123+01:00","redeliveryCount":2,"key":"order-17","eventTime":"2026-11-28T02:09:59.5Z"}`)
	benchAck = []byte(`{"result":"ok","messageId":"CLlAEKMXIAAwAA==","context":"123456","errorCode":0,"schemaVersion":0}`)
)

func BenchmarkAppendSendFrame(b *testing.B) {
	for _, tc := range []struct {
		name string
		m    Message
	}{
		{"100B", Message{Payload: benchPayload100}},
		{"1KiB", Message{Payload: benchPayload1K}},
		{"1KiB+key+props", Message{Payload: benchPayload1K, Key: "order-17", Properties: map[string]string{"trace": "abc-123"}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.m.Payload)))
			var id uint64
			for b.Loop() {
				id++
				buf = appendSendFrame(buf[:0], &tc.m, id)
			}
		})
	}
}

func BenchmarkDecodeInbound(b *testing.B) {
	tp := Topic{Persistent: true, Tenant: "public", Namespace: "default", Name: "bench"}
	for _, tc := range []struct {
		name  string
		frame []byte
		n     int
	}{{"100B", benchInbound, 100}, {"1KiB+key+props", benchInboundProps, 1024}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(tc.n))
			for b.Loop() {
				if _, _, err := decodeInbound(tc.frame, tp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeAck(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err, ok := decodeAck(benchAck); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkParseMessageID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMessageID("CLlAEKMXIAAwAA=="); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSend is Producer.Send with Wait on the oldest future once the
// window is full, against the acking server in another process.
func BenchmarkSend(b *testing.B) {
	addr := benchServer(b)
	for _, tc := range []struct {
		name    string
		payload []byte
		window  int
	}{{"100B/w1000", benchPayload100, 1000}, {"1KiB/w1000", benchPayload1K, 1000}, {"100B/w100", benchPayload100, 100}} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := NewClient("ws://"+addr, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			p, err := c.NewProducer(ctx, "persistent://public/default/bench", &ProducerOptions{MaxInFlight: tc.window})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			ring := make([]*SendFuture, tc.window)
			msg := Message{Payload: tc.payload}
			var i int
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.payload)))
			cpu := cpuTime()
			for b.Loop() {
				if f := ring[i]; f != nil {
					if _, err := f.Wait(ctx); err != nil {
						b.Fatal(err)
					}
				}
				ring[i] = p.Send(ctx, msg)
				i = (i + 1) % len(ring)
			}
			if err := p.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkConsume ranges Consumer.Messages and acks every message, the
// server pushing 100-byte messages within a window of 1000 unacked.
func BenchmarkConsume(b *testing.B) {
	addr := benchServer(b)
	for _, pull := range []bool{false, true} {
		name := "push"
		if pull {
			name = "pull"
		}
		b.Run(name, func(b *testing.B) {
			c, err := NewClient("ws://"+addr, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := &ConsumerOptions{}
			if pull {
				o.PullMode, o.PullWindow = true, 1000
			}
			cons, err := c.NewConsumer(ctx, "persistent://public/default/bench", "s", o)
			if err != nil {
				b.Fatal(err)
			}
			defer cons.Close()
			next, stop := iter.Pull2(cons.Messages(ctx))
			defer stop()
			b.ReportAllocs()
			b.SetBytes(100)
			cpu := cpuTime()
			for b.Loop() {
				m, err, ok := next()
				if !ok || err != nil {
					b.Fatal(err)
				}
				if err := m.Ack(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkSendMemory sends 1M messages and reports the heap in use after
// them (live-heap-B): memory stays flat when it does not grow with the count.
func BenchmarkSendMemory(b *testing.B) {
	addr := benchServer(b)
	c, err := NewClient("ws://"+addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	p, err := c.NewProducer(ctx, "persistent://public/default/bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	msg := Message{Payload: benchPayload100}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	for b.Loop() {
		ring := make([]*SendFuture, 1000)
		var after10k uint64
		for i := range 1_000_000 {
			if f := ring[i%1000]; f != nil {
				if _, err := f.Wait(ctx); err != nil {
					b.Fatal(err)
				}
			}
			ring[i%1000] = p.Send(ctx, msg)
			if i == 10_000 {
				after10k = heap()
			}
		}
		_ = p.Flush(ctx)
		b.ReportMetric(float64(after10k), "heap-after-10k-B")
		b.ReportMetric(float64(heap()), "heap-after-1M-B")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchServer starts the acking server in a child process and returns its
// address; the child exits when the benchmark ends (its stdin closes).
func benchServer(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServerChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "STARGATE_BENCH_SERVER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		b.Fatalf("bench server: %q %v", line, err)
	}
	go func() { _, _ = bytes.NewBuffer(nil).ReadFrom(stdout) }()
	return strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
}

// TestBenchServerChild is the child process of benchServer; it is skipped
// unless STARGATE_BENCH_SERVER is set. /ws/v2/producer/… acks every frame;
// /ws/v2/consumer/… pushes 100-byte messages, at most receiverQueueSize
// (1000) or the granted permits ahead of the acks. Writes are coalesced:
// frames are appended to a buffer that one goroutine per connection writes
// in a single syscall whenever it is not empty.
func TestBenchServerChild(t *testing.T) {
	if os.Getenv("STARGATE_BENCH_SERVER") == "" {
		t.Skip("child process of the Send/Consume benchmarks")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := gws.NewUpgrader(&benchHandler{}, &gws.ServerOption{ReadMaxPayloadSize: 8 << 20})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := &benchSession{consumer: strings.Contains(r.URL.Path, "/consumer/"), wake: make(chan struct{}, 1)}
		if r.URL.Query().Get("pullMode") != "" || strings.Contains(r.URL.RawQuery, "permit") {
			h.pull = true
		}
		conn, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		conn.Session().Store("s", h)
		h.conn = conn
		go h.writer()
		conn.ReadLoop()
	})}
	go func() { _ = srv.Serve(ln) }()
	os.Stdout.WriteString("ADDR " + ln.Addr().String() + "\n")
	_, _ = bytes.NewBuffer(nil).ReadFrom(os.Stdin) // until the parent closes stdin
	os.Exit(0)
}

type benchHandler struct{ gws.BuiltinEventHandler }

func (benchHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	v, _ := c.Session().Load("s")
	v.(*benchSession).onMessage(m.Bytes())
	_ = m.Close()
}

func (benchHandler) OnClose(c *gws.Conn, _ error) {
	if v, ok := c.Session().Load("s"); ok {
		s := v.(*benchSession)
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.signal()
	}
}

type benchSession struct {
	conn     *gws.Conn
	consumer bool
	pull     bool
	wake     chan struct{}

	mu      sync.Mutex
	buf     []byte
	closed  bool
	credit  int  // consumer: messages it may still push
	permits bool // a permit frame was seen
}

var (
	benchCtxKey   = []byte(`"context":"`)
	benchDelivery = []byte(`{"messageId":"CLlAEKMXIAAwAA==","payload":"` + base64.StdEncoding.EncodeToString(benchPayload100) +
		`","properties":{},"publishTime":"2026-11-28T02:10:00.123Z","redeliveryCount":0}`)
)

func appendServerFrame(b, p []byte) []byte {
	n := len(p)
	switch {
	case n < 126:
		b = append(b, 0x81, byte(n))
	case n < 1<<16:
		b = append(b, 0x81, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x81, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, p...)
}

func (s *benchSession) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *benchSession) onMessage(data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.consumer {
		i := bytes.Index(data, benchCtxKey)
		if i < 0 {
			return
		}
		rest := data[i+len(benchCtxKey):]
		j := bytes.IndexByte(rest, '"')
		var f [128]byte
		b := append(f[:0], `{"result":"ok","messageId":"CLlAEKMXIAAwAA==","context":"`...)
		b = append(b, rest[:j]...)
		b = append(b, `"}`...)
		s.buf = appendServerFrame(s.buf, b)
		s.signal()
		return
	}
	if bytes.Contains(data, []byte(`"permit"`)) {
		i := bytes.Index(data, []byte(`"permitMessages":`))
		n, _ := strconv.Atoi(strings.Trim(string(data[i+len(`"permitMessages":`):]), "} "))
		s.credit += n
		s.permits = true
	} else if !s.pull { // push mode: an ack reopens the window
		s.credit++
	}
	s.signal()
}

// writer flushes queued acks and, for consumers, pushes messages while
// there is credit.
func (s *benchSession) writer() {
	nc := s.conn.NetConn()
	var out []byte
	s.mu.Lock()
	if s.consumer && !s.pull {
		s.credit = 1000
	}
	s.mu.Unlock()
	s.signal()
	for range s.wake {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		for s.consumer && s.credit > 0 && len(s.buf) < 256<<10 {
			s.buf = appendServerFrame(s.buf, benchDelivery)
			s.credit--
		}
		out, s.buf = s.buf, out[:0]
		s.mu.Unlock()
		if len(out) > 0 {
			if _, err := nc.Write(out); err != nil {
				return
			}
		}
		s.mu.Lock()
		if s.consumer && s.credit > 0 {
			s.signal()
		}
		s.mu.Unlock()
	}
}
