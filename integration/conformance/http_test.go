package conformance

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func init() {
	register("UpgradeRefusals", testUpgradeRefusals)
	register("PlainGET", testPlainGET)
	register("TokenAuth", testTokenAuth)
}

// refusal is one upgrade the server must refuse.
type refusal struct {
	path   string
	status int
	msg    string // the Jetty page's message, exactly
}

func checkRefusals(t *testing.T, base string, hdr http.Header, rs []refusal) {
	t.Helper()
	for _, r := range rs {
		got := dialRefused(t, base, r.path, hdr)
		if got.status != r.status || got.msg != r.msg {
			t.Errorf("%s: %d %q, want %d %q", r.path, got.status, got.msg, r.status, r.msg)
			continue
		}
		// Jetty 9.4's error page.
		for _, want := range []string{
			"<h2>HTTP ERROR " + itoa(r.status) + " ",
			"<tr><th>STATUS:</th><td>" + itoa(r.status) + "</td></tr>",
			"<tr><th>URI:</th><td>" + strings.SplitN(r.path, "?", 2)[0] + "</td></tr>",
		} {
			if !strings.Contains(got.body, want) {
				t.Errorf("%s: body lacks %q:\n%s", r.path, want, got.body)
			}
		}
	}
}

// testUpgradeRefusals: statuses and messages of refused upgrades.
func testUpgradeRefusals(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	cons := consumerPath(topic, "sub")
	prod := producerPath(topic)
	read := readerPath(topic)
	bad := strings.Replace(cons, "/persistent/", "/bogus/", 1)
	v3 := "/ws/v3/consumer/sub"
	const iae = "java.lang.IllegalArgumentException"
	checkRefusals(t, tg.URL(), nil, []refusal{
		{cons + "?ackTimeoutMillis=500", 400, "Invalid query params: Ack timeout should be greater than 1000 ms"},
		{cons + "?subscriptionType=Bogus", 400, "Invalid query params: Invalid subscriptionType Bogus"},
		{cons + "?deadLetterTopic=x", 400, "Invalid query params: MaxRedeliverCount must be > 0."},
		{cons + "?receiverQueueSize=-1", 400, "Invalid query params: receiverQueueSize needs to be >= 0"},
		{cons + "?receiverQueueSize=abc", 400, `Invalid query params: For input string: "abc"`},
		{prod + "?sendTimeoutMillis=abc", 400, `Invalid query params: For input string: "abc"`},
		{wsPath("consumer", topic, ""), 400, "Invalid query params: Invalid topic name format"},
		{wsPath("consumer", topic, "") + "/", 400, "Invalid query params: Empty subscription name"},
		{bad, 500, iae},
		{strings.Replace(prod, "/persistent/", "/bogus/", 1), 500, iae},
		{strings.Replace(read, "/persistent/", "/bogus/", 1), 500, iae},
		{v3 + "?topics=" + url.QueryEscape(topic) + "&topicsPattern=public/default/x.*", 500, iae + ": Topics must be null when use topicsPattern"},
		{v3, 500, iae + ": Should set topics or topicsPattern"},
		{read + "?receiverQueueSize=abc", 500, `java.lang.NumberFormatException: For input string: "abc"`},
	})
	// receiverQueueSize above 1000 is accepted (and clamped; see
	// ReceiverQueueClamped).
	dial(t, tg, cons+"?receiverQueueSize=100000").close()
	dial(t, tg, read+"?receiverQueueSize=100000").close()
}

// testPlainGET: a GET without Upgrade on an endpoint → 405.
func testPlainGET(t *testing.T, tg Target) {
	u := strings.Replace(tg.URL(), "ws://", "http://", 1) + producerPath(tg.Topic(t))
	resp, err := plainHTTP.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("GET %s: %s, want 405", u, resp.Status)
	}
}

// testTokenAuth: on a server that requires tokens, authentication runs
// before every other check.
func testTokenAuth(t *testing.T, tg Target) {
	at, tok := tg.Auth(t)
	topic := at.Topic(t)
	prod := producerPath(topic)
	cons := consumerPath(topic, "sub")
	const authRequired = "Authentication required"
	bearer := func(s string) http.Header { return http.Header{"Authorization": {s}} }
	checkRefusals(t, at.URL(), nil, []refusal{
		{prod, 401, authRequired},
		{cons, 401, authRequired},
		{cons + "?ackTimeoutMillis=500", 401, authRequired}, // bad parameters, no token
		{wsPath("consumer", topic, "") + "/", 401, authRequired},
		{prod + "?token=wrong", 401, authRequired},
	})
	for _, h := range []string{"Bearer wrong", "bearer " + tok, "Basic eHl6"} {
		checkRefusals(t, at.URL(), bearer(h), []refusal{{prod, 401, authRequired}})
	}
	// A plain GET: 401 before the 405 of a servlet without GET.
	httpURL := strings.Replace(at.URL(), "ws://", "http://", 1) + prod
	for _, h := range []string{"", "Bearer " + tok} {
		req, _ := http.NewRequest(http.MethodGet, httpURL, nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := plainHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: 401, false: 405}[h == ""]; resp.StatusCode != want {
			t.Errorf("GET with %q: %s, want %d", h, resp.Status, want)
		}
	}
	// With a good token the other checks apply.
	checkRefusals(t, at.URL(), bearer("Bearer "+tok), []refusal{
		{cons + "?ackTimeoutMillis=500", 400, "Invalid query params: Ack timeout should be greater than 1000 ms"},
	})
	for _, ok := range []struct {
		path string
		hdr  http.Header
	}{
		{prod, bearer("Bearer " + tok)},
		{prod + "?token=" + url.QueryEscape(tok), nil},
		{prod + "?token=" + url.QueryEscape("Bearer "+tok), nil},
		{cons, bearer("Bearer " + tok)},
	} {
		c, err := tryDial(t, at.URL(), ok.path, ok.hdr)
		if err != nil {
			t.Errorf("%s with a good token: %v", ok.path, err)
			continue
		}
		c.close()
	}
}

// plainHTTP makes plain requests without keeping connections (or their
// goroutines) around.
var plainHTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
