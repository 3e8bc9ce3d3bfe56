package msgcrypto

import (
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
)

// BouncyCastle's "ECIES" cipher (IESCipher.ECIES) as MessageCryptoBc uses
// it, with the default IESParameterSpec: no derivation or encoding vector,
// a 128-bit MAC key and no block cipher. With the ephemeral public key V
// (uncompressed) and the shared secret Z (ECDH x-coordinate, field size):
//
//	K  = KDF2-SHA1(V || Z, 16 + len(M))      // IEEE 1363a KDF2, counter from 1
//	K2 = K[:16]; K1 = K[16:]                 // BC's split when V is not empty
//	C  = M XOR K1
//	T  = HMAC-SHA1(K2, C || L2)              // L2 = 8 zero bytes
//	out = V || C || T
//
// L2 is IESEngine.getLengthTag, the encoding vector's length in bits as a
// 64-bit big-endian number, here 0. It is 8 bytes (an older IESEngine in
// bc-java's history wrote 4); the known-answer vectors made with bcprov
// 1.78.1, which Pulsar 4.0.8 ships, confirm 8.
const (
	eciesMACKeySize = 16
	eciesMACSize    = sha1.Size
)

func eciesEncrypt(rand io.Reader, pub *ecdh.PublicKey, m []byte) ([]byte, error) {
	c, err := curveOf(pub.Curve())
	if err != nil {
		return nil, err
	}
	eph, err := pub.Curve().GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("msgcrypto: ECIES ephemeral key: %w", err)
	}
	z, err := eph.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: ECIES on %s: %v", ErrKeyFormat, c.name, err)
	}
	v := eph.PublicKey().Bytes()
	k1, k2 := eciesKeys(v, z, len(m))
	out := make([]byte, 0, len(v)+len(m)+eciesMACSize)
	out = append(out, v...)
	for i := range m {
		out = append(out, m[i]^k1[i])
	}
	out = append(out, eciesMAC(k2, out[len(v):])...)
	return out, nil
}

func eciesDecrypt(priv *ecdh.PrivateKey, in []byte) ([]byte, error) {
	c, err := curveOf(priv.Curve())
	if err != nil {
		return nil, err
	}
	size := (c.params.BitSize + 7) / 8
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: ECIES: empty", ErrUnwrap)
	}
	var vlen int
	switch in[0] {
	case 2, 3:
		vlen = 1 + size
	case 4, 6, 7:
		vlen = 1 + 2*size
	default:
		return nil, fmt.Errorf("%w: ECIES: ephemeral key has invalid point encoding 0x%02x", ErrUnwrap, in[0])
	}
	if len(in) < vlen+eciesMACSize {
		return nil, fmt.Errorf("%w: ECIES: %d bytes, too short for %s (%d-byte ephemeral key and %d-byte MAC)", ErrUnwrap, len(in), c.name, vlen, eciesMACSize)
	}
	v := in[:vlen]
	ct := in[vlen : len(in)-eciesMACSize]
	tag := in[len(in)-eciesMACSize:]
	point, err := uncompressed(c.params, v)
	if err != nil {
		return nil, fmt.Errorf("%w: ECIES: ephemeral key: %v", ErrUnwrap, err)
	}
	eph, err := priv.Curve().NewPublicKey(point)
	if err != nil {
		return nil, fmt.Errorf("%w: ECIES: ephemeral key: %v", ErrUnwrap, err)
	}
	z, err := priv.ECDH(eph)
	if err != nil {
		return nil, fmt.Errorf("%w: ECIES: %v", ErrUnwrap, err)
	}
	k1, k2 := eciesKeys(v, z, len(ct))
	if subtle.ConstantTimeCompare(eciesMAC(k2, ct), tag) != 1 {
		return nil, fmt.Errorf("%w: ECIES: invalid MAC (wrong private key or corrupt data key)", ErrUnwrap)
	}
	m := make([]byte, len(ct))
	for i := range ct {
		m[i] = ct[i] ^ k1[i]
	}
	return m, nil
}

// eciesKeys derives the XOR stream K1 (n bytes) and the MAC key K2.
func eciesKeys(v, z []byte, n int) (k1, k2 []byte) {
	k := kdf2SHA1(append(append(make([]byte, 0, len(v)+len(z)), v...), z...), eciesMACKeySize+n)
	return k[eciesMACKeySize:], k[:eciesMACKeySize]
}

func eciesMAC(key, c []byte) []byte {
	h := hmac.New(sha1.New, key)
	h.Write(c)
	h.Write(make([]byte, 8)) // L2: the encoding vector's bit length (64-bit), 0: there is none
	return h.Sum(nil)
}

// kdf2SHA1 is IEEE 1363a / ISO 18033-2 KDF2 with SHA-1 and no extra
// input: SHA1(shared || counter) for counter = 1, 2, … (32-bit big-endian).
func kdf2SHA1(shared []byte, n int) []byte {
	out := make([]byte, 0, n+sha1.Size)
	var ctr [4]byte
	for i := uint32(1); len(out) < n; i++ {
		binary.BigEndian.PutUint32(ctr[:], i)
		h := sha1.New()
		h.Write(shared)
		h.Write(ctr[:])
		out = h.Sum(out)
	}
	return out[:n]
}

func curveOf(c ecdh.Curve) (namedCurve, error) {
	for _, nc := range supportedCurves() {
		if nc.ecdh == c {
			return nc, nil
		}
	}
	return namedCurve{}, fmt.Errorf("%w: EC curve %v is not supported (P-256, P-384 and P-521 are)", ErrKeyFormat, c)
}
