package stargatetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
	"github.com/stargate-go/stargate/stargatetest"
)

func adminFor(t *testing.T, srv *stargatetest.Server, opts *admin.Options) *admin.Client {
	t.Helper()
	a, err := admin.New(srv.URL(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.CloseIdleConnections)
	return a
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestAdminRESTShapes checks the raw answers: statuses, bodies, reasons.
func TestAdminRESTShapes(t *testing.T) {
	srv := stargatetest.New(t, nil)
	base := strings.Replace(srv.URL(), "ws://", "http://", 1) + "/admin/v2/persistent/public/default/"
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	defer http.DefaultClient.CloseIdleConnections()
	for _, c := range []struct {
		method, path, body string
		status             int
		answer             string
	}{
		{"GET", "t/partitions", "", 404, `{"reason":"Topic persistent://public/default/t not found"}`},
		{"PUT", "t", "", 204, ""},
		{"PUT", "t", "", 409, `{"reason":"This topic already exists"}`},
		{"GET", "t/partitions", "", 200, `{"deleted":false,"partitions":0}`},
		{"GET", "t/lastMessageId", "", 200, `{"batchIndex":-1,"batchSize":0,"entryId":-1,"ledgerId":10,"partitionIndex":-1}`},
		{"PUT", "t/subscription/a%252Bb", `{"ledgerId":-1,"entryId":-1}`, 204, ""},
		{"GET", "t/subscriptions", "", 200, `["a+b"]`},
		{"POST", "t/subscription/x/skip_all", "", 404, `{"reason":"Subscription x not found for topic persistent://public/default/t"}`},
		{"POST", "t/subscription/a%252Bb/expireMessages/1", "", 409, ""},
		{"PUT", "p/partitions", "2", 204, ""},
		{"POST", "p/partitions", "1", 422, `{"reason":"Desired partitions 1 can't be less than the current partitions 2."}`},
		{"POST", "t/partitions", "3", 409, `{"reason":"Topic persistent://public/default/t is not the partitioned topic."}`},
		{"PUT", "p/subscription/s", "", 204, ""},
		{"POST", "p/subscription/s/resetcursor", `{"ledgerId":-1,"entryId":-1}`, 405, `{"reason":"Reset-cursor at position is not allowed for partitioned-topic"}`},
		{"POST", "p/subscription/s/resetcursor/0", "", 204, ""},
		{"POST", "p/subscription/s/skip/1", "", 405, `{"reason":"Skip messages on a partitioned topic is not allowed"}`},
		{"POST", "p/terminate", "", 405, `{"reason":"Termination of a partitioned topic is not allowed"}`},
		{"DELETE", "p", "", 409, ""},
		{"GET", "p/stats", "", 404, ""},
		{"GET", "t/partitioned-stats", "", 404, `{"reason":"Partitioned Topic persistent://public/default/t not found"}`},
		{"GET", "t/internalStats", "", 404, ""},
		{"DELETE", "p/partitions", "", 204, ""},
		{"DELETE", "p/partitions", "", 404, `{"reason":"Topic persistent://public/default/p not found."}`},
	} {
		status, answer := call(c.method, c.path, c.body)
		if status != c.status || (c.answer != "" && answer != c.answer) {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, status, answer, c.status, c.answer)
		}
	}
}

// TestAdminResetCursor: a connected consumer gets the messages again from
// the position a reset names, on a clock the test controls.
func TestAdminResetCursor(t *testing.T) {
	var mu sync.Mutex
	start := time.UnixMilli(1_700_000_000_000).UTC()
	clock := start
	setClock := func(d time.Duration) {
		mu.Lock()
		clock = start.Add(d)
		mu.Unlock()
	}
	srv := stargatetest.New(t, &stargatetest.Options{Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}})
	ctx := testCtx(t)
	a := adminFor(t, srv, nil)
	client, err := stargate.NewClient(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewConsumer(ctx, "t", "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ids []string
	for i, p := range []string{"a", "b", "c"} {
		setClock(time.Duration(i+1) * time.Second)
		id, err := srv.Publish("t", stargatetest.Message{Payload: []byte(p)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	msgs, _ := srv.Messages("t")
	// settled waits until the server has applied every ack: an ack the
	// client has written but the server not yet read would act after a
	// reset that follows it.
	settled := func() {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			st, err := srv.Stats("t")
			if err != nil {
				t.Fatal(err)
			}
			if st.Subscriptions["sub"].MsgBacklog == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("backlog %d, want 0", st.Subscriptions["sub"].MsgBacklog)
			}
		}
	}
	receive := func(n int) []string {
		t.Helper()
		var got []string
		for m, err := range c.Messages(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			if got = append(got, string(m.Payload)); len(got) == n {
				break
			}
		}
		settled()
		return got
	}
	if got := receive(3); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("got %q", got)
	}
	if err := a.ResetCursorToPosition(ctx, "t", "sub", stargate.Earliest); err != nil {
		t.Fatal(err)
	}
	if got := receive(3); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("after a reset to earliest: %q", got)
	}
	id, err := stargate.ParseMessageID(ids[2])
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ResetCursor(ctx, "t", "sub", id); err != nil {
		t.Fatal(err)
	}
	if got := receive(1); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("after a reset to c's id: %q", got)
	}
	if err := a.ResetCursorToTime(ctx, "t", "sub", msgs[1].PublishTime); err != nil {
		t.Fatal(err)
	}
	if got := receive(2); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("after a reset to b's publish time: %q", got)
	}
	// At 5s on the server's clock, a (1s) and b (2s) are over 2s old, c
	// (3s) is not.
	setClock(5 * time.Second)
	if err := a.ResetCursorToPosition(ctx, "t", "sub", stargate.Earliest); err != nil {
		t.Fatal(err)
	}
	if err := a.ExpireMessages(ctx, "t", "sub", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	st, err := srv.Stats("t")
	if err != nil {
		t.Fatal(err)
	}
	if b := st.Subscriptions["sub"].MsgBacklog; b != 1 {
		t.Fatalf("backlog after expiring messages over 2s old: %d, want 1 (c)", b)
	}
}

// TestAdminStatsJSON: the stats carry the fields package admin decodes.
func TestAdminStatsJSON(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx := testCtx(t)
	a := adminFor(t, srv, nil)
	if err := a.CreateSubscription(ctx, "t", "s", stargate.Earliest); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := srv.Publish("t", stargatetest.Message{Payload: []byte("12345")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SkipMessages(ctx, "t", "s", 1); err != nil {
		t.Fatal(err)
	}
	st, err := a.TopicStats(ctx, "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	ss := st.Subscriptions["s"]
	if st.MsgInCounter != 4 || st.StorageSize != 20 || st.BytesInCounter != 20 || ss.MsgBacklog != 3 || ss.BacklogSize != 15 ||
		ss.Type != "None" || !ss.IsDurable || st.DeduplicationStatus != "Disabled" || st.OwnerBroker == "" {
		b, _ := json.Marshal(st)
		t.Fatalf("stats %s", b)
	}
}

// TestAdminTokens: the admin API checks tokens like the WebSocket API.
func TestAdminTokens(t *testing.T) {
	srv := stargatetest.New(t, &stargatetest.Options{Tokens: map[string]string{"tok": "admin"}})
	ctx := testCtx(t)
	_, err := adminFor(t, srv, nil).Topics(ctx, "public/default")
	if !errors.Is(err, admin.ErrUnauthorized) {
		t.Fatalf("without a token: %v", err)
	}
	if _, err := adminFor(t, srv, &admin.Options{Token: "tok"}).Topics(ctx, "public/default"); err != nil {
		t.Fatalf("with the token: %v", err)
	}
}
