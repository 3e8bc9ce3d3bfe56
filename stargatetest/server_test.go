package stargatetest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lxzan/gws"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	srv := New(t, &Options{
		Tokens: map[string]string{"tok-admin": "admin", "tok-reader": "reader"},
		Authorize: func(role, topic string, a Action) bool {
			return role == "admin" || a == ActionConsume && topic == "persistent://public/default/auth"
		},
	})
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	cases := []struct {
		name   string
		path   string
		hdr    http.Header
		status int // 0 = upgrade succeeds
		body   string
	}{
		{"no token", prodPath + "auth", nil, 401, "Authentication required"},
		{"unknown token", prodPath + "auth", bearer("nope"), 401, "Authentication required"},
		{"not bearer", prodPath + "auth", http.Header{"Authorization": {"Basic eDp5"}}, 401, "Authentication required"},
		{"header", prodPath + "auth", bearer("tok-admin"), 0, ""},
		{"query", prodPath + "auth?token=tok-admin", nil, 0, ""},
		{"query with Bearer", prodPath + "auth?token=Bearer%20tok-admin", nil, 0, ""},
		{"header wins over query", prodPath + "auth?token=tok-admin", bearer("nope"), 401, "Authentication required"},
		{"not authorized", prodPath + "auth", bearer("tok-reader"), 403, "Not authorized"},
		{"authorized consumer", consPath + "auth/s", bearer("tok-reader"), 0, ""},
		{"auth before params", consPath + "auth/s?subscriptionType=Nope", nil, 401, "Authentication required"},
	}
	for _, tc := range cases {
		c, err := tryDial(t, srv, tc.path, tc.hdr)
		if tc.status == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		he, ok := err.(*handshakeError)
		if c != nil || !ok || he.status != tc.status || !strings.Contains(he.body, tc.body) || !strings.Contains(he.body, "<html>") {
			t.Errorf("%s: got %v, want %d %q", tc.name, err, tc.status, tc.body)
		}
	}
}

func TestUpgradeValidation(t *testing.T) {
	t.Parallel()
	srv := New(t, &Options{DisableAutoTopicCreation: true})
	if err := srv.CreateTopic("v"); err != nil {
		t.Fatal(err)
	}
	const rd = "/ws/v2/reader/persistent/public/default/v"
	cases := []struct {
		path   string
		status int
		body   string
	}{
		{consPath + "v/s?subscriptionType=shared", 400, "Invalid query params: Invalid subscriptionType shared"},
		{consPath + "v/s?receiverQueueSize=abc", 400, "Invalid query params: For input string: &quot;abc&quot;"},
		{consPath + "v/s?receiverQueueSize=-1", 400, "Invalid query params"},
		{consPath + "v/s?ackTimeoutMillis=999", 400, "Invalid query params"},
		{consPath + "v/s?deadLetterTopic=dead", 400, "MaxRedeliverCount must be &gt; 0."},
		{consPath + "v/s?subscriptionMode=durable", 400, "Invalid query params"},
		{consPath + "v/s?subscriptionInitialPosition=earliest", 400, "Invalid query params"},
		{consPath + "v/s?negativeAckRedeliveryDelay=x", 400, "Invalid query params"},
		{consPath + "v/s/extra", 400, ""},
		{consPath + "v/", 400, ""},
		{"/ws/v2/consumer/persistent/public/default", 500, ""},
		{"/ws/v2/consumer/persistant/public/default/v/s", 500, ""},
		{"/ws/v2/consumer/persistent/bad!tenant/default/v/s", 500, ""},
		{consPath + "missing/s", 404, ""},
		{prodPath + "v?messageRoutingMode=Custom", 400, "Invalid query params: Invalid messageRoutingMode Custom"},
		{prodPath + "v?sendTimeoutMillis=soon", 400, "Invalid query params"},
		{prodPath + "v?compressionType=lz4", 400, "Invalid query params"},
		{prodPath + "v?hashingScheme=Murmur", 400, "Invalid query params: No enum constant org.apache.pulsar.client.api.HashingScheme.Murmur"},
		{prodPath + "missing", 404, ""},
		{rd + "?messageId=***", 500, "Failed to create reader"},
		{rd + "?messageId=" + b64("junk"), 500, "Failed to create reader"},
		{rd + "?receiverQueueSize=x", 500, ""},
		{"/ws/v2/reader/persistent/public/default/missing", 500, "Failed to create reader"},
		{"/ws/v3/consumer/s?topics=v&topicsPattern=v.*", 500, "java.lang.IllegalArgumentException: Topics must be null when use topicsPattern"},
		{"/ws/v3/consumer/s", 500, ""},
		{"/ws/v3/consumer/s?topicsPattern=public/default/v.*&receiverQueueSize=0", 500, "Receiver queue size needs to be greater than 0 for Topics Consumer"},
		{"/ws/v2/nothing/persistent/public/default/v", 404, ""},
	}
	for _, tc := range cases {
		status, body := dialStatus(t, srv, tc.path, nil)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("%s: got %d %q, want %d %q", tc.path, status, firstLine(body, "MESSAGE:"), tc.status, tc.body)
		}
	}
	// Accepted: unknown parameters, clamped queue sizes, lenient booleans,
	// form-decoded names, a tolerated trailing slash for producers.
	for _, path := range []string{
		consPath + "v/s1?unknown=1&receiverQueueSize=5000&pullMode=TRUE",
		consPath + "v/s+with+spaces?batchingEnabled=yes",
		prodPath + "v/",
		prodPath + "v?batchingEnabled=false&batchingMaxMessages=notchecked",
		rd + "?messageId=latest",
		"/ws/v3/consumer/s3?topics=persistent://public/default/v",
	} {
		dial(t, srv, path)
	}
	if st, _ := srv.Stats("v"); st.Subscriptions["s with spaces"].Consumers != 1 {
		t.Errorf("form-decoded subscription missing: %+v", st.Subscriptions)
	}
}

func firstLine(body, marker string) string {
	if i := strings.Index(body, marker); i >= 0 {
		body = body[i:]
	}
	if i := strings.Index(body, "\n"); i >= 0 {
		body = body[:i]
	}
	return body
}

func TestRefuseUpgrades(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	srv.RefuseUpgrades(2, 503, "Service Unavailable: try later")
	for range 2 {
		if status, body := dialStatus(t, srv, prodPath+"refused", nil); status != 503 || !strings.Contains(body, "try later") {
			t.Fatalf("got %d %s", status, body)
		}
	}
	dial(t, srv, prodPath+"refused")
}

func TestPingPong(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	c := dial(t, srv, prodPath+"ping")
	if err := c.conn.WritePing([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-c.pongs:
		if p != "hello" {
			t.Fatalf("pong %q", p)
		}
	case <-time.After(waitFor):
		t.Fatal("no pong")
	}
}

func TestMaxTextFrameSize(t *testing.T) {
	t.Parallel()
	srv := New(t, &Options{MaxTextFrameSize: 1024})
	c := dial(t, srv, prodPath+"big")
	c.sendJSON(map[string]any{"payload": b64(strings.Repeat("x", 700)), "context": "ok"})
	if ack := c.next(); ack["result"] != "ok" {
		t.Fatalf("ack %v", ack)
	}
	_ = c.conn.WriteMessage(gws.OpcodeBinary, make([]byte, 10)) // ignored
	c.sendJSON(map[string]any{"payload": b64(strings.Repeat("x", 1000))})
	if code := closeCode(c.waitClosed()); code != 1009 {
		t.Fatalf("close code %d", code)
	}
}

func TestCloseWithOpenSockets(t *testing.T) {
	t.Parallel()
	srv, err := NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, srv, consPath+"closing/sub?subscriptionType=Shared&negativeAckRedeliveryDelay=60000")
	p := dial(t, srv, prodPath+"closing")
	p.send("x", "1")
	m := c.receive(1)[0]
	c.sendJSON(map[string]any{"type": "negativeAcknowledge", "messageId": m["messageId"]}) // a pending timer
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	c.waitClosed()
	p.waitClosed()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tryDial(t, srv, prodPath+"closing", nil); err == nil {
		t.Fatal("dial after Close succeeded")
	}
	// Admin state outlives Close.
	if msgs, err := srv.Messages("closing"); err != nil || len(msgs) != 1 {
		t.Fatalf("Messages after Close: %v %v", msgs, err)
	}
}

func TestAdminErrors(t *testing.T) {
	t.Parallel()
	srv := New(t, nil)
	if err := srv.CreatePartitionedTopic("adm", 2); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{srv.CreateTopic("adm"), srv.CreateTopic("public/default/adm")} {
		if !errorsIs(err, ErrTopicExists) {
			t.Errorf("create twice: %v", err)
		}
	}
	if _, err := srv.Stats("nope"); !errorsIs(err, ErrTopicNotFound) {
		t.Errorf("stats: %v", err)
	}
	if err := srv.TerminateTopic("nope"); !errorsIs(err, ErrTopicNotFound) {
		t.Errorf("terminate: %v", err)
	}
	c := dial(t, srv, consPath+"adm/sub")
	if err := srv.DeleteTopic("persistent://public/default/adm"); err != nil {
		t.Fatal(err)
	}
	c.waitClosed()
	if _, err := srv.Messages("adm"); !errorsIs(err, ErrTopicNotFound) {
		t.Errorf("after delete: %v", err)
	}
}
