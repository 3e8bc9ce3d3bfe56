package stargate

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/stargate-go/stargate/internal/msgcrypto"
)

// ProducerEncryption turns on client-side end-to-end encryption for a
// Producer (PIP-290: the WebSocket API of Pulsar 3.2 and later). The
// producer makes an AES-256 data key, encrypts it with the public key of
// each of Keys (RSA-OAEP or ECIES, as Pulsar's MessageCryptoBc) and sends
// those encrypted keys once per connection; every message is then
// compressed with ProducerOptions.Compression (by the client: the server
// sees only ciphertext) and encrypted with AES-GCM under a fresh IV. Any
// Pulsar client with one of the private keys decrypts the messages: a
// stargate Consumer with ConsumerOptions.KeyReader, Decrypt, or the Java
// client; the C++ and Python clients with RSA keys only (they have no ECIES).
//
// What the WebSocket API cannot do here: the server does not batch
// encrypted messages (ProducerOptions.Batching with Encryption is an
// *ArgError), does not chunk them, and takes the encrypted keys per
// connection, so a data-key rotation opens a new connection (see
// RotateEvery).
//
// Send checks ProducerOptions.MaxFrameSize against the encrypted frame: the
// payload as the codec could at worst grow it, plus the 16-byte GCM tag and
// the IV and compression fields.
type ProducerEncryption struct {
	// Keys are the names of the recipients' keys, each resolved with
	// KeyReader.PublicKey. At least one; names must be non-empty.
	Keys []string
	// KeyReader supplies the public keys (PEM, RSA or EC). It is asked at
	// NewProducer (a key it cannot supply, or a PEM that does not parse, is
	// an *ArgError before anything is dialled) and at every rotation.
	KeyReader CryptoKeyReader
	// RotateEvery is the lifetime of a data key; zero means 4h, as the
	// Java client. At the first Send after it, the producer waits (within
	// that Send's ctx) for the messages in flight to be acknowledged, makes
	// a new data key, reads the public keys again and reconnects with the
	// new encrypted keys. A message is always encrypted, at every write, with
	// the data key of the connection it is written to, so messages resent
	// after a reconnect are encrypted again. At least 1s.
	RotateEvery time.Duration
}

// defaultRotateEvery is the Java client's data-key lifetime (4 hours).
const defaultRotateEvery = 4 * time.Hour

// producerCrypto is a producer's encryption state.
type producerCrypto struct {
	keys        []string
	kr          CryptoKeyReader
	rotateEvery time.Duration
	comp        CompressionType

	mu     sync.Mutex
	next   *dataKeySet // what the next dial sends
	dialed *dataKeySet // what the last dial sent

	cur *dataKeySet // the keys of Producer.sock; guarded by Producer.sendLock
	// retiring is set, under sendLock, once a rotation has dropped
	// Producer.sock: nothing more is written to it (what would be written is
	// sent on the next connection, under the new key), so that its lost
	// acknowledgements cannot make duplicates.
	retiring bool
}

// dataKeySet is one data key and the encryptionKeys value that carries it.
type dataKeySet struct {
	key     []byte
	param   string // base64 JSON, the encryptionKeys query value
	expires time.Time
}

// newProducerCrypto validates the options and makes the first data key.
func newProducerCrypto(o *ProducerOptions) (*producerCrypto, error) {
	e := o.Encryption
	switch {
	case len(o.EncryptionKeys) > 0:
		return nil, argErr("ProducerOptions.EncryptionKeys", "", "set either EncryptionKeys (server-side encryption) or Encryption (client-side), not both")
	case o.Batching:
		return nil, argErr("ProducerOptions.Batching", "true", "the server does not batch client-side encrypted messages; turn Batching off with Encryption")
	case len(e.Keys) == 0:
		return nil, argErr("ProducerOptions.Encryption.Keys", "", "need at least one key name")
	case e.KeyReader == nil:
		return nil, argErr("ProducerOptions.Encryption.KeyReader", "", "must not be nil")
	case e.RotateEvery < 0 || e.RotateEvery > 0 && e.RotateEvery < time.Second:
		return nil, argErr("ProducerOptions.Encryption.RotateEvery", e.RotateEvery.String(), "must be zero (4h) or at least 1s")
	}
	for _, k := range e.Keys {
		if k == "" {
			return nil, argErr("ProducerOptions.Encryption.Keys", k, "key names must be non-empty")
		}
	}
	pc := &producerCrypto{
		keys:        slices.Clone(e.Keys),
		kr:          e.KeyReader,
		rotateEvery: e.RotateEvery,
		comp:        o.Compression,
	}
	if pc.rotateEvery == 0 {
		pc.rotateEvery = defaultRotateEvery
	}
	ks, err := pc.newKeySet(time.Now())
	if err != nil {
		return nil, err
	}
	pc.next = ks
	return pc, nil
}

// newKeySet makes a data key and encrypts it for every key name. A key
// the reader cannot give, or that does not parse, is an *ArgError.
func (pc *producerCrypto) newKeySet(now time.Time) (*dataKeySet, error) {
	key, err := msgcrypto.NewDataKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	type wireKey struct {
		KeyValue []byte            `json:"keyValue"`
		Metadata map[string]string `json:"metadata"`
	}
	keys := make(map[string]wireKey, len(pc.keys))
	for _, name := range pc.keys {
		info, err := pc.kr.PublicKey(name, nil)
		if err != nil {
			return nil, argErr("ProducerOptions.Encryption.KeyReader", name, "PublicKey failed: "+err.Error())
		}
		pub, err := msgcrypto.ParsePublicKey(info.Key)
		if err != nil {
			return nil, argErr("ProducerOptions.Encryption.KeyReader", name, "public key: "+err.Error())
		}
		wrapped, err := msgcrypto.WrapKey(rand.Reader, pub, key)
		if err != nil {
			return nil, argErr("ProducerOptions.Encryption.KeyReader", name, "public key: "+err.Error())
		}
		md := maps.Clone(info.Metadata)
		if md == nil {
			md = map[string]string{}
		}
		keys[name] = wireKey{KeyValue: wrapped, Metadata: md}
	}
	js, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	return &dataKeySet{key: key, param: base64.StdEncoding.EncodeToString(js), expires: now.Add(pc.rotateEvery)}, nil
}

// forDial returns the keys the next connection announces, and records
// them as dialled; it runs before every dial, on the dialling goroutine.
func (pc *producerCrypto) forDial() *dataKeySet {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.dialed = pc.next
	return pc.next
}

// adopt makes the keys of the last dial those of the producer's socket;
// sendLock is held.
func (pc *producerCrypto) adopt() {
	pc.mu.Lock()
	pc.cur = pc.dialed
	pc.mu.Unlock()
	pc.retiring = false
}

// encryptionQuery sets the encryptionKeys parameter of the next dial.
func (p *Producer) encryptionQuery(q map[string][]string) {
	if p.crypto == nil {
		return
	}
	q["encryptionKeys"] = []string{p.crypto.forDial().param}
	delete(q, "compressionType") // compression is the client's in this mode
}

// maybeRotate replaces an expired data key: it waits (within ctx) for the
// sends in flight on the current connection, makes the new key and drops
// the connection, so that the next one announces it. sendLock is held.
func (p *Producer) maybeRotate(ctx context.Context) {
	pc := p.crypto
	if pc == nil || pc.cur == nil || time.Now().Before(pc.cur.expires) {
		return
	}
	pc.mu.Lock()
	pending := pc.next != pc.cur // a new key already waits for the next dial
	pc.mu.Unlock()
	if pending {
		return
	}
	// Drain: acknowledged messages need no resend under the new key, so a
	// rotation stores nothing twice when the acks come in time.
	drain, cancel := context.WithTimeout(ctx, rotateDrainLimit)
	p.pendMu.Lock()
	waits := make([]*SendFuture, 0, len(p.pending))
	for _, e := range p.pending {
		waits = append(waits, &e.SendFuture)
	}
	p.pendMu.Unlock()
	for _, f := range waits {
		if f.await(drain) != nil {
			break
		}
	}
	cancel()
	ks, err := pc.newKeySet(time.Now())
	if err != nil {
		// Keep the old key rather than stop sending; try again in a minute.
		p.client.logger().Warn("stargate: data-key rotation failed; keeping the current key", "path", p.l.path, "err", err)
		pc.cur.expires = time.Now().Add(time.Minute)
		return
	}
	pc.mu.Lock()
	pc.next = ks
	pc.mu.Unlock()
	pc.retiring = true
	p.l.drop(p.sock)
}

// errRetiring holds a frame back from a socket a rotation has dropped.
var errRetiring = errors.New("stargate: connection is being replaced for a new data key")

// rotateDrainLimit bounds the wait for in-flight sends at a rotation.
const rotateDrainLimit = 30 * time.Second

// appendFrame appends m's send frame: as it is, or, with encryption,
// compressed and encrypted with the current socket's data key.
func (p *Producer) appendFrame(b []byte, m *Message, ctxID uint64) ([]byte, error) {
	pc := p.crypto
	if pc == nil {
		return appendSendFrame(b, m, ctxID), nil
	}
	if pc.retiring {
		return b, errRetiring
	}
	plain, err := compress(pc.comp, m.Payload)
	if err != nil {
		return b, err
	}
	iv, err := msgcrypto.NewIV(rand.Reader)
	if err != nil {
		return b, err
	}
	ct, err := msgcrypto.Seal(pc.cur.key, iv, plain)
	if err != nil {
		return b, err
	}
	em := *m
	em.Payload = ct
	b = appendSendFrame(b, &em, ctxID)
	b = b[:len(b)-1] // reopen the object
	b = append(b, `,"encryptionParam":"`...)
	b = base64.StdEncoding.AppendEncode(b, iv)
	b = append(b, '"')
	if pc.comp != CompressionNone {
		b = append(b, `,"compressionType":"`...)
		b = append(b, pc.comp.String()...)
		b = append(b, `","uncompressedMessageSize":`...)
		b = strconv.AppendInt(b, int64(len(m.Payload)), 10)
	}
	return append(b, '}'), nil
}

// encryptionOverhead bounds what encryption adds to m's frame: the GCM
// tag, the IV and compression fields, and what compression may add to an
// incompressible payload.
func (p *Producer) encryptionOverhead(m *Message) int {
	if p.crypto == nil {
		return 0
	}
	n := len(m.Payload)
	grown := compressBound(p.crypto.comp, n) + 16 // the GCM tag
	return base64.StdEncoding.EncodedLen(grown) - base64.StdEncoding.EncodedLen(n) +
		len(`,"encryptionParam":"AAAAAAAAAAAAAAAA","compressionType":"SNAPPY","uncompressedMessageSize":2147483647`)
}
