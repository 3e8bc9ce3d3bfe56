package stargate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
)

// EncryptionContext is what the server says about an end-to-end encrypted
// message (the encryptionContext of the WebSocket API, Pulsar's
// EncryptionContext): everything needed to decrypt its payload with the
// private key of one of Keys. Message.Encryption holds it on a received
// message whose Payload is still encrypted; Decrypt uses it.
type EncryptionContext struct {
	// Keys are the data key, encrypted with each recipient's public key,
	// by key name, with the metadata the producer's key reader gave.
	Keys map[string]EncryptedDataKey
	// Param is the AES-GCM IV (Pulsar's encryption_param).
	Param []byte
	// Algorithm is the producer's algorithm name; empty when the server
	// sends none (Pulsar's clients leave it empty for AES-GCM).
	Algorithm string
	// Compression is how the payload was compressed before it was
	// encrypted; UncompressedSize is its size before compression.
	Compression      CompressionType
	UncompressedSize int
	// BatchSize is the number of messages in a batched entry, whose
	// decrypted payload is a Pulsar batch container that Decrypt splits;
	// 0 for a message that is not batched. -1 means batched but of unknown
	// size (Pulsar 2.11 and older sent the count as an Optional object that
	// lost the value): Decrypt then splits the container to its end.
	BatchSize int
	// Encrypted is the server's statement whether Payload is still
	// encrypted (PIP-432, Pulsar 4.1 and later); nil when the server does
	// not say, as Pulsar 4.0 does not: the context is then sent even when
	// the server has decrypted the payload itself.
	Encrypted *bool
}

// EncryptedDataKey is a message's data key encrypted with one recipient's
// public key, and the metadata sent with it.
type EncryptedDataKey struct {
	Value    []byte
	Metadata map[string]string
}

// clone returns a deep copy of ctx.
func (ctx *EncryptionContext) clone() *EncryptionContext {
	if ctx == nil {
		return nil
	}
	c := *ctx
	c.Keys = make(map[string]EncryptedDataKey, len(ctx.Keys))
	for k, v := range ctx.Keys {
		c.Keys[k] = EncryptedDataKey{Value: bytes.Clone(v.Value), Metadata: maps.Clone(v.Metadata)}
	}
	c.Param = bytes.Clone(ctx.Param)
	return &c
}

// encryptionContextJSON is the server's JSON shape (§3.5).
type encryptionContextJSON struct {
	Keys map[string]struct {
		KeyValue []byte            `json:"keyValue"`
		Metadata map[string]string `json:"metadata"`
	} `json:"keys"`
	Param                   []byte          `json:"param"`
	Algorithm               string          `json:"algorithm"`
	CompressionType         string          `json:"compressionType"`
	UncompressedMessageSize int             `json:"uncompressedMessageSize"`
	BatchSize               json.RawMessage `json:"batchSize"`
	Encrypted               *bool           `json:"encrypted"`
}

// parseEncryptionContext decodes the value of a frame's encryptionContext;
// nil for JSON null.
func parseEncryptionContext(raw []byte) (*EncryptionContext, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var j encryptionContextJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("encryptionContext: %w", err)
	}
	ctx := &EncryptionContext{
		Keys:             make(map[string]EncryptedDataKey, len(j.Keys)),
		Param:            j.Param,
		Algorithm:        j.Algorithm,
		UncompressedSize: j.UncompressedMessageSize,
		Encrypted:        j.Encrypted,
	}
	for k, v := range j.Keys {
		ctx.Keys[k] = EncryptedDataKey{Value: v.KeyValue, Metadata: v.Metadata}
	}
	if j.CompressionType != "" {
		c, ok := compressionNames.parse(j.CompressionType)
		if !ok {
			return nil, errors.New("encryptionContext: unknown compressionType " + j.CompressionType)
		}
		ctx.Compression = c
	}
	switch b := strings.TrimSpace(string(j.BatchSize)); {
	case b == "" || b == "null":
	case b[0] == '{': // Pulsar ≤ 2.11: {"empty":false,"present":true}
		var opt struct {
			Present bool `json:"present"`
		}
		if err := json.Unmarshal(j.BatchSize, &opt); err != nil {
			return nil, fmt.Errorf("encryptionContext.batchSize: %w", err)
		}
		if opt.Present {
			ctx.BatchSize = -1
		}
	default:
		if err := json.Unmarshal(j.BatchSize, &ctx.BatchSize); err != nil || ctx.BatchSize < 0 {
			return nil, fmt.Errorf("encryptionContext.batchSize: bad value %s", b)
		}
	}
	return ctx, nil
}

// Errors of client-side decryption, matched with errors.Is by a
// *CryptoError.
var (
	// ErrCrypto is matched by every *CryptoError.
	ErrCrypto = errors.New("stargate: cannot decrypt message")
	// ErrNoDecryptionKey: the key reader gave no usable private key for any
	// of the message's key names (no key, an unreadable PEM, or a key that
	// does not unwrap the data key: the wrong key).
	ErrNoDecryptionKey = errors.New("stargate: no usable decryption key")
	// ErrCorruptMessage: the data key was unwrapped but the payload did not
	// decrypt (AES-GCM authentication failed), did not decompress, or is
	// not a valid batch container.
	ErrCorruptMessage = errors.New("stargate: corrupt encrypted message")
)

// CryptoError reports a received message that the client could not
// decrypt. It matches ErrCrypto and one of ErrNoDecryptionKey or
// ErrCorruptMessage, and unwraps to the cause. Message is the message,
// still encrypted (with its Encryption set), so that it can be
// acknowledged or negatively acknowledged.
type CryptoError struct {
	Message Message
	Err     error
	kind    error // ErrNoDecryptionKey or ErrCorruptMessage
}

// Error names the message and the cause.
func (e *CryptoError) Error() string {
	return "stargate: cannot decrypt message " + e.Message.ID.GoString() + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *CryptoError) Unwrap() error { return e.Err }

// Is matches ErrCrypto and the sentinel of the failure's kind.
func (e *CryptoError) Is(target error) bool {
	return target == ErrCrypto || target == e.kind
}
