// Package msgcrypto holds the cryptographic primitives of Pulsar end-to-end
// encryption, byte-compatible with the Java client's MessageCryptoBc
// (org.apache.pulsar:pulsar-client-messagecrypto-bc, BouncyCastle):
//
//   - The payload is encrypted with a data key, AES-GCM ("AES/GCM/NoPadding")
//     with a 12-byte random IV (sent as the message's encryption_param) and
//     a 16-byte tag appended to the ciphertext, no additional data. The Java
//     producer makes AES-256 data keys (KeyGenerator init 256).
//   - The data key is wrapped for each of the producer's public keys and
//     sent with the key's name and metadata: RSA keys with
//     "RSA/None/OAEPWithSHA1AndMGF1Padding" (RSA-OAEP, SHA-1, MGF1-SHA-1,
//     empty label); EC keys with BouncyCastle's "ECIES" cipher and its
//     default parameters (ECDH, KDF2-SHA1 over V||Z, an XOR stream, and
//     HMAC-SHA1 with a 128-bit key over C||L2, L2 eight zero bytes; output
//     V||C||T with the ephemeral key V uncompressed; see ecies.go for the
//     exact layout).
//   - Keys are PEM as Pulsar's documentation generates them with OpenSSL,
//     including EC keys with explicit curve parameters (`-param_enc
//     explicit`) and a leading "EC PARAMETERS" block, which Go's crypto/x509
//     cannot read: explicit parameters are matched to the named curve they
//     equal. P-256, P-384 and P-521 are supported (crypto/ecdh); other
//     curves are not (ErrKeyFormat), secp256k1 among them, although the
//     Java client (BouncyCastle) accepts it. Pulsar's own EC test keys are
//     secp521r1.
//
// The key files accepted are those MessageCryptoBc 4.0.8 accepts (the
// known-answer test checks each file in testdata both ways): PKCS #1, SEC 1
// and PKCS #8 private keys (`openssl genrsa` of OpenSSL 3 writes PKCS #8),
// X.509 public keys and certificates, PKCS #1 public keys. Unlike Java, Go
// rejects curves other than P-256, P-384 and P-521 and encrypted keys
// (ErrKeyFormat). Compressed ephemeral EC points are accepted on unwrap, as
// BouncyCastle does; WrapKey writes uncompressed points, as BouncyCastle
// does.
//
// Compatibility is proven by known-answer vectors produced by the real Java
// code (testdata/javavectors, a small Maven project; see javavectors_test.go
// for how to regenerate them and for the live check).
package msgcrypto
