package stargate

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
	"time"
	"unicode/utf16"
)

// This file routes the messages of a partition-parallel producer
// (ProducerOptions.PerPartition) to partitions exactly as the broker's own
// partitioned producer (Pulsar's Java client behind the WebSocket service)
// does for the same key, HashingScheme and RoutingMode: a keyed message
// lands in the same partition whichever way it is sent.

// router picks partitions as Pulsar's SinglePartitionMessageRouterImpl and
// RoundRobinPartitionMessageRouterImpl do.
type router struct {
	scheme   HashingScheme
	mode     RoutingMode
	batching bool
	switchMs int64        // RoundRobin with batching: the partition changes every switchMs
	start    int32        // SinglePartition: the partition; RoundRobin: where the turn starts
	turn     atomic.Int32 // RoundRobin without batching: the next turn
	now      func() time.Time
}

// batchingPartitionSwitchFrequency is the Java client's default
// batchingPartitionSwitchFrequencyByPublishDelay: with batching, a
// round-robin producer moves on after 10 publish delays.
const batchingPartitionSwitchFrequency = 10

// newRouter returns the router of a producer with options o on a topic of
// n partitions. As in the Java client, the single partition (and the
// round robin's first turn) is chosen at random.
func newRouter(o *ProducerOptions, n int) *router {
	r := &router{scheme: o.HashingScheme, mode: o.RoutingMode, batching: o.Batching, now: time.Now}
	r.start = int32(rand.IntN(n))
	r.turn.Store(r.start)
	delay := o.BatchingMaxPublishDelay
	if delay <= 0 {
		delay = time.Millisecond // the server's default
	}
	r.switchMs = max(1, (batchingPartitionSwitchFrequency * delay).Milliseconds())
	return r
}

// pick returns the partition, of n, for a message with key; "" is no key
// (stargate sends no key field for it, so the server sees none either).
func (r *router) pick(key string, n int) int {
	if key != "" {
		return signSafeMod(int64(r.hash(key)), n)
	}
	if r.mode == RoutingSinglePartition {
		// The Java router keeps its index when the topic grows.
		return signSafeMod(int64(r.start), n)
	}
	if r.batching {
		return signSafeMod(r.now().UnixMilli()/r.switchMs+int64(r.start), n)
	}
	return signSafeMod(int64(r.turn.Add(1)-1), n) // an int32 that wraps, as Java's getAndIncrement
}

func (r *router) hash(key string) int32 {
	if r.scheme == Murmur3Hash {
		return murmur3Hash32(key)
	}
	return javaStringHash(key)
}

// signSafeMod is Pulsar's MathUtils.signSafeMod: a modulus in [0, n).
func signSafeMod(v int64, n int) int {
	m := v % int64(n)
	if m < 0 {
		m += int64(n)
	}
	return int(m)
}

// javaStringHash is Pulsar's JavaStringHash: Java's String.hashCode, over
// the UTF-16 code units of s (a character outside the BMP counts as its two
// surrogates), masked to a non-negative int.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			h = 31*h + r1
			h = 31*h + r2
			continue
		}
		h = 31*h + r
	}
	return h & 0x7fffffff
}

// murmur3Hash32 is Pulsar's Murmur3_32Hash: MurmurHash3 x86 32-bit with
// seed 0 over the UTF-8 bytes of s, masked to a non-negative int.
func murmur3Hash32(s string) int32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	mix := func(k uint32) uint32 {
		k *= c1
		k = bits.RotateLeft32(k, 15)
		return k * c2
	}
	var h uint32
	i := 0
	for ; i+4 <= len(s); i += 4 {
		h ^= mix(binary.LittleEndian.Uint32([]byte(s[i : i+4])))
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	var k uint32
	for j := 0; i+j < len(s); j++ {
		k ^= uint32(s[i+j]) << (8 * j)
	}
	h ^= mix(k)
	h ^= uint32(len(s))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return int32(h & 0x7fffffff)
}
