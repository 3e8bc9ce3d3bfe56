package stargate

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/stargate-go/stargate/internal/msgcrypto"
)

// Decrypt decrypts a message received still encrypted (m.Encryption set:
// from a consumer with CryptoConsume and no KeyReader, or yielded by a
// consumer with a KeyReader and CryptoConsume after a failure) with the
// private key kr gives for one of its key names, trying each in the order
// of their names. It decompresses the payload and, for a batched entry,
// splits it into its messages, the way Pulsar's binary clients do: each
// carries its own Key, Properties, EventTime and Payload, and an ID with
// BatchIndex and BatchSize; messages the broker's compaction marked as
// compacted out are left out. Messages from a Consumer share the entry's
// acknowledgement: Ack or Nack on each; the entry is acknowledged once every
// one of them was acknowledged, negatively acknowledged as soon as one was.
//
// A message without Encryption is returned as it is. A failure is a
// *CryptoError. Decrypt keeps no state: a consumer with
// ConsumerOptions.KeyReader decrypts by itself and caches data keys.
func Decrypt(m Message, kr CryptoKeyReader) ([]Message, error) {
	if kr == nil {
		return nil, argErr("CryptoKeyReader", "", "must not be nil")
	}
	if m.Encryption == nil {
		return []Message{m}, nil
	}
	return newDecryptor(kr).open(m)
}

// decryptor decrypts a consumer's messages, caching data keys by their
// wrapped bytes (a producer uses one data key for hours).
type decryptor struct {
	kr CryptoKeyReader

	mu    sync.Mutex
	cache map[string][]byte // wrapped data key → data key
}

// maxCachedKeys bounds the cache; it is cleared when full.
const maxCachedKeys = 64

func newDecryptor(kr CryptoKeyReader) *decryptor {
	return &decryptor{kr: kr, cache: make(map[string][]byte)}
}

// open decrypts, decompresses and splits m.
func (d *decryptor) open(m Message) ([]Message, error) {
	ec := m.Encryption
	plain, err := d.decrypt(ec, m.Payload)
	if err != nil {
		return nil, &CryptoError{Message: m, Err: err, kind: kindOf(err)}
	}
	if ec.Compression != CompressionNone {
		if plain, err = decompress(ec.Compression, plain, ec.UncompressedSize); err != nil {
			return nil, &CryptoError{Message: m, Err: err, kind: ErrCorruptMessage}
		}
	}
	out := m
	out.Encryption = nil
	if ec.BatchSize == 0 {
		out.Payload = plain
		return []Message{out}, nil
	}
	ms, err := splitBatch(out, plain, ec.BatchSize)
	if err != nil {
		return nil, &CryptoError{Message: m, Err: fmt.Errorf("%w: %w", errBadBatch, err), kind: ErrCorruptMessage}
	}
	return ms, nil
}

func kindOf(err error) error {
	if errors.Is(err, errNoKey) {
		return ErrNoDecryptionKey
	}
	return ErrCorruptMessage
}

// errNoKey marks a failure to get the data key.
var errNoKey = errors.New("no key unwraps the data key")

// decrypt finds the data key and opens the payload.
func (d *decryptor) decrypt(ec *EncryptionContext, payload []byte) ([]byte, error) {
	key, err := d.dataKey(ec)
	if err != nil {
		return nil, err
	}
	plain, err := msgcrypto.Open(key, ec.Param, payload)
	if err != nil {
		return nil, err
	}
	return plain, nil
}

// dataKey returns the cached data key of one of ec's wrapped keys, or
// unwraps one with the reader's private key.
func (d *decryptor) dataKey(ec *EncryptionContext) ([]byte, error) {
	if len(ec.Keys) == 0 {
		return nil, fmt.Errorf("%w: the message names no key", errNoKey)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range ec.Keys {
			if !yield(k) {
				return
			}
		}
	})
	d.mu.Lock()
	for _, n := range names {
		if k, ok := d.cache[string(ec.Keys[n].Value)]; ok {
			d.mu.Unlock()
			return k, nil
		}
	}
	d.mu.Unlock()
	var errs []error
	for _, n := range names {
		wk := ec.Keys[n]
		info, err := d.kr.PrivateKey(n, wk.Metadata)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: %w", n, err))
			continue
		}
		priv, err := msgcrypto.ParsePrivateKey(info.Key)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: %w", n, err))
			continue
		}
		key, err := msgcrypto.UnwrapKey(priv, wk.Value)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: %w", n, err))
			continue
		}
		d.mu.Lock()
		if len(d.cache) >= maxCachedKeys {
			clear(d.cache)
		}
		d.cache[string(wk.Value)] = key
		d.mu.Unlock()
		return key, nil
	}
	return nil, fmt.Errorf("%w: %w", errNoKey, errors.Join(errs...))
}
