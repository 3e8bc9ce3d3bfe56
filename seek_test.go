package stargate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

// restFake serves the admin REST calls of Seek and StartTime (which
// stargatetest does not model) next to a stargatetest server on one
// host, as a broker serves both on its web port.
type restFake struct {
	mu     sync.Mutex
	calls  []restCall
	answer func(r *http.Request) (int, string) // nil: 204
}

type restCall struct {
	Method, Path, Auth, Header string
	Body                       map[string]any
}

func (f *restFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c := restCall{Method: r.Method, Path: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization"), Header: r.Header.Get("X-Test")}
	_ = json.Unmarshal(b, &c.Body)
	f.mu.Lock()
	f.calls = append(f.calls, c)
	answer := f.answer
	f.mu.Unlock()
	code, body := http.StatusNoContent, ""
	if answer != nil {
		code, body = answer(r)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func (f *restFake) took() []restCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]restCall(nil), f.calls...)
}

// seekServer is a stargatetest server and a restFake behind one URL.
func seekServer(t *testing.T, opts *stargatetest.Options) (*stargatetest.Server, *restFake, string) {
	srv := stargatetest.New(t, opts)
	rf := &restFake{}
	mux := http.NewServeMux()
	mux.Handle("/admin/", rf)
	mux.Handle("/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return srv, rf, "ws" + hs.URL[len("http"):]
}

func takeN(t *testing.T, ctx context.Context, c *stargate.Consumer, n int, ack bool) []string {
	t.Helper()
	var got []string
	for m, err := range c.Messages(ctx) {
		if err != nil {
			t.Fatalf("after %d: %v", len(got), err)
		}
		if ack {
			_ = m.Ack(ctx)
		}
		if got = append(got, string(m.Payload)); len(got) == n {
			break
		}
	}
	return got
}

func TestSeekDropsQueueAndCallsREST(t *testing.T) {
	srv, rf, u := seekServer(t, &stargatetest.Options{Tokens: map[string]string{"tok": "app"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := fastReconnect
	opts.Token = "tok"
	opts.Header = http.Header{"X-Test": {"h"}}
	client, err := stargate.NewClient(u, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateTopic("seek"); err != nil {
		t.Fatal(err)
	}
	c, err := client.NewConsumer(ctx, "seek", "sub/1", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 5 {
		if _, err := srv.Publish("seek", stargatetest.Message{Payload: fmt.Appendf(nil, "m%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// m0 is taken, not acked; m1..m4 wait in the client's queue.
	first := takeN(t, ctx, c, 1, false)
	time.Sleep(100 * time.Millisecond)
	id := stargate.MessageID{LedgerID: 7, EntryID: 3, Partition: -1, BatchIndex: -1}
	if err := c.Seek(ctx, id); err != nil {
		t.Fatal(err)
	}
	// The fake does not move cursors: it redelivers every unacked message
	// on the new connection. The old queue (m1 first) is not yielded.
	if got := takeN(t, ctx, c, 5, true); fmt.Sprint(got) != "[m0 m1 m2 m3 m4]" {
		t.Fatalf("before seek %v, after: %v; want the new connection's m0..m4", first, got)
	}
	if err := c.SeekTime(ctx, time.UnixMilli(1700000000123)); err != nil {
		t.Fatal(err)
	}
	calls := rf.took()
	want := []restCall{
		{Method: "POST", Path: "/admin/v2/persistent/public/default/seek/subscription/sub%252F1/resetcursor", Auth: "Bearer tok", Header: "h",
			Body: map[string]any{"ledgerId": 7.0, "entryId": 3.0, "partitionIndex": -1.0, "batchIndex": -1.0}},
		{Method: "POST", Path: "/admin/v2/persistent/public/default/seek/subscription/sub%252F1/resetcursor/1700000000123", Auth: "Bearer tok", Header: "h"},
	}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("REST calls:\n got %+v\nwant %+v", calls, want)
	}
}

func TestSeekBadInput(t *testing.T) {
	srv, rf, u := seekServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(u, &fastReconnect)
	_ = srv.CreateTopic("bad")
	c, err := client.NewConsumer(ctx, "bad", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	id := stargate.MessageID{LedgerID: 1, Partition: -1, BatchIndex: -1}
	done, stop := context.WithCancel(ctx)
	stop()
	nd, err := client.NewConsumer(ctx, "bad", "nd", &stargate.ConsumerOptions{Mode: stargate.NonDurable})
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	v3, err := client.NewMultiTopicConsumer(ctx, []string{"bad", "bad2"}, "v3", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v3.Close()
	pat, err := client.NewPatternConsumer(ctx, "persistent://public/default/ba.*", "pat", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pat.Close()
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"zero id", c.Seek(ctx, stargate.MessageID{}), stargate.ErrInvalidArgument},
		{"zero time", c.SeekTime(ctx, time.Time{}), stargate.ErrInvalidArgument},
		{"before 1970", c.SeekTime(ctx, time.UnixMilli(-1)), stargate.ErrInvalidArgument},
		{"done ctx", c.Seek(done, id), context.Canceled},
		{"done ctx, time", c.SeekTime(done, time.Now()), context.Canceled},
		{"NonDurable", nd.Seek(ctx, id), stargate.ErrSeekUnsupported},
		{"NonDurable, time", nd.SeekTime(ctx, time.Now()), stargate.ErrSeekUnsupported},
		{"v3", v3.Seek(ctx, id), stargate.ErrSeekUnsupported},
		{"pattern", pat.SeekTime(ctx, time.Now()), stargate.ErrSeekUnsupported},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	c.Close()
	if err := c.Seek(ctx, id); !errors.Is(err, stargate.ErrClosed) {
		t.Errorf("closed: %v", err)
	}
	if err := c.SeekTime(ctx, time.Now()); !errors.Is(err, stargate.ErrClosed) {
		t.Errorf("closed, time: %v", err)
	}
	if n := len(rf.took()); n != 0 {
		t.Errorf("%d REST calls for bad input", n)
	}
}

func TestSeekRefused(t *testing.T) {
	srv, rf, u := seekServer(t, nil)
	rf.answer = func(*http.Request) (int, string) { return http.StatusNotFound, `{"reason":"Subscription not found"}` }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(u, &fastReconnect)
	_ = srv.CreateTopic("refused")
	c, err := client.NewConsumer(ctx, "refused", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.SeekTime(ctx, time.Now())
	var re *stargate.RESTError
	if !errors.As(err, &re) || re.StatusCode != 404 || re.Message != "Subscription not found" || !errors.Is(err, stargate.ErrTopicNotFound) {
		t.Fatalf("got %v", err)
	}
}

func TestReaderStartTimeResolves(t *testing.T) {
	srv, rf, u := seekServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(u, &fastReconnect)
	_ = srv.CreateTopic("rt")
	for i := range 5 {
		_, _ = srv.Publish("rt", stargatetest.Message{Payload: fmt.Appendf(nil, "m%d", i)})
	}
	all, err := client.NewReader(ctx, "rt", &stargate.ReaderOptions{Start: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	var ids []stargate.MessageID
	for m, err := range all.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if ids = append(ids, m.ID); len(ids) == 5 {
			break
		}
	}
	all.Close()
	rf.answer = func(r *http.Request) (int, string) {
		if r.URL.Path == "/admin/v2/persistent/public/default/rt/partitions" {
			return 200, `{"partitions":0}`
		}
		return 200, fmt.Sprintf(`{"ledgerId":%d,"entryId":%d,"partitionIndex":-1}`, ids[3].LedgerID, ids[3].EntryID)
	}
	r, err := client.NewReader(ctx, "rt", &stargate.ReaderOptions{StartTime: time.UnixMilli(1700000000000)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// A reconnect before anything was received starts at the resolved
	// position again, without asking the broker again.
	srv.DropConnections("rt")
	var got []string
	for m, err := range r.Messages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if got = append(got, string(m.Payload)); len(got) == 2 {
			break
		}
	}
	if fmt.Sprint(got) != "[m3 m4]" {
		t.Fatalf("got %v, want the message the broker named and the next", got)
	}
	calls := rf.took()
	if len(calls) != 2 || calls[1].Path != "/admin/v2/persistent/public/default/rt/messageid/1700000000000" {
		t.Fatalf("REST calls %+v", calls)
	}

	// A partitioned topic, or StartTime with another start, is refused.
	rf.answer = func(*http.Request) (int, string) { return 200, `{"partitions":3}` }
	if _, err := client.NewReader(ctx, "rt", &stargate.ReaderOptions{StartTime: time.Now()}); !errors.Is(err, stargate.ErrInvalidArgument) {
		t.Fatalf("partitioned: %v", err)
	}
	n := len(rf.took())
	if _, err := client.NewReader(ctx, "rt", &stargate.ReaderOptions{StartTime: time.Now(), Start: stargate.Earliest}); !errors.Is(err, stargate.ErrInvalidArgument) {
		t.Fatalf("with Start: %v", err)
	}
	if len(rf.took()) != n {
		t.Fatal("a REST call for bad input")
	}
}

func TestSeekTimeMultiTopic(t *testing.T) {
	srv, rf, u := seekServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(u, &fastReconnect)
	_ = srv.CreateTopic("a")
	_ = srv.CreateTopic("b")
	c, err := client.NewMultiTopicConsumer(ctx, []string{"a", "persistent://public/default/b"}, "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SeekTime(ctx, time.UnixMilli(5)); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, call := range rf.took() {
		paths = append(paths, call.Path)
	}
	want := "[/admin/v2/persistent/public/default/a/subscription/s/resetcursor/5 /admin/v2/persistent/public/default/b/subscription/s/resetcursor/5]"
	if fmt.Sprint(paths) != want {
		t.Fatalf("paths %v", paths)
	}
	// A refusal of the second topic is reported; the consumer goes on.
	rf.answer = func(r *http.Request) (int, string) {
		if r.URL.Path[len("/admin/v2/persistent/public/default/")] == 'b' {
			return http.StatusForbidden, `{"reason":"no"}`
		}
		return http.StatusNoContent, ""
	}
	if err := c.SeekTime(ctx, time.UnixMilli(5)); !errors.Is(err, stargate.ErrForbidden) {
		t.Fatalf("refused: %v", err)
	}
	if _, err := srv.Publish("a", stargatetest.Message{Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if got := takeN(t, ctx, c, 1, true); fmt.Sprint(got) != "[x]" {
		t.Fatalf("after a refused seek: %v", got)
	}
}
