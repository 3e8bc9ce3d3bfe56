package msgcrypto

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"fmt"
	"io"
)

// WrapKey encrypts dataKey for the holder of pub, as MessageCryptoBc does
// for each of a producer's encryption keys:
//
//   - *rsa.PublicKey: "RSA/None/OAEPWithSHA1AndMGF1Padding", that is
//     RSA-OAEP with SHA-1, MGF1 with SHA-1 and an empty label;
//   - *ecdh.PublicKey or *ecdsa.PublicKey (P-256, P-384, P-521):
//     BouncyCastle's "ECIES" with its default parameters (see the package
//     documentation).
//
// Other key types, and a dataKey that is not 16, 24 or 32 bytes, match
// ErrKeyFormat. Go 1.26 ignores rand for key generation and OAEP padding
// unless a test sets a global random source (testing/cryptotest); it is
// kept for the signature's sake and must not be nil.
func WrapKey(rand io.Reader, pub crypto.PublicKey, dataKey []byte) ([]byte, error) {
	switch len(dataKey) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("%w: data key is %d bytes, want 16, 24 or 32", ErrKeyFormat, len(dataKey))
	}
	if rand == nil {
		return nil, fmt.Errorf("msgcrypto: WrapKey: nil random source")
	}
	if k, ok := pub.(*rsa.PublicKey); ok {
		if k == nil || k.N == nil {
			return nil, fmt.Errorf("%w: nil RSA public key", ErrKeyFormat)
		}
		out, err := rsa.EncryptOAEP(sha1.New(), rand, k, dataKey, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: RSA-OAEP: %v", ErrKeyFormat, err)
		}
		return out, nil
	}
	k, ok, err := ecdhPub(pub)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: public key type %T is not RSA or EC", ErrKeyFormat, pub)
	}
	return eciesEncrypt(rand, k, dataKey)
}

// UnwrapKey reverses WrapKey with the private key matching the public key
// the data key was wrapped for: an *rsa.PrivateKey, or an *ecdh.PrivateKey
// or *ecdsa.PrivateKey. A data key wrapped for another key, or corrupt,
// matches ErrUnwrap (so does a result that is not an AES key); an
// unsupported key type matches ErrKeyFormat.
func UnwrapKey(priv crypto.PrivateKey, wrapped []byte) ([]byte, error) {
	var (
		key []byte
		err error
	)
	if k, ok := priv.(*rsa.PrivateKey); ok {
		if k == nil || k.N == nil {
			return nil, fmt.Errorf("%w: nil RSA private key", ErrKeyFormat)
		}
		key, err = rsa.DecryptOAEP(sha1.New(), nil, k, wrapped, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: RSA-OAEP: %v", ErrUnwrap, err)
		}
	} else {
		k, ok, err := ecdhPriv(priv)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: private key type %T is not RSA or EC", ErrKeyFormat, priv)
		}
		key, err = eciesDecrypt(k, wrapped)
		if err != nil {
			return nil, err
		}
	}
	switch len(key) {
	case 16, 24, 32:
		return key, nil
	default:
		return nil, fmt.Errorf("%w: unwrapped %d bytes, not an AES key", ErrUnwrap, len(key))
	}
}
