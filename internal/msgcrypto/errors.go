package msgcrypto

import "errors"

// Errors returned by this package. Each is matched with errors.Is; the
// returned errors wrap them with the reason.
var (
	// ErrKeyFormat means a key could not be used: the PEM is malformed, the
	// key type or curve is not supported, or a data key or IV has the wrong
	// length.
	ErrKeyFormat = errors.New("msgcrypto: unusable key")

	// ErrUnwrap means a wrapped data key could not be unwrapped: it was
	// wrapped for another key, or it is corrupt.
	ErrUnwrap = errors.New("msgcrypto: cannot unwrap data key")

	// ErrDecrypt means a payload failed AES-GCM authentication: wrong data
	// key, wrong IV or corrupt ciphertext.
	ErrDecrypt = errors.New("msgcrypto: cannot decrypt payload")
)
