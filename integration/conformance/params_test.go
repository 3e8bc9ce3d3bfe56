package conformance

import (
	"testing"
)

func init() {
	register("JavaIntParams", testJavaIntParams)
}

// testJavaIntParams: the numeric parameters the server parses as a Java
// int take 2147483647 and refuse 2147483648 with 400 (the client refuses
// such values before dialing; the fake must refuse them too).
func testJavaIntParams(t *testing.T, tg Target) {
	topic := tg.Topic(t)
	for i, c := range []struct {
		consumer     bool
		param, extra string
	}{
		{false, "sendTimeoutMillis", ""},
		{false, "batchingMaxPublishDelay", "batchingEnabled=true&"},
		{false, "batchingMaxMessages", "batchingEnabled=true&"},
		{false, "maxPendingMessages", "batchingEnabled=true&"},
		{true, "ackTimeoutMillis", ""},
		{true, "negativeAckRedeliveryDelay", ""},
		{true, "priorityLevel", "subscriptionType=Shared&"},
		{true, "maxRedeliverCount", ""},
	} {
		path := func(n int) string {
			if c.consumer {
				return consumerPath(topic, "s"+itoa(i)+"-"+itoa(n))
			}
			return producerPath(topic)
		}
		ok := dial(t, tg, path(0)+"?"+c.extra+c.param+"=2147483647")
		ok.close()
		if r := dialRefused(t, tg.URL(), path(1)+"?"+c.extra+c.param+"=2147483648", nil); r.status != 400 {
			t.Errorf("%s=2147483648: %d %q, want 400", c.param, r.status, r.msg)
		}
	}
}
