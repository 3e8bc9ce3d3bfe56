package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate/dockertest"
)

// These tests build cmd/stargate (the integration module replaces the
// root module with ../, so it is this tree's command) and run the binary
// against the real broker, checking stdout, stderr and the exit status.

// cli is a built stargate binary and the broker it talks to.
type cli struct {
	t   *testing.T
	bin string
	b   *dockertest.Broker
	env []string // the environment of every run: STARGATE_URL and nothing else of ours
}

func buildCLI(t *testing.T, b *dockertest.Broker) *cli {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stargate")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/stargate-go/stargate/cmd/stargate")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STARGATE_") {
			env = append(env, kv)
		}
	}
	return &cli{t: t, bin: bin, b: b, env: append(env, "STARGATE_URL="+b.WSURL)}
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs the binary with stdin and extra environment and waits for it.
func (c *cli) run(stdin string, env []string, args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(append([]string(nil), c.env...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			c.t.Fatalf("%q: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{code, out.String(), errb.String()}
}

// ok runs args and fails the test unless they exit 0.
func (c *cli) ok(stdin string, args ...string) result {
	c.t.Helper()
	r := c.run(stdin, nil, args...)
	if r.code != 0 {
		c.t.Fatalf("%q: %s", args, r)
	}
	return r
}

// expect runs args and checks the exit status and that stderr holds want.
func (c *cli) expect(code int, want string, env []string, args ...string) result {
	c.t.Helper()
	r := c.run("", env, args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		c.t.Errorf("%q: want exit %d and %q in stderr; got %s", args, code, want, r)
	}
	return r
}

// jsonLines decodes the JSON lines of s.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(s) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestCLI(t *testing.T) {
	b := dockertest.Require(t, dockertest.Plain)
	c := buildCLI(t, b)

	t.Run("ProduceRead", func(t *testing.T) {
		c := *c
		c.t = t
		topic := dockertest.UniqueTopic(t)
		p := c.ok("", "produce", topic, "-m", "one", "-m", "two", "-k", "k1", "-P", "a=b", "-o", "json")
		ids := jsonLines(t, p.stdout)
		if len(ids) != 2 || ids[0]["input"] != "-m #1" || !strings.Contains(p.stderr, "produced 2 messages") {
			t.Fatalf("produce: %s", p)
		}
		r := c.ok("", "read", topic, "-n", "2")
		msgs := jsonLines(t, r.stdout)
		if len(msgs) != 2 {
			t.Fatalf("read: %s", r)
		}
		for i, m := range msgs {
			if m["payload"] != []string{"one", "two"}[i] || m["key"] != "k1" || m["id"] != ids[i]["id"] ||
				m["position"] != ids[i]["position"] || fmt.Sprint(m["properties"]) != "map[a:b]" || m["topic"] != topic {
				t.Errorf("message %d: %v (sent as %v)", i, m, ids[i])
			}
		}
		// --start is exclusive: after the first message comes the second.
		r = c.ok("", "read", topic, "--start", ids[0]["id"].(string), "-n", "1", "-o", "payload")
		if r.stdout != "two\n" {
			t.Errorf("read --start: %s", r)
		}
		r = c.ok("", "read", topic, "--start", ids[0]["position"].(string), "--wait", "2s", "-o", "payload")
		if r.stdout != "two\n" || !strings.Contains(r.stderr, "read 1 message ") {
			t.Errorf("read --start position --wait: %s", r)
		}
	})

	t.Run("JSONLinesAndAcks", func(t *testing.T) {
		c := *c
		c.t = t
		topic := dockertest.UniqueTopic(t)
		in := `{"key":"a","properties":{"p":"1"},"eventTime":"2026-12-03T10:00:00.250Z","payload":"text"}

{"payloadBase64":"AP8=","eventTime":1796292000000}
{"payload":{"n":1}}
`
		c.ok(in, "produce", topic, "--json", "-v")
		r := c.ok("", "consume", topic, "-s", "sub", "--position", "earliest", "-n", "3")
		msgs := jsonLines(t, r.stdout)
		if len(msgs) != 3 {
			t.Fatalf("consume: %s", r)
		}
		if m := msgs[0]; m["key"] != "a" || m["payload"] != "text" || m["eventTime"] != "2026-12-03T10:00:00.250Z" || fmt.Sprint(m["properties"]) != "map[p:1]" {
			t.Errorf("first: %v", m)
		}
		if m := msgs[1]; m["payloadBase64"] != "AP8=" || m["payload"] != nil || m["eventTime"] != "2026-12-03T10:00:00.000Z" {
			t.Errorf("second: %v", m)
		}
		if m := msgs[2]; m["payload"] != `{"n":1}` {
			t.Errorf("third: %v", m)
		}
		// They were acknowledged: the subscription has nothing left.
		r = c.ok("", "consume", topic, "-s", "sub", "--wait", "3s")
		if r.stdout != "" || !strings.Contains(r.stderr, "consumed 0 messages") {
			t.Errorf("after acks: %s", r)
		}
		// consume -o json feeds produce --json: a copy to another topic.
		copyTopic := topic + "-copy"
		c.ok("", "produce", topic, "-m", "again")
		r = c.ok("", "consume", topic, "-s", "sub2", "--position", "earliest", "-n", "4", "--ack=false")
		c.ok(r.stdout, "produce", copyTopic, "--json")
		got := c.ok("", "read", copyTopic, "-n", "4", "--base64")
		if lines := jsonLines(t, got.stdout); len(lines) != 4 || lines[0]["payloadBase64"] != "dGV4dA==" || lines[3]["payloadBase64"] != "YWdhaW4=" || lines[0]["key"] != "a" {
			t.Errorf("copy: %s", got)
		}
		// --ack=false left sub2's messages there.
		r = c.ok("", "consume", topic, "-s", "sub2", "-n", "4", "-o", "payload")
		if r.stdout != "text\n\x00\xff\n{\"n\":1}\nagain\n" {
			t.Errorf("redelivered: %q", r.stdout)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		c := *c
		c.t = t
		topic := dockertest.UniqueTopic(t)
		r := c.run("{\"payload\":\"1\"}\n{\"payload\":\"2\"}\n{\"paylod\":\"3\"}\n{\"payload\":\"4\"}\n", nil, "produce", topic, "--json")
		if r.code != 1 || !strings.Contains(r.stderr, `stdin:3: not a JSON message: json: unknown field "paylod"`) || !strings.Contains(r.stderr, "produced 2 messages") {
			t.Errorf("bad JSON line: %s", r)
		}
		got := c.ok("", "read", topic, "--wait", "2s", "-o", "payload")
		if got.stdout != "1\n2\n" {
			t.Errorf("what was sent before the bad line: %s", got)
		}
		big := strings.Repeat("x", 2<<20) // over the broker's 1 MiB text frame
		r = c.run("small\n"+big+"\n", nil, "produce", topic)
		if r.code != 1 || !strings.Contains(r.stderr, "stdin:2:") || !strings.Contains(r.stderr, "produced 1 message ") {
			t.Errorf("too large: %s", r)
		}
	})

	t.Run("UsageErrors", func(t *testing.T) {
		c := *c
		c.t = t
		c.expect(2, "flag provided but not defined: -bogus", nil, "produce", "t", "--bogus")
		c.expect(2, "Run 'stargate produce -h' for usage.", nil, "produce", "t", "--bogus")
		c.expect(2, "unknown command \"prodce\"", nil, "prodce", "t")
		c.expect(2, "consume: -s SUBSCRIPTION is required", nil, "consume", "t")
		c.expect(2, "read: missing TOPIC", nil, "read")
		c.expect(2, "invalid value \"often\" for flag -type", nil, "consume", "t", "-s", "x", "--type", "often")
		c.expect(2, "topic", nil, "produce", "a/b/c/d", "-m", "x")
		c.expect(2, "--url", nil, "--url", "http://127.0.0.1:1", "read", "t")
		c.expect(2, "--tls-ca", nil, "read", "t", "--tls-ca", "/nonexistent.pem")
		r := c.run("", nil, "produce", "-h")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: stargate produce TOPIC") {
			t.Errorf("-h: %s", r)
		}
	})

	t.Run("ConnectionErrors", func(t *testing.T) {
		c := *c
		c.t = t
		c.expect(3, "cannot connect", nil, "--url", "ws://127.0.0.1:1", "produce", "t", "-m", "x")
		c.expect(3, "cannot connect", []string{"STARGATE_URL=ws://127.0.0.1:1"}, "read", "t")
	})

	t.Run("Refused", func(t *testing.T) {
		c := *c
		c.t = t
		topic := dockertest.UniqueTopic(t)
		sub := exec.Command(c.bin, "consume", topic, "-s", "excl")
		sub.Env = c.env
		stderr := &syncBuffer{}
		sub.Stderr = stderr
		if err := sub.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { sub.Process.Kill(); sub.Wait() }()
		deadline := time.Now().Add(30 * time.Second)
		for {
			// Until the first consumer is subscribed, this one is, and
			// ends after --wait.
			r := c.run("", nil, "consume", topic, "-s", "excl", "-n", "1", "--wait", "1s")
			if r.code == 4 && strings.Contains(r.stderr, "409") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("second exclusive consumer: %s", r)
			}
			time.Sleep(200 * time.Millisecond) // the first one may not be subscribed yet
		}
	})

	t.Run("Interrupt", func(t *testing.T) {
		c := *c
		c.t = t
		topic := dockertest.UniqueTopic(t)
		// produce from a pipe that stays open: Ctrl-C ends it, after the
		// messages in flight were acknowledged.
		p := c.start(t, "produce", topic, "-v")
		io.WriteString(p.stdin, "m1\nm2\nm3\n")
		p.waitLines(t, 3)
		p.interrupt(t)
		if r := p.wait(t); r.code != 130 || !strings.Contains(r.stderr, "produced 3 messages") || !strings.Contains(r.stderr, "stargate: interrupted") {
			t.Errorf("interrupted produce: %s", r)
		}
		// consume until interrupted: Ctrl-C is its normal end, and the
		// acknowledgements of what it printed are written first.
		s := c.start(t, "consume", topic, "-s", "sub", "--position", "earliest", "-o", "payload")
		s.waitLines(t, 3)
		s.interrupt(t)
		if r := s.wait(t); r.code != 0 || r.stdout != "m1\nm2\nm3\n" || !strings.Contains(r.stderr, "consumed 3 messages") {
			t.Errorf("interrupted consume: %s", r)
		}
		r := c.ok("", "consume", topic, "-s", "sub", "--wait", "3s")
		if r.stdout != "" {
			t.Errorf("acks lost at Ctrl-C: %s", r)
		}
		// consume -n 5 interrupted after 3: not done.
		s = c.start(t, "consume", topic, "-s", "sub2", "--position", "earliest", "-n", "5")
		s.waitLines(t, 3)
		s.interrupt(t)
		if r := s.wait(t); r.code != 130 {
			t.Errorf("interrupted consume -n 5: %s", r)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running stargate whose stdout lines are collected.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	out    *syncBuffer
	stderr *syncBuffer
	copied chan struct{}
}

func (c *cli) start(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdin: stdin, lines: make(chan string, 1000), out: &syncBuffer{}, stderr: &syncBuffer{}, copied: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { // ends with the process's stdout; wait joins it
		defer close(p.copied)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.out.Write([]byte(sc.Text() + "\n"))
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			p.wait(t)
		}
	})
	return p
}

func (p *proc) waitLines(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for range n {
		select {
		case <-p.lines:
		case <-timeout:
			t.Fatalf("waiting for %d lines of output; stdout %q, stderr %q", n, p.out.String(), p.stderr.String())
		}
	}
}

func (p *proc) interrupt(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
}

func (p *proc) wait(t *testing.T) result {
	t.Helper()
	<-p.copied
	err := p.cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, p.out.String(), p.stderr.String()}
}
