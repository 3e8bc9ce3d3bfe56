package integration

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stargate-go/stargate/dockertest"
)

// TestServerJavaIntParams pins the bound params.go applies before dialing:
// the real broker parses these parameters as a Java int, accepting
// 2147483647 and refusing 2147483648 with 400 "Invalid query params". If a
// Pulsar version starts parsing one as a long, this test says the client's
// bound can be relaxed.
func TestServerJavaIntParams(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	producer := func(string) string { return strings.TrimPrefix(e.broker.ProducerURL(topic), "ws") }
	// A fresh subscription per probe: an Exclusive one is held until the
	// server notices the probe's connection is gone.
	consumer := func(sub string) string { return strings.TrimPrefix(e.broker.ConsumerURL(topic, sub), "ws") }
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer hc.CloseIdleConnections()
	for _, c := range []struct {
		url          func(sub string) string
		param, extra string
	}{
		{producer, "sendTimeoutMillis", ""},
		{producer, "batchingMaxPublishDelay", "batchingEnabled=true&"},
		{producer, "batchingMaxMessages", "batchingEnabled=true&"},
		{producer, "maxPendingMessages", "batchingEnabled=true&"},
		{consumer, "ackTimeoutMillis", ""},
		{consumer, "negativeAckRedeliveryDelay", ""},
		{consumer, "priorityLevel", "subscriptionType=Shared&"},
		{consumer, "maxRedeliverCount", ""},
	} {
		for _, v := range []struct {
			value  string
			status int
		}{{"2147483647", http.StatusSwitchingProtocols}, {"2147483648", http.StatusBadRequest}} {
			u := "http" + c.url(c.param+"-"+v.value) + "?" + c.extra + c.param + "=" + v.value
			req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, u, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatalf("%s=%s: %v", c.param, v.value, err)
			}
			resp.Body.Close()
			if resp.StatusCode != v.status {
				t.Errorf("%s=%s: %d, want %d", c.param, v.value, resp.StatusCode, v.status)
			}
		}
	}
}
