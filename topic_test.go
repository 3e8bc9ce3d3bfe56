package stargate

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseTopic(t *testing.T) {
	for in, want := range map[string]string{
		"orders":                              "persistent://public/default/orders",
		"acme/billing/orders":                 "persistent://acme/billing/orders",
		"persistent://acme/billing/orders":    "persistent://acme/billing/orders",
		"non-persistent://acme/billing/ticks": "non-persistent://acme/billing/ticks",
		"a-b/c.d:e=f_g/with space+plus":       "persistent://a-b/c.d:e=f_g/with space+plus",
		"orders-partition-3":                  "persistent://public/default/orders-partition-3",
	} {
		got, err := ParseTopic(in)
		if err != nil {
			t.Errorf("ParseTopic(%q): %v", in, err)
			continue
		}
		if got.String() != want {
			t.Errorf("ParseTopic(%q) = %s, want %s", in, got, want)
		}
	}
	for _, in := range []string{"", "a/b", "a/b/c/d", "persistent://a/b", "http://a/b/c", "persistent://a/b/",
		"a b/ns/x", "t/n s/x", "/ns/x", "t//x", "t/ns/x\n", "persistent://tenant/cluster/ns/topic", "\xff"} {
		_, err := ParseTopic(in)
		var ae *ArgError
		if !errors.As(err, &ae) || !errors.Is(err, ErrInvalidArgument) || ae.Arg != "topic" {
			t.Errorf("ParseTopic(%q) = %v, want an *ArgError for topic", in, err)
		}
	}
}

func TestTopicPathEscapesLikePulsar(t *testing.T) {
	tp, _ := ParseTopic("t/ns/a b+c/%")
	if err := tp.validate(); err == nil {
		t.Fatal("a slash in the local name must be rejected")
	}
	tp, _ = ParseTopic("t/ns/a b+c%")
	if got, want := tp.path(), "persistent/t/ns/a%20b%2Bc%25"; got != want {
		t.Errorf("path %s, want %s", got, want)
	}
}

// TestParseTopicBrokerLimits: the names the broker cannot hold verbatim
// are refused; their look-alikes are not.
func TestParseTopicBrokerLimits(t *testing.T) {
	for _, in := range []string{"trail ", " ", "   ", "t/ns/x ", "-partition-0", "-partition-3", "t/ns/-partition-12", "x\x00", "a\tb",
		"\u3000", "\u2003\u2028"} {
		_, err := ParseTopic(in)
		var ae *ArgError
		if !errors.As(err, &ae) || ae.Arg != "topic" {
			t.Errorf("ParseTopic(%q) = %v, want an *ArgError for topic", in, err)
		}
	}
	for _, in := range []string{" lead", "a b", "x\u3000", "x\u00a0", "-partition-", "-partition-03", "-partition--1",
		"-partition-x", "x-partition-3", "-partition-1-partition-2", "%", "+", ".", "..", "é😀", "\u0085", "\u00a0", "\u2007", "x\u3000", "\u3000x"} {
		if _, err := ParseTopic(in); err != nil {
			t.Errorf("ParseTopic(%q): %v", in, err)
		}
	}
}

func TestCheckSubscription(t *testing.T) {
	for _, in := range []string{"", " ", "  ", "\t", "\n", "\x1c", "\u3000", "\u2028", "\u2003 \u2003", "a\x00b", "\xff"} {
		if err := checkSubscription(in); err == nil {
			t.Errorf("checkSubscription(%q) = nil, want an error", in)
		}
	}
	for _, in := range []string{"s", " x ", "trail ", "+", "%", "%zz", "a/b", "/", ".", "..", "\u00a0", "\u2007", "\u202f", "\u0085", "a\tb", "é😀"} {
		if err := checkSubscription(in); err != nil {
			t.Errorf("checkSubscription(%q): %v", in, err)
		}
	}
}

func TestEscapeName(t *testing.T) {
	for in, want := range map[string]string{
		"orders":                     "orders",
		"orders:v1+x":                "orders%3Av1%2Bx",
		"a b":                        "a%20b",
		"%":                          "%25",
		"%2B":                        "%252B",
		"+":                          "%2B",
		"..":                         "..",
		"-._~":                       "-._~",
		"a/b":                        "a%2Fb",
		"é😀":                         "%C3%A9%F0%9F%98%80",
		"!\"#$&'()*,;=?@[]^`{|}<>\\": "%21%22%23%24%26%27%28%29%2A%2C%3B%3D%3F%40%5B%5D%5E%60%7B%7C%7D%3C%3E%5C",
	} {
		if got := escapeName(in); got != want {
			t.Errorf("escapeName(%q) = %s, want %s", in, got, want)
		}
		if back, err := url.QueryUnescape(want); err != nil || back != in {
			t.Errorf("the server would decode %s as %q (%v), want %q", want, back, err, in)
		}
	}
}

// TestRequestPathBytes checks the request line that goes out, byte for
// byte, for tricky names on every endpoint: the name must reach the
// server escaped once, as the server decodes it.
func TestRequestPathBytes(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
		http.Error(w, "recorded", http.StatusNotFound)
	}))
	defer srv.Close()
	ws := "ws" + strings.TrimPrefix(srv.URL, "http")
	const wantTopics = "persistent://public/default/a+b,persistent://t:x/n=s/c d%"
	for _, tc := range []struct {
		name, base string
		open       func(ctx context.Context, c *Client) error
		path       string // the raw request path
		topics     string // the topics query value as the server decodes it
	}{
		{"producer", ws, func(ctx context.Context, c *Client) error {
			_, err := c.NewProducer(ctx, "orders:v1+x", nil)
			return err
		}, "/ws/v2/producer/persistent/public/default/orders%3Av1%2Bx", ""},
		{"producer odd", ws, func(ctx context.Context, c *Client) error {
			_, err := c.NewProducer(ctx, "non-persistent://a:b=c.d-e_f/==/100% é😀 ..+", nil)
			return err
		}, "/ws/v2/producer/non-persistent/a:b=c.d-e_f/==/100%25%20%C3%A9%F0%9F%98%80%20..%2B", ""},
		{"dots", ws, func(ctx context.Context, c *Client) error {
			_, err := c.NewProducer(ctx, "./../..", nil)
			return err
		}, "/ws/v2/producer/persistent/./../..", ""},
		{"consumer", ws, func(ctx context.Context, c *Client) error {
			_, err := c.NewConsumer(ctx, "t/ns/a b", "s+b %2F/", nil)
			return err
		}, "/ws/v2/consumer/persistent/t/ns/a%20b/s%2Bb%20%252F%2F", ""},
		{"reader", ws, func(ctx context.Context, c *Client) error {
			_, err := c.NewReader(ctx, "#?&=;", nil)
			return err
		}, "/ws/v2/reader/persistent/public/default/%23%3F%26%3D%3B", ""},
		{"v3", ws, func(ctx context.Context, c *Client) error {
			_, err := c.NewMultiTopicConsumer(ctx, []string{"a+b", "t:x/n=s/c d%"}, "s p+%", nil)
			return err
		}, "/ws/v3/consumer/s%20p%2B%25", wantTopics},
		{"base path", ws + "/pre%20fix+", func(ctx context.Context, c *Client) error {
			_, err := c.NewProducer(ctx, "a+b", nil)
			return err
		}, "/pre%20fix+/ws/v2/producer/persistent/public/default/a%2Bb", ""},
	} {
		c, err := NewClient(tc.base, nil)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got = nil
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = tc.open(ctx, c)
		cancel()
		var ce *ConnectError
		if !errors.As(err, &ce) || ce.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %v, want the recorder's 404", tc.name, err)
			continue
		}
		mu.Lock()
		reqs := got
		mu.Unlock()
		if len(reqs) != 1 {
			t.Errorf("%s: %d requests, want 1", tc.name, len(reqs))
			continue
		}
		r := reqs[0]
		path, rawQuery, _ := strings.Cut(r.RequestURI, "?")
		if path != tc.path {
			t.Errorf("%s: request path\n  %s\nwant\n  %s", tc.name, path, tc.path)
		}
		if tc.topics != "" {
			q, err := url.ParseQuery(rawQuery)
			if err != nil || q.Get("topics") != tc.topics {
				t.Errorf("%s: topics %q (%v), want %q", tc.name, q.Get("topics"), err, tc.topics)
			}
		}
	}
}

func FuzzParseTopic(f *testing.F) {
	for _, s := range []string{"orders", "persistent://public/default/x", "non-persistent://a/b/c", "a/b/c", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := ParseTopic(s)
		if err != nil {
			return
		}
		again, err := ParseTopic(tp.String())
		if err != nil || again != tp {
			t.Fatalf("%q -> %v -> %v, %v", s, tp, again, err)
		}
	})
}
