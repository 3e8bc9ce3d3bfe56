package msgcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"io"
)

// DataKeySize is the length in bytes of the data keys NewDataKey makes:
// AES-256, as MessageCryptoBc's KeyGenerator (init 256).
const DataKeySize = 32

// IVSize is the length in bytes of the AES-GCM nonce (the message's
// encryption_param) that NewIV makes and Seal requires. The 16-byte GCM tag
// is appended to the ciphertext.
const IVSize = 12

// tagSize is the GCM tag length: MessageCryptoBc's GCMParameterSpec(128, iv).
const tagSize = 16

// NewDataKey returns DataKeySize random bytes read from rand.
func NewDataKey(rand io.Reader) ([]byte, error) {
	return readRandom(rand, DataKeySize, "data key")
}

// NewIV returns IVSize random bytes read from rand. A data key must never be
// used twice with the same IV; random 96-bit IVs are what the Java client
// uses.
func NewIV(rand io.Reader) ([]byte, error) {
	return readRandom(rand, IVSize, "IV")
}

func readRandom(rand io.Reader, n int, what string) ([]byte, error) {
	if rand == nil {
		return nil, fmt.Errorf("msgcrypto: %s: nil random source", what)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(rand, b); err != nil {
		return nil, fmt.Errorf("msgcrypto: reading random %s: %w", what, err)
	}
	return b, nil
}

// Seal encrypts plaintext with AES-GCM ("AES/GCM/NoPadding", 128-bit tag,
// no additional data) and returns the ciphertext with the tag appended, as
// MessageCryptoBc sends a payload. dataKey is an AES key (16, 24 or 32
// bytes; the Java client makes 32) and iv must be IVSize bytes; otherwise
// the error matches ErrKeyFormat.
func Seal(dataKey, iv, plaintext []byte) ([]byte, error) {
	if len(iv) != IVSize {
		return nil, fmt.Errorf("%w: IV is %d bytes, want %d", ErrKeyFormat, len(iv), IVSize)
	}
	aead, err := newGCM(dataKey, len(iv))
	if err != nil {
		return nil, err
	}
	return aead.Seal(make([]byte, 0, len(plaintext)+tagSize), iv, plaintext, nil), nil
}

// Open reverses Seal: it authenticates and decrypts ciphertext (with its
// 16-byte tag at the end). A failed authentication — wrong key or IV,
// corrupt or truncated ciphertext — matches ErrDecrypt; a dataKey that is
// not an AES key or an empty iv matches ErrKeyFormat. IVs of any length are
// accepted, as Java's GCMParameterSpec does, though Java producers send
// IVSize.
func Open(dataKey, iv, ciphertext []byte) ([]byte, error) {
	if len(iv) == 0 {
		return nil, fmt.Errorf("%w: empty IV", ErrKeyFormat)
	}
	aead, err := newGCM(dataKey, len(iv))
	if err != nil {
		return nil, err
	}
	if len(ciphertext) < tagSize {
		return nil, fmt.Errorf("%w: ciphertext is %d bytes, shorter than the %d-byte tag", ErrDecrypt, len(ciphertext), tagSize)
	}
	out, err := aead.Open(make([]byte, 0, len(ciphertext)-tagSize), iv, ciphertext, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return out, nil
}

func newGCM(dataKey []byte, ivSize int) (cipher.AEAD, error) {
	switch len(dataKey) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("%w: data key is %d bytes, want 16, 24 or 32", ErrKeyFormat, len(dataKey))
	}
	block, err := aes.NewCipher(dataKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFormat, err)
	}
	var aead cipher.AEAD
	if ivSize == IVSize {
		aead, err = cipher.NewGCM(block)
	} else {
		aead, err = cipher.NewGCMWithNonceSize(block, ivSize)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFormat, err)
	}
	return aead, nil
}
