package stargatetest

import "testing"

// TestParsePathDecodesLikeTheBroker: names in a path are form-decoded
// (Java's URLDecoder), trailing spaces of a topic name are trimmed (the
// broker's Java client trims), blank topic names are refused; values
// measured against Pulsar 4.0.8.
func TestParsePathDecodesLikeTheBroker(t *testing.T) {
	const pre = "/ws/v2/consumer/persistent/public/default/"
	for _, c := range []struct {
		uri, topic, sub string
		status          int
	}{
		{pre + "orders%3Av1%2Bx/s", "persistent://public/default/orders:v1+x", "s", 0},
		{pre + "a+b%20c/s%2B+x", "persistent://public/default/a b c", "s+ x", 0},
		{pre + "%25%32%42/%c3%a9%F0%9F%98%80", "persistent://public/default/%2B", "é😀", 0},
		{pre + "a%FF/s", "persistent://public/default/a\uFFFD", "s", 0},
		{pre + "trail%20+/s", "persistent://public/default/trail", "s", 0},
		{pre + "x%E3%80%80/s", "persistent://public/default/x\u3000", "s", 0}, // only <= U+0020 is trimmed
		{pre + "t/%20", "persistent://public/default/t", " ", 0},              // refused later, after the parameters
		{pre + "%20/s", "", "", 500},
		{pre + "%E3%80%80/s", "", "", 500},
		{pre + "a%00/s", "", "", 400},
		{"/ws/v3/consumer/s%2B%20x", "", "s+ x", 0},
		{"/ws/v2/reader/persistent/a:b=c/.-_/..+?messageId=earliest", "persistent://a:b=c/.-_/..", "", 0},
	} {
		p, e := parsePath(c.uri)
		switch {
		case c.status != 0:
			if e == nil || e.status != c.status {
				t.Errorf("%s: %+v, %v; want status %d", c.uri, p, e, c.status)
			}
		case e != nil:
			t.Errorf("%s: %v", c.uri, e)
		case p.topic != c.topic || p.subscription != c.sub:
			t.Errorf("%s: topic %q, subscription %q; want %q, %q", c.uri, p.topic, p.subscription, c.topic, c.sub)
		}
	}
}

func TestJavaBlank(t *testing.T) {
	for s, want := range map[string]bool{
		"": true, " ": true, "\t\n": true, "\x1c": true, "\u3000": true, "\u2028": true, "\u2003 ": true,
		"\u00a0": false, "\u2007": false, "\u202f": false, "\u0085": false, " x ": false,
	} {
		if got := javaBlank(s); got != want {
			t.Errorf("javaBlank(%q) = %v, want %v", s, got, want)
		}
	}
}
