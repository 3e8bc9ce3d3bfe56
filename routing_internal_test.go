package stargate

import (
	"testing"
	"time"
)

// Expected values are Java's: "…".hashCode() & Integer.MAX_VALUE, and
// Pulsar's Murmur3_32Hash (MurmurHash3 x86_32, seed 0, over UTF-8).
func TestJavaStringHash(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int32
	}{
		{"", 0},
		{"a", 97},
		{"hello", 99162322},
		{"customer-42", int32(uint32(javaHashRef("customer-42")) & 0x7fffffff)},
		{"é", 0xe9},
		{"😀", 0xD83D*31 + 0xDE00},  // two UTF-16 surrogates, not one code point
		{"Aa", 2112}, {"BB", 2112}, // Java's famous collision
		{"polygenelubricants", 0x7fffffff & -2147483648}, // hashCode is Integer.MIN_VALUE
	} {
		if got := javaStringHash(c.in); got != c.want {
			t.Errorf("javaStringHash(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// javaHashRef is String.hashCode written from its definition, over a
// string of BMP characters only.
func javaHashRef(s string) int32 {
	var h int32
	for _, r := range s {
		h = 31*h + r
	}
	return h
}

func TestMurmur3Hash32(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32 // murmur3_32(in, 0) before masking
	}{
		{"", 0},
		{"hello", 0x248bfa47},
		{"Hello, world!", 0xc0363e43},
		{"The quick brown fox jumps over the lazy dog", 0x2e4ff723},
	} {
		if got := murmur3Hash32(c.in); got != int32(c.want&0x7fffffff) {
			t.Errorf("murmur3Hash32(%q) = %#x, want %#x", c.in, got, c.want&0x7fffffff)
		}
	}
}

func TestRouterKeyless(t *testing.T) {
	rr := newRouter(&ProducerOptions{RoutingMode: RoutingRoundRobin}, 4)
	first := rr.pick("", 4)
	for i := 1; i < 10; i++ {
		if got, want := rr.pick("", 4), (first+i)%4; got != want {
			t.Fatalf("round robin turn %d = %d, want %d", i, got, want)
		}
	}
	single := newRouter(&ProducerOptions{}, 4)
	p := single.pick("", 4)
	for range 10 {
		if got := single.pick("", 4); got != p {
			t.Fatalf("single partition moved from %d to %d", p, got)
		}
	}
	if got, want := single.pick("k", 4), signSafeMod(int64(javaStringHash("k")), 4); got != want {
		t.Errorf("keyed message went to %d, want %d", got, want)
	}
	// With batching, round robin changes partition every 10 publish delays.
	now := time.UnixMilli(1_000_000)
	b := newRouter(&ProducerOptions{RoutingMode: RoutingRoundRobin, Batching: true, BatchingMaxPublishDelay: 2 * time.Millisecond}, 4)
	b.now = func() time.Time { return now }
	p0 := b.pick("", 4)
	now = now.Add(19 * time.Millisecond)
	if got := b.pick("", 4); got != p0 {
		t.Errorf("batching round robin moved within 20ms: %d then %d", p0, got)
	}
	now = now.Add(time.Millisecond)
	if got := b.pick("", 4); got != (p0+1)%4 {
		t.Errorf("batching round robin after 20ms = %d, want %d", got, (p0+1)%4)
	}
	// The turn counter wraps as a Java int does; signSafeMod keeps it in range.
	rr.turn.Store(1<<31 - 1)
	if a, b := rr.pick("", 3), rr.pick("", 3); a != (1<<31-1)%3 || b != signSafeMod(-1<<31, 3) {
		t.Errorf("wrapped turns = %d, %d", a, b)
	}
}
