package stargate

import (
	"errors"
	"testing"
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
	if got, want := tp.path(), "persistent/t/ns/a+b%2Bc%25"; got != want {
		t.Errorf("path %s, want %s", got, want)
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
