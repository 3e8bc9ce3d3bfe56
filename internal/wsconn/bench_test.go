package wsconn

import (
	"context"
	"runtime"
	"testing"

	"github.com/lxzan/gws"
)

// sink is a server handler that discards every message.
type sink struct{ gws.BuiltinEventHandler }

func (sink) OnMessage(_ *gws.Conn, m *gws.Message) { _ = m.Close() }

var benchFrame = []byte(`{"payload":"aGVsbG8gd29ybGQ=","properties":{"k":"v"},"context":"123456","key":"k-1"}`)

// BenchmarkWrite compares wsconn's coalesced Write with plain gws WriteMessage (one
// syscall per frame) against an in-process server that discards messages. The server
// shares the CPU, so absolute numbers understate a real client.
func BenchmarkWrite(b *testing.B) {
	ws := newServer(b, sink{}, serverOpts{})
	wss := newServer(b, sink{}, serverOpts{tls: true})
	cases := []struct {
		name    string
		writers int // goroutines in total; 0 = the benchmark goroutine only
		dial    func(b *testing.B) (w func([]byte) error, closeFn func())
	}{
		{"ws/wsconn/1", 0, dialWsconn(ws)},
		{"ws/wsconn/8", 8, dialWsconn(ws)},
		{"ws/gws/1", 0, dialGws(ws)},
		{"ws/gws/8", 8, dialGws(ws)},
		{"wss/wsconn/1", 0, dialWsconn(wss)},
		{"wss/wsconn/8", 8, dialWsconn(wss)},
		{"wss/gws/1", 0, dialGws(wss)},
		{"wss/gws/8", 8, dialGws(wss)},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			write, closeFn := tc.dial(b)
			b.ReportAllocs()
			b.SetBytes(int64(len(benchFrame)))
			if tc.writers == 0 {
				for b.Loop() {
					if err := write(benchFrame); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism(max(1, tc.writers/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := write(benchFrame); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			closeFn() // flushes what is still queued: part of the cost
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

func dialWsconn(s *server) func(b *testing.B) (func([]byte) error, func()) {
	return func(b *testing.B) (func([]byte) error, func()) {
		c, err := Dial(context.Background(), Options{URL: s.wsURL("/bench"), TLSConfig: s.tlsConfig()}, newRecorder())
		if err != nil {
			b.Fatal(err)
		}
		return c.Write, func() { _ = c.Close() }
	}
}

func dialGws(s *server) func(b *testing.B) (func([]byte) error, func()) {
	return func(b *testing.B) (func([]byte) error, func()) {
		c, _, err := gws.NewClient(&gws.BuiltinEventHandler{}, &gws.ClientOption{Addr: s.wsURL("/bench"), TlsConfig: s.tlsConfig(), Logger: discardLogger{}})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() { c.ReadLoop(); close(done) }()
		write := func(p []byte) error { return c.WriteMessage(gws.OpcodeText, p) }
		return write, func() { _ = c.WriteClose(1000, nil); <-done }
	}
}
