package msgcrypto

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// The known-answer vectors in testdata/java_vectors.json were made by Pulsar
// 4.0.8's MessageCryptoBc (BouncyCastle) for the key pairs of
// testdata/javavectors/pairs.txt. Regenerate them with
//
//	internal/msgcrypto/testdata/javavectors/regenerate.sh
//
// (JDK 17+ and Maven; artifacts from Maven Central). The live check in both
// directions, Java → Go and Go → Java, is integration/msgcrypto_java_test.go.

// vectorFile is the JSON both the Java tool and Go write.
type vectorFile struct {
	Generator string    `json:"generator"`
	Vectors   []vector  `json:"vectors"`
	KeyLoads  []keyLoad `json:"keyLoads,omitempty"`
}

type vector struct {
	Name             string `json:"name"`
	KeyName          string `json:"keyName"`
	PublicKey        string `json:"publicKey"`
	PrivateKey       string `json:"privateKey"`
	DataKey          []byte `json:"dataKey"`
	EncryptedDataKey []byte `json:"encryptedDataKey"`
	IV               []byte `json:"iv"`
	Plaintext        []byte `json:"plaintext"`
	Ciphertext       []byte `json:"ciphertext"`
}

// keyLoad records whether MessageCryptoBc loaded a key file.
type keyLoad struct {
	File      string `json:"file"`
	Kind      string `json:"kind"`
	OK        bool   `json:"ok"`
	Algorithm string `json:"algorithm,omitempty"`
	Error     string `json:"error,omitempty"`
}

type pair struct{ name, pub, priv string }

func readPairs(t testing.TB) []pair {
	t.Helper()
	var out []pair
	sc := bufio.NewScanner(bytes.NewReader(readTestdata(t, "javavectors/pairs.txt")))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 3 {
			t.Fatalf("pairs.txt: bad line %q", sc.Text())
		}
		out = append(out, pair{f[0], f[1], f[2]})
	}
	if len(out) == 0 {
		t.Fatal("pairs.txt lists no key pairs")
	}
	return out
}

func readVectors(t testing.TB, data []byte) vectorFile {
	t.Helper()
	var vf vectorFile
	if err := json.Unmarshal(data, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return vf
}

// checkVector decrypts one Java vector in Go and re-encrypts its payload:
// AES-GCM is deterministic, so Seal must give Java's ciphertext exactly.
func checkVector(t *testing.T, v vector) {
	t.Helper()
	priv, err := ParsePrivateKey(readTestdata(t, v.PrivateKey))
	if err != nil {
		t.Fatalf("ParsePrivateKey(%s): %v", v.PrivateKey, err)
	}
	pub, err := ParsePublicKey(readTestdata(t, v.PublicKey))
	if err != nil {
		t.Fatalf("ParsePublicKey(%s): %v", v.PublicKey, err)
	}
	if !samePair(pub, priv) {
		t.Fatalf("%s is not the public key of %s", v.PublicKey, v.PrivateKey)
	}
	dk, err := UnwrapKey(priv, v.EncryptedDataKey)
	if err != nil {
		t.Fatalf("UnwrapKey: %v", err)
	}
	if !bytes.Equal(dk, v.DataKey) {
		t.Fatalf("UnwrapKey = %x, Java wrapped %x", dk, v.DataKey)
	}
	pt, err := Open(dk, v.IV, v.Ciphertext)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(pt, v.Plaintext) {
		t.Fatalf("Open = %d bytes that differ from Java's %d-byte plaintext", len(pt), len(v.Plaintext))
	}
	ct, err := Seal(v.DataKey, v.IV, v.Plaintext)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if !bytes.Equal(ct, v.Ciphertext) {
		t.Fatalf("Seal differs from MessageCryptoBc's ciphertext")
	}
}

func samePair(pub crypto.PublicKey, priv crypto.PrivateKey) bool {
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		return k.PublicKey.Equal(pub)
	case *ecdh.PrivateKey:
		return k.PublicKey().Equal(pub)
	}
	return false
}

func TestJavaVectors(t *testing.T) {
	vf := readVectors(t, readTestdata(t, "java_vectors.json"))
	if !strings.Contains(vf.Generator, "pulsar-client-messagecrypto-bc-4.0.8.jar") {
		t.Errorf("vectors made by %q, want pulsar-client-messagecrypto-bc-4.0.8", vf.Generator)
	}
	covered := map[string]int{}
	for _, v := range vf.Vectors {
		t.Run(v.Name, func(t *testing.T) { checkVector(t, v) })
		covered[v.KeyName]++
	}
	for _, p := range readPairs(t) {
		if covered["key-"+p.name] == 0 {
			t.Errorf("java_vectors.json has no vector for key pair %s: regenerate it", p.name)
		}
	}
}

// TestJavaKeyLoads: Go reads exactly the key files MessageCryptoBc read.
func TestJavaKeyLoads(t *testing.T) {
	vf := readVectors(t, readTestdata(t, "java_vectors.json"))
	if len(vf.KeyLoads) == 0 {
		t.Fatal("no keyLoads in java_vectors.json")
	}
	for _, l := range vf.KeyLoads {
		var err error
		if l.Kind == "public" {
			_, err = ParsePublicKey(readTestdata(t, l.File))
		} else {
			_, err = ParsePrivateKey(readTestdata(t, l.File))
		}
		if (err == nil) != l.OK {
			t.Errorf("%s key %s: Go error %v; Java ok=%v %s", l.Kind, l.File, err, l.OK, l.Error)
		}
	}
}

// TestJavaVectorsTampered: a flipped bit in Java's encrypted data key or
// ciphertext is detected, and another pair's private key does not unwrap.
func TestJavaVectorsTampered(t *testing.T) {
	vf := readVectors(t, readTestdata(t, "java_vectors.json"))
	privs := map[string]crypto.PrivateKey{}
	for _, v := range vf.Vectors {
		if _, ok := privs[v.PrivateKey]; !ok {
			k, err := ParsePrivateKey(readTestdata(t, v.PrivateKey))
			if err != nil {
				t.Fatal(err)
			}
			privs[v.PrivateKey] = k
		}
	}
	for _, v := range vf.Vectors {
		if len(v.Plaintext) == 0 {
			continue // an empty payload's ciphertext is only the tag: still checked below
		}
		t.Run(v.Name, func(t *testing.T) {
			priv := privs[v.PrivateKey]
			for _, i := range []int{0, len(v.EncryptedDataKey) / 2, len(v.EncryptedDataKey) - 1} {
				w := bytes.Clone(v.EncryptedDataKey)
				w[i] ^= 0x10
				if _, err := UnwrapKey(priv, w); !errors.Is(err, ErrUnwrap) {
					t.Errorf("UnwrapKey with byte %d flipped: %v, want ErrUnwrap", i, err)
				}
			}
			for name, other := range privs {
				if samePrivate(other, priv) {
					continue
				}
				if _, err := UnwrapKey(other, v.EncryptedDataKey); !errors.Is(err, ErrUnwrap) {
					t.Errorf("UnwrapKey with the key of %s: %v, want ErrUnwrap", name, err)
				}
			}
			for _, i := range []int{0, len(v.Ciphertext) - 1} {
				c := bytes.Clone(v.Ciphertext)
				c[i] ^= 0x01
				if _, err := Open(v.DataKey, v.IV, c); !errors.Is(err, ErrDecrypt) {
					t.Errorf("Open with byte %d flipped: %v, want ErrDecrypt", i, err)
				}
			}
			iv := bytes.Clone(v.IV)
			iv[0] ^= 1
			if _, err := Open(v.DataKey, iv, v.Ciphertext); !errors.Is(err, ErrDecrypt) {
				t.Errorf("Open with another IV: %v, want ErrDecrypt", err)
			}
		})
	}
}

func samePrivate(a, b crypto.PrivateKey) bool {
	type eq interface{ Equal(crypto.PrivateKey) bool }
	x, ok := a.(eq)
	return ok && x.Equal(b)
}
