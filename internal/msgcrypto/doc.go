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
//     HMAC-SHA1 with a 128-bit key over C||L2; output V||C||T with the
//     ephemeral key V uncompressed; see ecies.go for the exact layout).
//   - Keys are PEM as Pulsar's documentation generates them with OpenSSL,
//     including EC keys with explicit curve parameters (`-param_enc
//     explicit`) and a leading "EC PARAMETERS" block, which Go's crypto/x509
//     cannot read: explicit parameters are matched to the named curve they
//     equal. P-256, P-384 and P-521 are supported (crypto/ecdh); other
//     curves, secp256k1 among them, are not (Pulsar's own EC test keys are
//     secp521r1).
//
// Differences from Java: ParsePrivateKey also accepts PKCS #8 ("PRIVATE
// KEY"), which MessageCryptoBc.loadPrivateKey cannot read — and which
// `openssl genrsa` of OpenSSL 3 writes; use `openssl genrsa -traditional`
// for keys the Java client must read too. Compressed ephemeral EC points
// are accepted on unwrap, as BouncyCastle does; WrapKey writes uncompressed
// points, as BouncyCastle does.
//
// Compatibility is proven by known-answer vectors produced by the real Java
// code (testdata/javavectors, a small Maven project; see javavectors_test.go
// for how to regenerate them and for the live check).
package msgcrypto
