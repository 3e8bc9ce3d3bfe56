package msgcrypto

import (
	"errors"
	"testing"
)

func FuzzParsePublicKey(f *testing.F) {
	for _, p := range readPairs(f) {
		f.Add(readTestdata(f, p.pub))
	}
	f.Add(readTestdata(f, "ec_secp256k1_pub.pem"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := ParsePublicKey(b); err != nil {
			if !errors.Is(err, ErrKeyFormat) {
				t.Fatalf("error %v does not match ErrKeyFormat", err)
			}
		} else if k == nil {
			t.Fatal("nil key, nil error")
		}
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	for _, p := range readPairs(f) {
		f.Add(readTestdata(f, p.priv))
	}
	f.Add(readTestdata(f, "ec_secp256k1_explicit_priv.pem"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := ParsePrivateKey(b); err != nil {
			if !errors.Is(err, ErrKeyFormat) {
				t.Fatalf("error %v does not match ErrKeyFormat", err)
			}
		} else if k == nil {
			t.Fatal("nil key, nil error")
		}
	})
}

// FuzzUnwrapKey feeds arbitrary wrapped keys to every private key in
// testdata: no panic, and every failure is ErrUnwrap.
func FuzzUnwrapKey(f *testing.F) {
	vf := readVectors(f, readTestdata(f, "java_vectors.json"))
	for i, v := range vf.Vectors {
		if i%7 == 0 {
			f.Add(v.EncryptedDataKey)
		}
	}
	f.Add([]byte{4})
	f.Add([]byte{2, 1, 2, 3})
	var privs []any
	for _, p := range readPairs(f) {
		k, err := ParsePrivateKey(readTestdata(f, p.priv))
		if err != nil {
			f.Fatal(err)
		}
		privs = append(privs, k)
	}
	dk := make([]byte, DataKeySize)
	f.Fuzz(func(t *testing.T, w []byte) {
		for _, k := range privs {
			got, err := UnwrapKey(k, w)
			if err != nil && !errors.Is(err, ErrUnwrap) {
				t.Fatalf("error %v does not match ErrUnwrap", err)
			}
			if err == nil && len(got) != 16 && len(got) != 24 && len(got) != 32 {
				t.Fatalf("unwrapped %d bytes", len(got))
			}
		}
		// Opening with fuzzed bytes as IV and ciphertext must not panic either.
		if len(w) > 0 {
			if _, err := Open(dk, w[:min(len(w), IVSize)], w); err == nil {
				t.Log("fuzzed ciphertext authenticated") // possible only by a 2^-128 chance
			}
		}
	})
}
