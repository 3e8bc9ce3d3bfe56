package stargate

import (
	"errors"
	"maps"
	"os"
)

// CryptoKeyReader supplies the keys of end-to-end encryption, like the
// CryptoKeyReader of Pulsar's Java client: a producer asks for the public
// key of each of ProducerOptions.Encryption.Keys (at NewProducer and at
// every data-key rotation), a consumer asks for the private key of a key
// name a message was encrypted for (see ConsumerOptions.KeyReader).
//
// Keys are PEM, in the formats Pulsar's tools and openssl make: RSA
// ("RSA PUBLIC KEY"/"PUBLIC KEY", "RSA PRIVATE KEY"/"PRIVATE KEY") and EC
// ("PUBLIC KEY", "EC PRIVATE KEY"/"PRIVATE KEY", named or explicit curve
// parameters, P-256/P-384/P-521). metadata is what the producer's reader
// returned with the public key (it travels with each message); a consumer's
// reader may use it to pick the private key.
//
// Methods may be called from several goroutines at once.
type CryptoKeyReader interface {
	PublicKey(keyName string, metadata map[string]string) (EncryptionKeyInfo, error)
	PrivateKey(keyName string, metadata map[string]string) (EncryptionKeyInfo, error)
}

// EncryptionKeyInfo is a PEM key and the metadata that a producer sends
// along with the data key encrypted with it.
type EncryptionKeyInfo struct {
	Key      []byte
	Metadata map[string]string
}

// FileKeyReader is a CryptoKeyReader that reads one key pair from files for
// every key name, like the Java client's DefaultCryptoKeyReader. A
// producer needs only PublicKeyPath, a consumer only PrivateKeyPath. The
// files are read at every call, so that a replaced key is picked up at the
// next rotation.
type FileKeyReader struct {
	PublicKeyPath  string
	PrivateKeyPath string
	// Metadata is returned with the public key, and so sent with every
	// message (for example a key version).
	Metadata map[string]string
}

// PublicKey reads PublicKeyPath.
func (r FileKeyReader) PublicKey(string, map[string]string) (EncryptionKeyInfo, error) {
	return readKeyFile("PublicKeyPath", r.PublicKeyPath, r.Metadata)
}

// PrivateKey reads PrivateKeyPath.
func (r FileKeyReader) PrivateKey(string, map[string]string) (EncryptionKeyInfo, error) {
	return readKeyFile("PrivateKeyPath", r.PrivateKeyPath, nil)
}

func readKeyFile(field, path string, md map[string]string) (EncryptionKeyInfo, error) {
	if path == "" {
		return EncryptionKeyInfo{}, errors.New("stargate: FileKeyReader." + field + " is not set")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return EncryptionKeyInfo{}, err
	}
	return EncryptionKeyInfo{Key: b, Metadata: maps.Clone(md)}, nil
}

// StaticKeyReader is a CryptoKeyReader holding PEM keys in memory, by key
// name: Public for producers, Private for consumers. A name missing from
// the map is an error.
type StaticKeyReader struct {
	Public  map[string][]byte
	Private map[string][]byte
	// Metadata is returned with every public key.
	Metadata map[string]string
}

// PublicKey returns Public[keyName].
func (r StaticKeyReader) PublicKey(keyName string, _ map[string]string) (EncryptionKeyInfo, error) {
	k, ok := r.Public[keyName]
	if !ok {
		return EncryptionKeyInfo{}, errors.New("stargate: no public key named " + keyName)
	}
	return EncryptionKeyInfo{Key: k, Metadata: maps.Clone(r.Metadata)}, nil
}

// PrivateKey returns Private[keyName].
func (r StaticKeyReader) PrivateKey(keyName string, _ map[string]string) (EncryptionKeyInfo, error) {
	k, ok := r.Private[keyName]
	if !ok {
		return EncryptionKeyInfo{}, errors.New("stargate: no private key named " + keyName)
	}
	return EncryptionKeyInfo{Key: k}, nil
}
