package msgcrypto

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWrapUnwrapRoundTrip(t *testing.T) {
	for _, kp := range readPairs(t) {
		t.Run(kp.name, func(t *testing.T) {
			pub, err := ParsePublicKey(readTestdata(t, kp.pub))
			if err != nil {
				t.Fatalf("ParsePublicKey: %v", err)
			}
			priv, err := ParsePrivateKey(readTestdata(t, kp.priv))
			if err != nil {
				t.Fatalf("ParsePrivateKey: %v", err)
			}
			dk, err := NewDataKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			w, err := WrapKey(rand.Reader, pub, dk)
			if err != nil {
				t.Fatalf("WrapKey: %v", err)
			}
			got, err := UnwrapKey(priv, w)
			if err != nil {
				t.Fatalf("UnwrapKey: %v", err)
			}
			if !bytes.Equal(got, dk) {
				t.Fatalf("UnwrapKey = %x, want %x", got, dk)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	dk, _ := NewDataKey(rand.Reader)
	iv, _ := NewIV(rand.Reader)
	pt := []byte("hello pulsar")
	ct, err := Seal(dk, iv, pt)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != len(pt)+16 {
		t.Fatalf("ciphertext is %d bytes, want %d", len(ct), len(pt)+16)
	}
	got, err := Open(dk, iv, ct)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	ct[0] ^= 1
	if _, err := Open(dk, iv, ct); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open of a flipped bit: %v, want ErrDecrypt", err)
	}
}
