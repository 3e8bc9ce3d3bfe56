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
		r := c.ok("", "read", topic, "-n", "2", "-o", "json")
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
		// The default output is for people.
		r = c.ok("", "read", topic, "-n", "1")
		if want := "[" + ids[0]["position"].(string) + " "; !strings.HasPrefix(r.stdout, want) || !strings.HasSuffix(r.stdout, " key=k1 a=b] one\n") {
			t.Errorf("read as text: %s", r)
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

	t.Run("FileAndOptions", func(t *testing.T) {
		c := *c
		c.t = t
		topic := dockertest.UniqueTopic(t)
		file := filepath.Join(t.TempDir(), "in.txt")
		os.WriteFile(file, []byte("first\n\nwindows line\r\nlast"), 0o600)
		r := c.ok("", "produce", topic, "-f", file, "--batching", "--batch-max-delay", "20ms", "--compression", "zstd",
			"-P", "src=file", "--event-time", "--name", "cli-producer", "-v")
		if n := len(strings.Fields(r.stdout)); n != 4 || !strings.Contains(r.stderr, "produced 4 messages") {
			t.Fatalf("produce -f: %s", r)
		}
		r = c.ok("", "read", topic, "-n", "4", "-o", "json")
		msgs := jsonLines(t, r.stdout)
		want := []string{"first", "", "windows line", "last"}
		for i, m := range msgs {
			if m["payload"] != want[i] || fmt.Sprint(m["properties"]) != "map[src:file]" || m["eventTime"] == nil {
				t.Errorf("message %d: %v", i, m)
			}
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
		r := c.ok("", "consume", topic, "-s", "sub", "--position", "earliest", "-n", "3", "-o", "json")
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
		r = c.ok("", "consume", topic, "-s", "sub2", "--position", "earliest", "-n", "4", "--ack=false", "-o", "json")
		c.ok(r.stdout, "produce", copyTopic, "--json")
		got := c.ok("", "read", copyTopic, "-n", "4", "--base64", "-o", "json")
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
		// Wait until the first consumer holds the subscription (a second
		// one started earlier could take it and make the first fail).
		deadline := time.Now().Add(30 * time.Second)
		for {
			r := c.run("", nil, "admin", "topics", "stats", topic, "-o", "json")
			var st struct {
				Subscriptions map[string]struct{ Consumers []any }
			}
			json.Unmarshal([]byte(r.stdout), &st)
			if len(st.Subscriptions["excl"].Consumers) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the first consumer did not subscribe: %s\n%s", r, stderr)
			}
			time.Sleep(100 * time.Millisecond)
		}
		r := c.run("", nil, "consume", topic, "-s", "excl", "-n", "1")
		if r.code != 4 || !strings.Contains(r.stderr, "409") {
			t.Errorf("second exclusive consumer: %s", r)
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

func TestCLIAdmin(t *testing.T) {
	b := dockertest.Require(t, dockertest.Plain)
	c := buildCLI(t, b)
	tenant := dockertest.UniqueName(t)
	ns := tenant + "/ns"
	defer c.run("", nil, "admin", "tenants", "delete", tenant, "--force")

	if r := c.ok("", "admin", "tenants", "create", tenant); !strings.Contains(r.stdout, "created tenant "+tenant) {
		t.Errorf("tenants create: %s", r)
	}
	c.expect(4, "409", nil, "admin", "tenants", "create", tenant)
	if r := c.ok("", "admin", "tenants", "list", "-o", "json"); !strings.Contains(r.stdout, `"`+tenant+`"`) {
		t.Errorf("tenants list: %s", r)
	}
	c.ok("", "admin", "tenants", "update", tenant, "--admin-roles", "ops")
	if r := c.ok("", "admin", "tenants", "get", tenant); !strings.Contains(r.stdout, "ops") {
		t.Errorf("tenants get: %s", r)
	}
	if r := c.ok("", "admin", "clusters", "list"); strings.TrimSpace(r.stdout) == "" {
		t.Errorf("clusters list: %s", r)
	}
	c.ok("", "admin", "ns", "create", ns)
	if r := c.ok("", "admin", "namespaces", "list", tenant); strings.TrimSpace(r.stdout) != ns {
		t.Errorf("namespaces list: %s", r)
	}
	c.ok("", "admin", "ns", "set-retention", ns, "--time", "2h", "--size", "-1")
	c.ok("", "admin", "ns", "set-ttl", ns, "1h")
	c.ok("", "admin", "ns", "set-dedup", ns, "on")
	c.ok("", "admin", "ns", "set-backlog-quota", ns, "--limit-size", "1048576", "--policy", "exception")
	r := c.ok("", "admin", "ns", "policies", ns, "-o", "json")
	var pol struct {
		Retention     struct{ Time string }
		MessageTTL    string
		Deduplication bool
		BacklogQuotas map[string]struct {
			LimitSize int64
			Policy    string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &pol); err != nil || pol.Retention.Time != "2h0m0s" || pol.MessageTTL != "1h0m0s" ||
		!pol.Deduplication || pol.BacklogQuotas["size"].LimitSize != 1048576 || pol.BacklogQuotas["size"].Policy != "producer_exception" {
		t.Errorf("policies: %v %+v\n%s", err, pol, r)
	}
	if r := c.ok("", "admin", "ns", "policies", ns); !strings.Contains(r.stdout, "1.0 MiB, producer_exception") {
		t.Errorf("policies as text: %s", r)
	}
	for _, what := range []string{"retention", "ttl", "dedup"} {
		c.ok("", "admin", "ns", "remove-"+what, ns)
	}
	c.ok("", "admin", "ns", "remove-backlog-quota", ns)
	if r := c.ok("", "admin", "ns", "ttl", ns); !strings.Contains(r.stdout, "(default)") {
		t.Errorf("ttl after remove: %s", r)
	}

	c.ok("", "admin", "ns", "grant", ns, "app", "--actions", "produce,consume")
	if r := c.ok("", "admin", "ns", "permissions", ns); !strings.Contains(r.stdout, "app   consume, produce") {
		t.Errorf("ns permissions: %s", r)
	}
	c.ok("", "admin", "ns", "revoke", ns, "app")
	clusters := strings.TrimSpace(c.ok("", "admin", "clusters", "list").stdout)
	c.ok("", "admin", "ns", "set-replication-clusters", ns, clusters)
	if r := c.ok("", "admin", "ns", "replication-clusters", ns); strings.TrimSpace(r.stdout) != clusters {
		t.Errorf("replication clusters: %s", r)
	}

	parted := "persistent://" + ns + "/parted"
	c.ok("", "admin", "topics", "create", parted, "-p", "3")
	c.ok("", "admin", "topics", "update-partitions", parted, "4")
	if r := c.ok("", "admin", "topics", "partitions", parted); r.stdout != "4\n" {
		t.Errorf("partitions: %s", r)
	}
	topic := "persistent://" + ns + "/plain"
	c.ok("", "admin", "topics", "create", topic)
	r = c.ok("", "admin", "topics", "list", ns, "-o", "json")
	var topics []struct {
		Topic      string
		Partitions int
	}
	if err := json.Unmarshal([]byte(r.stdout), &topics); err != nil || len(topics) != 2 || topics[0].Topic != parted || topics[0].Partitions != 4 || topics[1].Topic != topic {
		t.Errorf("topics list: %v %+v\n%s", err, topics, r)
	}

	c.ok("", "admin", "subs", "create", topic, "sub", "--at", "earliest")
	c.ok("", "produce", topic, "-m", "m1", "-m", "m2", "-m", "m3", "-m", "m4", "-k", "k")
	if r := c.ok("", "admin", "subs", "list", topic); r.stdout != "sub\n" {
		t.Errorf("subs list: %s", r)
	}
	r = c.ok("", "admin", "topics", "peek", topic, "-s", "sub", "-n", "2", "-o", "json")
	if p := jsonLines(t, r.stdout); len(p) != 2 || p[0]["payload"] != "m1" || p[1]["payload"] != "m2" || p[0]["key"] != "k" {
		t.Errorf("peek: %s", r)
	}
	r = c.ok("", "admin", "topics", "stats", topic)
	if !strings.Contains(r.stdout, "SUBSCRIPTION") || !strings.Contains(r.stdout, "4 messages") {
		t.Errorf("stats: %s", r)
	}
	r = c.ok("", "admin", "topics", "stats", topic, "--precise", "-o", "json")
	var st struct {
		MsgInCounter  int64
		Subscriptions map[string]struct{ MsgBacklog int64 }
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.MsgInCounter != 4 || st.Subscriptions["sub"].MsgBacklog != 4 {
		t.Errorf("stats -o json: %v %+v", err, st)
	}
	c.ok("", "admin", "topics", "stats", parted, "--per-partition")
	// topic-level policies and permissions, the broker's other topic calls
	c.ok("", "admin", "topics", "set-retention", topic, "--time", "-1", "--size", "-1")
	c.ok("", "admin", "topics", "set-ttl", topic, "90s")
	c.ok("", "admin", "topics", "set-dedup", topic, "off")
	c.ok("", "admin", "topics", "set-backlog-quota", topic, "--type", "age", "--limit-time", "1h", "--policy", "eviction")
	r = c.ok("", "admin", "topics", "policies", topic)
	for _, want := range []string{"time no limit, size no limit", "1m30s", "off", "backlog quota (age)  1h0m0s, consumer_backlog_eviction"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("topic policies: no %q in\n%s", want, r.stdout)
		}
	}
	c.ok("", "admin", "topics", "remove-retention", topic)
	c.ok("", "admin", "topics", "remove-ttl", topic)
	c.ok("", "admin", "topics", "remove-dedup", topic)
	c.ok("", "admin", "topics", "remove-backlog-quota", topic, "--type", "age")
	c.ok("", "admin", "topics", "grant", topic, "app")
	if r := c.ok("", "admin", "topics", "permissions", topic, "-o", "json"); !strings.Contains(r.stdout, `"app": [`) {
		t.Errorf("topic permissions: %s", r)
	}
	c.ok("", "admin", "topics", "revoke", topic, "app")
	if r := c.ok("", "admin", "topics", "lookup", topic, "-o", "json"); !strings.Contains(r.stdout, `"httpUrl": "http://`) {
		t.Errorf("lookup: %s", r)
	}
	if r := c.ok("", "admin", "topics", "bundle", topic); !strings.HasPrefix(r.stdout, "0x") {
		t.Errorf("bundle: %s", r)
	}
	c.ok("", "admin", "topics", "create-missed-partitions", parted)

	c.ok("", "admin", "topics", "internal-stats", topic)
	c.ok("", "admin", "subs", "skip", topic, "sub", "1")
	if r := c.ok("", "admin", "subs", "peek", topic, "sub", "-o", "payload"); r.stdout != "m2\n" {
		t.Errorf("peek after skip: %s", r)
	}
	c.ok("", "admin", "subs", "clear", topic, "sub")
	// Back in time: the cursor goes to 10 minutes ago, everything is again in the backlog.
	c.ok("", "admin", "subs", "reset", topic, "sub", "--time", "10m")
	if r := c.ok("", "consume", topic, "-s", "sub", "-n", "4", "--ack=false", "-o", "payload"); r.stdout != "m1\nm2\nm3\nm4\n" {
		t.Errorf("after reset --time: %s", r)
	}
	c.ok("", "admin", "subs", "expire", topic, "sub", "--older-than", "1h")
	c.expect(2, "whole number of seconds", nil, "admin", "subs", "expire", topic, "sub", "--older-than", "1500ms")
	last := c.ok("", "admin", "topics", "last-id", topic, "-o", "json")
	var lastID struct{ ID, Position string }
	json.Unmarshal([]byte(last.stdout), &lastID)
	if r := c.ok("", "admin", "topics", "get-message", topic, lastID.Position); !strings.HasSuffix(r.stdout, "] m4\n") {
		t.Errorf("get-message %s: %s", lastID.Position, r)
	}
	c.ok("", "admin", "subs", "reset", topic, "sub", "--id", lastID.ID)
	c.ok("", "admin", "topics", "id-by-time", topic, "1h")
	// read --start TIME and --end
	if r := c.ok("", "read", topic, "--start", "1h", "--end", "-o", "payload"); r.stdout != "m1\nm2\nm3\nm4\n" {
		t.Errorf("read --start 1h --end: %s", r)
	}
	c.ok("", "produce", parted, "-m", "a", "-m", "b", "-m", "c", "--routing", "round-robin")
	if r := c.ok("", "read", parted, "--end", "-o", "payload"); len(strings.Fields(r.stdout)) != 3 {
		t.Errorf("read --end on a partitioned topic: %s", r)
	}
	c.expect(2, "partitioned", nil, "read", parted, "--start", "1h")
	if r := c.ok("", "admin", "topics", "terminate", topic); r.stdout != lastID.Position+"\n" {
		t.Errorf("terminate: %s, want %s", r, lastID.Position)
	}
	c.expect(4, "terminated", nil, "produce", topic, "-m", "late")
	// A terminated topic ends a reader at its end.
	if r := c.ok("", "read", topic, "-o", "payload"); r.stdout != "m1\nm2\nm3\nm4\n" {
		t.Errorf("read a terminated topic: %s", r)
	}
	// Last, as they change what is stored: without retention, a cleared
	// backlog may be trimmed.
	c.ok("", "admin", "ns", "clear-backlog", ns)
	c.ok("", "admin", "ns", "unload", ns)
	c.ok("", "admin", "topics", "compact", topic)
	// A topic being compacted cannot be deleted (Pulsar 4.0.8 answers 422
	// "{}"; failed one run): wait for the compaction as a user would.
	for deadline := time.Now().Add(time.Minute); ; {
		r := c.ok("", "admin", "topics", "compaction-status", topic, "-o", "json")
		if !strings.Contains(r.stdout, "RUNNING") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("compaction still running after a minute: %s", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.ok("", "admin", "topics", "unload", parted)
	r = c.ok("", "admin", "topics", "terminate", parted, "-o", "json")
	var ends []struct{ Topic, Position string }
	if err := json.Unmarshal([]byte(r.stdout), &ends); err != nil || len(ends) != 4 {
		t.Errorf("terminate a partitioned topic: %v %s", err, r)
	}
	c.ok("", "admin", "subs", "delete", topic, "sub")
	c.expect(4, "404", nil, "admin", "subs", "delete", topic, "sub")
	c.expect(4, "404", nil, "admin", "topics", "stats", "persistent://"+ns+"/nothing")
	c.ok("", "admin", "topics", "delete", topic)
	c.ok("", "admin", "topics", "delete", parted, "--force")
	c.ok("", "admin", "ns", "delete", ns)
	c.ok("", "admin", "tenants", "delete", tenant)
	c.expect(3, "", []string{"STARGATE_URL=ws://127.0.0.1:1"}, "admin", "tenants", "list")
}

func TestCLIToken(t *testing.T) {
	b := dockertest.Require(t, dockertest.Token)
	c := buildCLI(t, b)
	topic := dockertest.UniqueTopic(t)
	c.expect(4, "401", nil, "produce", topic, "-m", "x")
	c.expect(4, "401", nil, "admin", "topics", "list", "public/default")
	c.expect(4, "401", nil, "produce", topic, "-m", "x", "--token", "not-a-jwt")
	c.ok("", "produce", topic, "-m", "flag", "--token", b.Token())
	if r := c.run("", []string{"STARGATE_TOKEN=" + b.Token()}, "produce", topic, "-m", "env"); r.code != 0 {
		t.Errorf("STARGATE_TOKEN: %s", r)
	}
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte(b.Token()+"\n"), 0o600)
	if r := c.run("", []string{"STARGATE_TOKEN_FILE=" + file}, "admin", "topics", "stats", topic); r.code != 0 {
		t.Errorf("STARGATE_TOKEN_FILE: %s", r)
	}
	r := c.ok("", "read", topic, "--token-file", file, "--end", "-o", "payload")
	if r.stdout != "flag\nenv\n" {
		t.Errorf("read with --token-file: %s", r)
	}
	if strings.Contains(c.expect(4, "401", nil, "read", topic, "--token", "secret-looking-token").stderr, "secret-looking-token") {
		t.Errorf("the token is in the error")
	}
}

func TestCLITLS(t *testing.T) {
	b := dockertest.Require(t, dockertest.TLS)
	c := buildCLI(t, b)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, b.CAPEM, 0o600)
	topic := dockertest.UniqueTopic(t)
	c.expect(3, "certificate", nil, "--url", b.WSSURL, "produce", topic, "-m", "x")
	c.ok("", "--url", b.WSSURL, "--tls-ca", ca, "produce", topic, "-m", "secure")
	if r := c.run("", []string{"STARGATE_URL=" + b.WSSURL, "STARGATE_TLS_CA=" + ca, "STARGATE_ADMIN_URL=" + b.AdminTLSURL}, "admin", "topics", "stats", topic, "-o", "json"); r.code != 0 {
		t.Errorf("admin over https: %s", r)
	}
	if r := c.run("", []string{"STARGATE_URL=" + b.WSSURL, "STARGATE_TLS_INSECURE=true"}, "read", topic, "-n", "1", "-o", "payload"); r.code != 0 || r.stdout != "secure\n" {
		t.Errorf("--tls-insecure: %s", r)
	}
}
