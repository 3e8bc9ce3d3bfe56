package stargatetest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Client-side end-to-end encryption (PIP-290, §9). A producer whose
// encryptionKeys parameter is base64 JSON with a keyValue per key name
// sends ciphertext: the server stores the payload as it is, with the keys
// and each message's encryptionParam, compressionType and
// uncompressedMessageSize, turns its own batching off and ignores
// compressionType; consumers get them back as encryptionContext. The
// server holds no private keys, so, as Pulsar's proxy without a crypto key
// reader, it cannot decrypt: a consumer's cryptoFailureAction says what
// happens to encrypted messages: CONSUME delivers them with their
// encryptionContext, DISCARD acknowledges and drops them, FAIL (the
// default) withholds them unacknowledged. Readers get encrypted payloads
// without encryptionContext, as on Pulsar 4.0.8.

// encKey is one entry of encryptionKeys and of encryptionContext.keys.
type encKey struct {
	KeyValue []byte            `json:"keyValue"`
	Metadata map[string]string `json:"metadata"`
}

// parseClientKeys reads encryptionKeys as the proxy's
// tryToExtractJsonEncryptionKeys does: nil when it is not base64 JSON
// whose first key has a keyValue (then it is a list of names for
// server-side encryption, which this server does not model).
func parseClientKeys(q query) map[string]encKey {
	v, ok := q.get("encryptionKeys")
	if !ok {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return nil
	}
	var keys map[string]encKey
	if json.Unmarshal(raw, &keys) != nil || len(keys) == 0 {
		return nil
	}
	for _, k := range keys {
		if len(k.KeyValue) == 0 {
			return nil
		}
	}
	return keys
}

// cryptoAction is a consumer's or reader's cryptoFailureAction: FAIL
// unless DISCARD or CONSUME (anything else is ignored, §2.2).
func cryptoAction(q query) string {
	if a, _ := q.get("cryptoFailureAction"); a == "DISCARD" || a == "CONSUME" {
		return a
	}
	return "FAIL"
}

// encInfo is what an encrypted entry carries for its encryptionContext.
type encInfo struct {
	keys             map[string]encKey
	param            []byte
	compression      string
	uncompressedSize int
}

// encryptionContext is the JSON of EncryptionContext (§3.5) as Pulsar 4.0.8
// writes it: algorithm omitted when null, batchSize null when the entry is
// not batched.
type encryptionContext struct {
	Keys                    map[string]encKey `json:"keys"`
	Param                   []byte            `json:"param"`
	CompressionType         string            `json:"compressionType"`
	UncompressedMessageSize int               `json:"uncompressedMessageSize"`
	BatchSize               *int              `json:"batchSize"`
}

// applyEncryption checks a client-side encrypted send's fields and records
// them on m; a non-empty errMsg means send-error:7.
func applyEncryption(m *message, f producerFrame, keys map[string]encKey) (errMsg string) {
	if keys == nil {
		return ""
	}
	info := &encInfo{keys: keys, compression: "NONE"}
	if f.EncryptionParam.set && strings.TrimSpace(f.EncryptionParam.s) != "" {
		p, err := decodeJavaBase64(f.EncryptionParam.s)
		if err != nil {
			return "Invalid Base64 encryptionParam error=" + err.Error()
		}
		info.param = p
	}
	if f.CompressionType.set != f.UncompressedMessageSize.set {
		return "the params compressionType and uncompressedMessageSize should both empty or both non-empty"
	}
	if f.CompressionType.set {
		switch f.CompressionType.s {
		case "NONE", "LZ4", "ZLIB", "ZSTD", "SNAPPY":
		default:
			return "Cannot deserialize value of type `org.apache.pulsar.common.api.proto.CompressionType` from String \"" +
				f.CompressionType.s + "\""
		}
		info.compression = f.CompressionType.s
		info.uncompressedSize = int(f.UncompressedMessageSize.v)
	}
	m.enc = info
	return ""
}

// renderEncryption returns e's encryptionContext; nil for plain entries
// and for readers.
func renderEncryption(e *entry, reader bool) *encryptionContext {
	if e.enc == nil || reader {
		return nil
	}
	return &encryptionContext{Keys: e.enc.keys, Param: e.enc.param, CompressionType: e.enc.compression,
		UncompressedMessageSize: e.enc.uncompressedSize}
}
