package stargatetest

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf16"
)

// javaStringHash is Pulsar's JavaStringHash: String.hashCode over UTF-16
// code units, masked to a non-negative int (protocol doc §1.4).
func javaStringHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h & 0x7fffffff
}

// murmur3Hash is Pulsar's Murmur3_32Hash: murmur3 x86 32-bit, seed 0, over
// the UTF-8 bytes, masked to a non-negative int.
func murmur3Hash(s string) int32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	data := []byte(s)
	var h uint32
	n := len(data) / 4
	for i := range n {
		k := binary.LittleEndian.Uint32(data[4*i:])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	var k uint32
	tail := data[4*n:]
	switch len(tail) {
	case 3:
		k ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(tail[0])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(len(data))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return int32(h) & 0x7fffffff
}

// consistentHashReplicas is the broker's CONSUMER_CONSISTENT_HASH_REPLICAS.
const consistentHashReplicas = 100

// hashRingPick is the broker's peekConsumerIndexFromHashRing: each consumer
// puts Murmur3(name + j), j < 100, on a ring (a later consumer wins a
// collision); the topic name's hash picks the first entry at or after it,
// wrapping to the smallest.
func hashRingPick(topic string, cs []*consumer) int {
	ring := make(map[int32]int, len(cs)*consistentHashReplicas)
	for i, c := range cs {
		for j := range consistentHashReplicas {
			ring[murmur3Hash(c.name+strconv.Itoa(j))] = i
		}
	}
	h := murmur3Hash(topic)
	best, first := int32(-1), int32(-1)
	for k := range ring {
		if k >= h && (best < 0 || k < best) {
			best = k
		}
		if first < 0 || k < first {
			first = k
		}
	}
	if best < 0 {
		best = first
	}
	return ring[best]
}
