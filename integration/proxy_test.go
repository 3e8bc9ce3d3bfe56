package integration

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// proxy is a loopback TCP proxy between a client and the broker. It counts
// the WebSocket text frames the server sends and can cut every connection.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns []net.Conn
	paths map[net.Conn]string // a client connection's HTTP request line, once read
	wg    sync.WaitGroup

	frames  atomic.Int64 // server → client text frames
	stalled atomic.Bool  // while set, nothing is forwarded either way
}

func newProxy(t *testing.T, wsURL string) *proxy {
	t.Helper()
	u, err := url.Parse(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: u.Host}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url() string { return "ws://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			// The request line names the handle's topic (cutPath).
			br := bufio.NewReader(c)
			if line, err := br.ReadString('\n'); err == nil {
				p.mu.Lock()
				if p.paths == nil {
					p.paths = map[net.Conn]string{}
				}
				p.paths[c] = line
				p.mu.Unlock()
				_, _ = io.WriteString(s, line)
			}
			_, _ = io.Copy(s, stallable{br, &p.stalled})
			s.Close()
			c.Close()
		}()
		go func() {
			defer p.wg.Done()
			p.countFrames(c, stallable{s, &p.stalled})
			s.Close()
			c.Close()
		}()
	}
}

// countFrames copies server bytes to the client, parsing WebSocket frames
// after the HTTP response.
func (p *proxy) countFrames(dst io.Writer, src io.Reader) {
	r := bufio.NewReader(io.TeeReader(src, dst))
	// HTTP response header.
	var hdr []byte
	for !bytes.HasSuffix(hdr, []byte("\r\n\r\n")) {
		b, err := r.ReadByte()
		if err != nil {
			return
		}
		hdr = append(hdr, b)
	}
	var h [14]byte
	for {
		if _, err := io.ReadFull(r, h[:2]); err != nil {
			return
		}
		opcode := h[0] & 0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(r, h[2:4]); err != nil {
				return
			}
			n = uint64(binary.BigEndian.Uint16(h[2:4]))
		case 127:
			if _, err := io.ReadFull(r, h[2:10]); err != nil {
				return
			}
			n = binary.BigEndian.Uint64(h[2:10])
		}
		if h[1]&0x80 != 0 {
			if _, err := io.ReadFull(r, h[10:14]); err != nil {
				return
			}
		}
		if _, err := r.Discard(int(n)); err != nil {
			return
		}
		if opcode == 1 {
			p.frames.Add(1)
		}
	}
}

// cut closes every connection through the proxy.
func (p *proxy) cut() {
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
}

// cutPath closes the connections whose request line holds sub (e.g. one
// partition's name) and returns how many it closed.
func (p *proxy) cutPath(sub string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c, line := range p.paths {
		if strings.Contains(line, sub) {
			c.Close()
			delete(p.paths, c)
			n++
		}
	}
	return n
}

func (p *proxy) close() {
	p.ln.Close()
	p.cut()
	p.wg.Wait()
}

// stallable is a reader that stops reading while stalled is set, as a peer
// that stops reading its socket does.
type stallable struct {
	r       io.Reader
	stalled *atomic.Bool
}

func (s stallable) Read(b []byte) (int, error) {
	for s.stalled.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	return s.r.Read(b)
}
