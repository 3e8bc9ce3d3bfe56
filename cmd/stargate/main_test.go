package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
)

// runApp runs the command in-process with env as its environment.
func runApp(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code = a.run(ctx, args)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	// An unreachable URL: none of these may get as far as connecting.
	env := map[string]string{"STARGATE_URL": "ws://127.0.0.1:1"}
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--nope", "produce"}, "flag provided but not defined: -nope"},
		{[]string{"produce"}, "produce: missing TOPIC"},
		{[]string{"produce", "t", "u"}, `unexpected argument "u"`},
		{[]string{"produce", "t", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"produce", "t", "-m", "x", "-f", "y"}, "-m and -f are exclusive"},
		{[]string{"produce", "t", "-P", "novalue", "-m", "x"}, `-P "novalue": want KEY=VALUE`},
		{[]string{"produce", "t", "--compression", "gzip"}, "want one of none, lz4, zlib, zstd, snappy"},
		{[]string{"produce", "t", "--batch-max-messages", "5", "-m", "x"}, "need --batching"},
		{[]string{"produce", "t", "-o", "yaml", "-m", "x"}, `-o "yaml": want one of text, json`},
		{[]string{"produce", "t", "-f", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"produce", "persistent://bad topic/x/y", "-m", "x"}, "topic"},
		{[]string{"consume", "t"}, "-s SUBSCRIPTION is required"},
		{[]string{"consume", "t", "-s", "s", "-t", "round-robin"}, "want one of exclusive, shared, failover, key-shared"},
		{[]string{"consume", "t", "-s", "s", "-n", "-1"}, "-n -1: must not be negative"},
		{[]string{"consume", "t", "-s", "s", "-o", "table"}, `want one of text, json, payload`},
		{[]string{"read", "t", "--start", "yesterday-ish"}, "--start"},
		{[]string{"read", "t", "--token", "a", "--token-file", "b"}, "--token and --token-file are exclusive"},
		{[]string{"read", "t", "--token-file", filepath.Join(dir, "missing")}, "--token-file"},
		{[]string{"read", "t", "--tls-ca", notPEM}, "holds no PEM certificate"},
		{[]string{"read", "t", "--tls-cert", notPEM}, "--tls-cert and --tls-key go together"},
		{[]string{"read", "t", "--url", "http://x:1"}, "--url"},
		{[]string{"admin", "topics", "list", "public/default", "--admin-url", "ftp://x:1"}, "--admin-url"},
		{[]string{"admin"}, "admin: missing AREA ACTION"},
		{[]string{"admin", "topics"}, "admin topics: missing ACTION"},
		{[]string{"admin", "topics", "frob"}, `unknown command "topics frob"`},
		{[]string{"admin", "topics", "list"}, "admin topics list: missing NAMESPACE"},
		{[]string{"admin", "topics", "create", "t", "-p", "-2"}, "-p -2: must not be negative"},
		{[]string{"admin", "subs", "reset", "t", "s"}, "give one of --time and --id"},
		{[]string{"admin", "subs", "reset", "t", "s", "--time", "last week"}, "--time"},
		{[]string{"admin", "subs", "skip", "t", "s", "many"}, `N "many"`},
		{[]string{"admin", "ns", "set-ttl", "public/default", "forever"}, `TTL "forever"`},
		{[]string{"admin", "ns", "set-dedup", "public/default", "maybe"}, "want on or off"},
		{[]string{"admin", "topics", "peek", "t"}, "-s SUBSCRIPTION is required"},
		{[]string{"admin", "topics", "stats", "t", "-o", "yaml"}, `want one of text, json`},
		{[]string{"help", "nothing"}, `unknown command "nothing"`},
	} {
		code, _, stderr := runApp(t, env, "", tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestBadEnvironment(t *testing.T) {
	code, _, stderr := runApp(t, map[string]string{"STARGATE_TLS_INSECURE": "maybe"}, "", "read", "t")
	if code != exitUsage || !strings.Contains(stderr, "STARGATE_TLS_INSECURE") {
		t.Errorf("exit %d, %q", code, stderr)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"help", "produce"}, {"produce", "-h"}, {"consume", "--help"}, {"read", "-h"},
		{"admin", "-h"}, {"admin", "topics", "-h"}, {"help", "admin"}, {"help", "admin", "topics", "stats"}, {"admin", "subs", "reset", "-h"}, {"admin", "ns", "policies", "--help"}} {
		code, stdout, stderr := runApp(t, nil, "", args...)
		if code != 0 || !strings.HasPrefix(stdout, "Usage: stargate") || stderr != "" {
			t.Errorf("%q: exit %d, stdout %.40q, stderr %q", args, code, stdout, stderr)
		}
	}
}

// flagRef matches a flag as usage texts show it: "-m", "--message".
var flagRef = regexp.MustCompile(`(?:^|[\s,\[(])--?([a-zA-Z][a-zA-Z0-9-]*)`)

// TestUsageListsEveryFlag keeps usage texts and flag sets in step: every
// flag a command accepts is in its usage (connection flags in the top
// usage), and every flag a usage shows is accepted.
func TestUsageListsEveryFlag(t *testing.T) {
	listed := func(usage string) map[string]bool {
		m := map[string]bool{}
		for _, g := range flagRef.FindAllStringSubmatch(usage, -1) {
			m[g[1]] = true
		}
		return m
	}
	conn := listed(connUsage)
	top := flag.NewFlagSet("x", flag.ContinueOnError)
	new(connFlags).register(top)
	for _, name := range flagNames(top) {
		if !conn[name] {
			t.Errorf("connection flag -%s is not in connUsage", name)
		}
	}
	for _, args := range helpCommands() {
		var fs *flag.FlagSet
		var usage string
		a := &app{stdout: new(bytes.Buffer), stderr: new(bytes.Buffer), getenv: func(string) string { return "" }}
		a.onParse = func(f *flag.FlagSet, u string) { fs, usage = f, u }
		if code := a.run(context.Background(), append(args, "-h")); code != 0 {
			t.Errorf("%q -h: exit %d", args, code)
			continue
		}
		if fs == nil {
			t.Errorf("%q: no flag set seen", args)
			continue
		}
		shown := listed(usage)
		for _, name := range flagNames(fs) {
			if !shown[name] && !conn[name] {
				t.Errorf("%q: flag -%s is not in the usage", args, name)
			}
		}
		for name := range shown {
			if fs.Lookup(name) == nil && !(name == "h" || name == "help") {
				t.Errorf("%q: usage shows -%s, which is not a flag", args, name)
			}
		}
	}
}

// helpCommands lists every command line that has its own flags.
func helpCommands() [][]string {
	cmds := [][]string{{"produce"}, {"consume"}, {"read"}, {"version"}}
	return append(cmds, adminCommandLines()...)
}

func TestParseInterleaved(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var m stringList
	v := fs.Bool("v", false, "")
	fs.Var(&m, "m", "")
	pos, err := parseInterleaved(fs, []string{"topic", "-m", "a", "x", "-v", "-m", "b", "--", "-m", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(pos, m, *v); got != "[topic x -m c] [a b] true" {
		t.Errorf("got %s", got)
	}
}

func TestParseJSONLine(t *testing.T) {
	for _, tc := range []struct {
		line, want, err string
	}{
		{`{"payload":"hi"}`, `key="" props=map[] payload="hi" event=0`, ""},
		{`{"key":"k","properties":{"a":"b"},"eventTime":"2026-12-03T10:00:00.5Z","payload":"x"}`,
			`key="k" props=map[a:b] payload="x" event=1796292000500`, ""},
		{`{"eventTime":1796292000500,"payloadBase64":"AAEC"}`, `key="" props=map[] payload="\x00\x01\x02" event=1796292000500`, ""},
		{`{"payload":{"n": 1, "s":[1, 2]}}`, `key="" props=map[] payload="{\"n\":1,\"s\":[1,2]}" event=0`, ""},
		// what consume -o json prints is accepted back
		{`{"id":"CAEQAjAA","position":"1:2:-1:-1","topic":"persistent://public/default/t","publishTime":"2026-12-03T10:00:00.000Z","redeliveryCount":2,"payload":"p"}`,
			`key="" props=map[] payload="p" event=0`, ""},
		{`{"paylod":"typo"}`, "", `unknown field "paylod"`},
		{`{"payload":"a","payloadBase64":"AA=="}`, "", "exclusive"},
		{`{"payloadBase64":"not base64!"}`, "", "payloadBase64"},
		{`{"eventTime":"yesterday"}`, "", "eventTime"},
		{`{"payload":"a"} {"payload":"b"}`, "", "more than one JSON value"},
		{`plain text`, "", "not a JSON message"},
	} {
		m, err := parseJSONLine([]byte(tc.line))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		ev := int64(0)
		if !m.EventTime.IsZero() {
			ev = m.EventTime.UnixMilli()
		}
		if got := fmt.Sprintf("key=%q props=%v payload=%q event=%d", m.Key, m.Properties, m.Payload, ev); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.line, got, tc.want)
		}
	}
}

func TestMessageOutput(t *testing.T) {
	id, err := parseMessageID("7:3:-1:-1")
	if err != nil {
		t.Fatal(err)
	}
	topic, _ := stargate.ParseTopic("orders")
	m := stargate.Message{
		ID: id, Topic: topic, Key: "k", Properties: map[string]string{"a": "<b>"},
		PublishTime: time.Date(2026, 12, 3, 10, 0, 0, 123e6, time.UTC),
		EventTime:   time.Date(2026, 12, 3, 11, 0, 0, 0, time.FixedZone("x", 3600)),
		Payload:     []byte("héllo <&>"),
	}
	var b bytes.Buffer
	w := newMsgWriter(&b, "json", false)
	w.write(m)
	m.Payload = []byte{0xff, 0}
	w.write(m)
	newMsgWriter(&b, "json", true).write(stargate.Message{ID: id, Payload: []byte("t")})
	newMsgWriter(&b, "payload", false).write(stargate.Message{ID: id, Payload: []byte("raw")})
	want := `{"id":"CAcQAzAA","position":"7:3:-1:-1","topic":"persistent://public/default/orders","key":"k","properties":{"a":"<b>"},"publishTime":"2026-12-03T10:00:00.123Z","eventTime":"2026-12-03T10:00:00.000Z","payload":"héllo <&>"}
{"id":"CAcQAzAA","position":"7:3:-1:-1","topic":"persistent://public/default/orders","key":"k","properties":{"a":"<b>"},"publishTime":"2026-12-03T10:00:00.123Z","eventTime":"2026-12-03T10:00:00.000Z","payloadBase64":"/wA="}
{"id":"CAcQAzAA","position":"7:3:-1:-1","payloadBase64":"dA=="}
raw
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestTextLine(t *testing.T) {
	id, _ := parseMessageID("7:3:1:-1")
	at := time.Date(2026, 12, 3, 10, 0, 0, 5e6, time.UTC)
	for _, tc := range []struct {
		m    stargate.Message
		b64  bool
		want string
	}{
		{stargate.Message{ID: id, PublishTime: at, Payload: []byte("plain text")}, false, "[7:3:1:-1 2026-12-03T10:00:00.005Z] plain text\n"},
		{stargate.Message{ID: id, Key: "k 1", Properties: map[string]string{"b": "2", "a": "x=y"}, EventTime: at, RedeliveryCount: 2, Payload: []byte(`{"a":1}`)}, false,
			`[7:3:1:-1 key="k 1" event=2026-12-03T10:00:00.005Z redelivered=2 a="x=y" b=2] {"a":1}` + "\n"},
		{stargate.Message{ID: id, Payload: []byte("two\nlines")}, false, `[7:3:1:-1] "two\nlines"` + "\n"},
		{stargate.Message{ID: id, Payload: []byte{0xff}}, false, "[7:3:1:-1] base64:/w==\n"},
		{stargate.Message{ID: id, Payload: []byte("t")}, true, "[7:3:1:-1] base64:dA==\n"},
	} {
		if got := textLine(tc.m, tc.b64); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

func TestParseMessageID(t *testing.T) {
	for in, want := range map[string]string{
		"1:2":      "1:2:-1:-1",
		"1:2:3":    "1:2:3:-1",
		"1:2:3:4":  "1:2:3:4",
		"CAcQAzAA": "7:3:-1:-1",
	} {
		id, err := parseMessageID(in)
		if err != nil || position(id) != want {
			t.Errorf("%s: %s, %v; want %s", in, position(id), err, want)
		}
	}
	for _, bad := range []string{"1", "1:x", "1:2:3:4:5", "1:2:-5", "!!"} {
		if _, err := parseMessageID(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestHumanUnits(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{humanBytes(0), "0 B"}, {humanBytes(1023), "1023 B"}, {humanBytes(1536), "1.5 KiB"},
		{humanBytes(5 << 20), "5.0 MiB"}, {humanBytes(3 << 30), "3.0 GiB"},
		{humanCount(0), "0"}, {humanCount(999), "999"}, {humanCount(1000), "1,000"},
		{humanCount(1234567), "1,234,567"}, {humanCount(-1234), "-1,234"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errHelp, 0},
		{usageErr("x"), 2},
		{&stargate.ArgError{Arg: "topic"}, 2},
		{&inputError{"stdin:1", errors.New("x")}, 1},
		{&inputError{"stdin:1", &stargate.ArgError{Arg: "payload"}}, 1},
		{fmt.Errorf("send: %w", &stargate.ConnectError{StatusCode: 401}), 4},
		{&stargate.SendError{Code: 8}, 4},
		{stargate.ErrTopicTerminated, 4},
		{&connectionError{errors.New("x")}, 3},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, 3},
		{stargate.ErrSendTimeout, 3},
		{fmt.Errorf("x: %w", errInterrupted), 130},
		{errors.New("disk full"), 1},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "tok")
	os.WriteFile(tokFile, []byte("file-token\n"), 0o600)
	for _, tc := range []struct {
		flags           connFlags
		env             map[string]string
		url, admin, tok string
	}{
		{connFlags{}, nil, "ws://localhost:8080", "ws://localhost:8080", ""},
		{connFlags{}, map[string]string{"STARGATE_URL": "wss://a:8443,b:8443", "STARGATE_TOKEN": "env"}, "wss://a:8443,b:8443", "wss://a:8443,b:8443", "env"},
		{connFlags{url: "ws://flag:1", token: "flag"}, map[string]string{"STARGATE_URL": "ws://env:1", "STARGATE_TOKEN": "env"}, "ws://flag:1", "ws://flag:1", "flag"},
		{connFlags{}, map[string]string{"STARGATE_TOKEN_FILE": tokFile, "STARGATE_ADMIN_URL": "http://adm:9/"}, "ws://localhost:8080", "http://adm:9", "file-token"},
		{connFlags{tokenFile: tokFile}, map[string]string{"STARGATE_TOKEN": "env"}, "ws://localhost:8080", "ws://localhost:8080", "file-token"},
	} {
		a := &app{conn: tc.flags, getenv: func(k string) string { return tc.env[k] }}
		r, err := a.resolve()
		if err != nil {
			t.Errorf("%+v: %v", tc, err)
			continue
		}
		tok := ""
		if r.token != nil {
			tok, _ = r.token(context.Background())
		}
		if r.urls != tc.url || r.adminURL != tc.admin || tok != tc.tok {
			t.Errorf("%+v %v: got %s %s %q", tc.flags, tc.env, r.urls, r.adminURL, tok)
		}
	}
}

func TestMeter(t *testing.T) {
	var live, quiet bytes.Buffer
	a := &app{stderr: &live, stderrTTY: true}
	m := a.newMeter("consumed")
	for range 1500 {
		m.add(10)
	}
	time.Sleep(progressEvery + 200*time.Millisecond)
	m.finish("; 1 failed")
	m.finish("") // once
	out := live.String()
	if !strings.Contains(out, "\r\033[Kconsumed 1,500 messages, 14.6 KiB, ") || !strings.Contains(out, "consumed 1,500 messages (14.6 KiB) in ") ||
		!strings.HasSuffix(out, "; 1 failed\n") || strings.Count(out, "in ") != 1 {
		t.Errorf("live meter: %q", out)
	}
	// Not a terminal: only the summary; -q: nothing.
	a = &app{stderr: &quiet}
	a.newMeter("read").finish("")
	a.conn.quiet = true
	a.newMeter("read").finish("")
	if got := quiet.String(); !strings.HasPrefix(got, "read 0 messages (0 B) in ") || strings.Count(got, "\n") != 1 || strings.Contains(got, "\r") {
		t.Errorf("summary: %q", got)
	}
}
