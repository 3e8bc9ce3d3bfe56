package wsconn

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEchoAndClose(t *testing.T) {
	s := newServer(t, echo{}, serverOpts{})
	r := newRecorder()
	c := dial(t, Options{URL: s.wsURL("/ws/v2/producer/persistent/public/default/t")}, r)

	for _, m := range []string{"hello", `{"payload":"x"}`} {
		if err := c.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
		if got := r.next(t); got != m {
			t.Fatalf("echo = %q, want %q", got, m)
		}
	}
	if c.Err() != nil {
		t.Fatalf("Err before Done = %v, want nil", c.Err())
	}
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Close took %v against a live peer", d)
	}
	if err := r.waitClose(t, time.Second); err != nil {
		t.Errorf("OnClose(%v), want nil after local Close", err)
	}
	waitDone(t, c, time.Second)
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if c.Err() != nil || r.closeCount() != 1 {
		t.Errorf("Err = %v, OnClose calls = %d; want nil, 1", c.Err(), r.closeCount())
	}
	if err := c.Write([]byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
}

const (
	jetty9Page = `<html>
<head>
<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>
<title>Error 401 Authentication required</title>
</head>
<body><h2>HTTP ERROR 401</h2>
<p>Problem accessing /ws/v2/producer/persistent/public/default/t. Reason:
<pre>    Authentication required</pre></p><hr><a href="http://eclipse.org/jetty">Powered by Jetty:// 9.4.53</a><hr/>
</body>
</html>`
	jetty10Page = `<html>
<head>
<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>
<title>Error 409 Producer with name &apos;p1&apos; is already connected to topic</title>
</head>
<body><h2>HTTP ERROR 409 Producer with name &apos;p1&apos; is already connected to topic</h2>
<table>
<tr><th>URI:</th><td>/ws/v2/producer/persistent/public/default/t</td></tr>
<tr><th>STATUS:</th><td>409</td></tr>
<tr><th>MESSAGE:</th><td>Producer with name &apos;p1&apos; is already connected to topic</td></tr>
<tr><th>SERVLET:</th><td>org.apache.pulsar.websocket.WebSocketProducerServlet-1</td></tr>
</table>
</body>
</html>`
	titleOnlyPage = `<html><head><title>Error 500 Server Error</title></head><body></body></html>`
)

func TestHandshakeRefused(t *testing.T) {
	cases := []struct {
		status      int
		contentType string
		body        string
		want        string
	}{
		{401, "text/html;charset=iso-8859-1", jetty9Page, "Authentication required"},
		{409, "text/html;charset=iso-8859-1", jetty10Page, "Producer with name 'p1' is already connected to topic"},
		{404, "application/json", `{"reason":"Topic not found"}`, "Topic not found"},
		{500, "text/html", titleOnlyPage, "Server Error"},
		{500, "text/plain", "boom\nstack trace line", "boom"},
		{404, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			r := newRecorder()
			_, err := Dial(context.Background(), Options{
				URL:    "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/v2/producer/persistent/public/default/t",
				Header: http.Header{"Authorization": {"Bearer s3cret-token"}},
			}, r)
			var he *HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("Dial err = %v (%T), want *HandshakeError", err, err)
			}
			if he.StatusCode != tc.status || he.Message != tc.want {
				t.Errorf("got {%d %q}, want {%d %q}", he.StatusCode, he.Message, tc.status, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the token: %v", err)
			}
			if r.closeCount() != 0 {
				t.Error("OnClose called for a failed Dial")
			}
		})
	}
}

// silentListener accepts TCP connections and never answers.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

func TestDialContextEndsHangingUpgrade(t *testing.T) {
	addr := silentListener(t)
	for _, scheme := range []string{"ws", "wss"} {
		for _, mode := range []string{"deadline", "cancel"} {
			t.Run(scheme+"/"+mode, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				if mode == "cancel" {
					time.AfterFunc(100*time.Millisecond, cancel)
				}
				start := time.Now()
				c, err := Dial(ctx, Options{URL: scheme + "://" + addr + "/ws/v2/consumer/x"}, newRecorder())
				elapsed := time.Since(start)
				if err == nil {
					c.Abort()
					t.Fatal("Dial succeeded against a silent server")
				}
				if !errors.Is(err, ctx.Err()) {
					t.Errorf("err = %v; want errors.Is(err, %v)", err, ctx.Err())
				}
				if elapsed > time.Second {
					t.Errorf("Dial returned after %v", elapsed)
				}
			})
		}
	}
}

func TestDialTLS(t *testing.T) {
	s := newServer(t, echo{}, serverOpts{tls: true})

	t.Run("with CA", func(t *testing.T) {
		cfg := s.caConfig()
		r := newRecorder()
		c := dial(t, Options{URL: s.wsURL("/ws"), TLSConfig: cfg}, r)
		if err := c.Write([]byte("over tls")); err != nil {
			t.Fatal(err)
		}
		if got := r.next(t); got != "over tls" {
			t.Fatalf("echo = %q", got)
		}
		if cfg.ServerName != "" {
			t.Errorf("TLSConfig mutated: ServerName = %q", cfg.ServerName)
		}
		_ = c.Close()
	})
	t.Run("without CA", func(t *testing.T) {
		_, err := Dial(context.Background(), Options{URL: s.wsURL("/ws")}, newRecorder())
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err = %v, want a certificate error", err)
		}
	})
	t.Run("ws to TLS port", func(t *testing.T) {
		_, err := Dial(context.Background(), Options{URL: strings.Replace(s.wsURL("/ws"), "wss:", "ws:", 1)}, newRecorder())
		var he *HandshakeError
		if !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest {
			t.Fatalf("err = %v, want a 400 HandshakeError", err)
		}
		t.Logf("%v", err)
	})
}

func TestDialBadInput(t *testing.T) {
	for _, u := range []string{"http://example.com/ws", "::not a url", ""} {
		if _, err := Dial(context.Background(), Options{URL: u}, newRecorder()); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
		}
	}
	if _, err := Dial(context.Background(), Options{URL: "ws://127.0.0.1:1/"}, nil); err == nil {
		t.Error("Dial with nil Handler succeeded")
	}
	// Connection refused: an error, promptly, no leak.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	_ = ln.Close()
	if _, err := Dial(context.Background(), Options{URL: "ws://" + addr + "/"}, newRecorder()); err == nil {
		t.Error("Dial to a closed port succeeded")
	}
}

func TestDialHeaderAndDialer(t *testing.T) {
	got := make(chan http.Header, 1)
	s := newServer(t, echo{}, serverOpts{onRequest: func(r *http.Request) {
		select {
		case got <- r.Header.Clone():
		default:
		}
	}})
	var dials atomic.Int32
	var d net.Dialer
	hdr := http.Header{"Authorization": {"Bearer tok"}}
	c := dial(t, Options{
		URL:    s.wsURL("/ws/v2/consumer/persistent/public/default/t/sub?subscriptionType=Shared"),
		Header: hdr,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
	}, newRecorder())
	h := <-got
	if h.Get("Authorization") != "Bearer tok" || dials.Load() != 1 {
		t.Errorf("Authorization %q, %d dials", h.Get("Authorization"), dials.Load())
	}
	hdr.Set("Authorization", "changed") // Dial copied the header
	_ = c.Close()
}
