package conformance

import (
	"slices"
	"strings"
	"testing"
)

func init() {
	register("Names", testNames)
}

// testNames: the server decodes the topic and subscription names of a
// path like Java's URLDecoder ("+" is a space, %XX a UTF-8 byte, either
// hex case), serves a topic name without its trailing spaces (the broker's
// Java client trims them) and refuses blank names; and names given to the
// stargate client arrive verbatim.
func testNames(t *testing.T, tg Target) {
	base := tg.Topic(t) // persistent://public/default/<unique>
	local := strings.TrimPrefix(base, "persistent://public/default/")
	const v2 = "/ws/v2/"
	const ns = "persistent/public/default/"

	// Two spellings of one topic name, "<local>-a+b c%é".
	c := dial(t, tg, v2+"consumer/"+ns+local+"-a%2Bb+c%25%C3%A9/s%2B+x%25%c3%a9")
	p := dial(t, tg, v2+"producer/"+ns+local+"-a%2bb%20c%25%c3%a9")
	p.produce("decoded", "1")
	if got := payloadOf(t, c.receive(1)[0]); got != "decoded" {
		t.Errorf("consumer got %q, want the producer's message", got)
	}
	if subs := tg.Subscriptions(t, base+"-a+b c%é"); !slices.Contains(subs, "s+ x%é") {
		t.Errorf("subscriptions of %q: %q, want %q among them", base+"-a+b c%é", subs, "s+ x%é")
	}

	// A trailing space is trimmed: "<local>-t " is served as "<local>-t".
	ct := dial(t, tg, v2+"consumer/"+ns+local+"-t/s")
	pt := dial(t, tg, v2+"producer/"+ns+local+"-t%20+")
	pt.produce("trimmed", "1")
	if got := payloadOf(t, ct.receive(1)[0]); got != "trimmed" {
		t.Errorf("consumer of %q got %q, want the message sent to %q", local+"-t", got, local+"-t  ")
	}

	// Blank names.
	const iae = "java.lang.IllegalArgumentException"
	checkRefusals(t, tg.URL(), nil, []refusal{
		{v2 + "consumer/" + ns + local + "/%20", 400, "Invalid query params: subscriptionName cannot be blank"},
		{v2 + "consumer/" + ns + local + "/%E3%80%80+", 400, "Invalid query params: subscriptionName cannot be blank"},
		{"/ws/v3/consumer/+%09?topics=" + base, 400, "Invalid query params: subscriptionName cannot be blank"},
		{v2 + "producer/" + ns + "%20+", 500, iae + ": Invalid topic name: persistent://public/default/  . Topic local name must not be blank."},
	})

	// The client's names arrive verbatim (U+00A0 is not blank for Java).
	e := newEnv(t, tg)
	topic, sub := base+"-é😀 %+x:@\u00a0", "s +%2B\u00a0"
	cons := e.consumer(topic, sub, nil)
	e.sendAll(e.producer(topic, nil), payloadMsgs("verbatim", 1)...)
	if got := e.receive(cons, 1, true); string(got[0].Payload) != "verbatim0" {
		t.Errorf("payload %q, want verbatim0", got[0].Payload)
	}
	if subs := tg.Subscriptions(t, topic); !slices.Contains(subs, sub) {
		t.Errorf("subscriptions of %q: %q, want %q among them", topic, subs, sub)
	}
}
