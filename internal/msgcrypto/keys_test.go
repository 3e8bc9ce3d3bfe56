package msgcrypto

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestParseKeyTypes(t *testing.T) {
	for _, p := range readPairs(t) {
		t.Run(p.name, func(t *testing.T) {
			pub, err := ParsePublicKey(readTestdata(t, p.pub))
			if err != nil {
				t.Fatal(err)
			}
			priv, err := ParsePrivateKey(readTestdata(t, p.priv))
			if err != nil {
				t.Fatal(err)
			}
			wantRSA := strings.HasPrefix(p.name, "rsa") || strings.HasPrefix(p.name, "pulsar-rsa")
			switch pub.(type) {
			case *rsa.PublicKey:
				if !wantRSA {
					t.Fatalf("public key is RSA")
				}
			case *ecdh.PublicKey:
				if wantRSA {
					t.Fatalf("public key is EC")
				}
			default:
				t.Fatalf("public key type %T", pub)
			}
			if !samePair(pub, priv) {
				t.Fatalf("%s and %s are not a pair", p.pub, p.priv)
			}
		})
	}
}

func TestParseExplicitCurve(t *testing.T) {
	for file, want := range map[string]ecdh.Curve{
		"ec521_pub.pem":                      ecdh.P521(),
		"ec521_cert.pem":                     ecdh.P521(),
		"pulsar/public-key.client-ecdsa.pem": ecdh.P521(),
		"ec384_pub.pem":                      ecdh.P384(),
		"ec256_pub_params.pem":               ecdh.P256(),
	} {
		k, err := ParsePublicKey(readTestdata(t, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if got := k.(*ecdh.PublicKey).Curve(); got != want {
			t.Errorf("%s: curve %v, want %v", file, got, want)
		}
	}
}

func TestParseKeyErrors(t *testing.T) {
	rsaPub := readTestdata(t, "rsa_pub.pem")
	cases := []struct {
		name, pem string
		public    bool
		reason    string // part of the error message
	}{
		{"empty", "", true, "no PEM block"},
		{"garbage", "not a key at all", false, "no PEM block"},
		{"garbage base64", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", true, "public key"},
		{"truncated", string(rsaPub[:len(rsaPub)/2]), true, "no PEM block"},
		{"private as public", string(readTestdata(t, "rsa_priv.pem")), true, "not a public key"},
		{"public as private", string(rsaPub), false, "not a private key"},
		{"secp256k1 public", string(readTestdata(t, "ec_secp256k1_pub.pem")), true, "secp256k1"},
		{"secp256k1 private", string(readTestdata(t, "ec_secp256k1_priv.pem")), false, "secp256k1"},
		{"secp256k1 explicit", string(readTestdata(t, "ec_secp256k1_explicit_priv.pem")), false, "match none"},
		{"ed25519 public", string(readTestdata(t, "ed25519_pub.pem")), true, "not RSA or EC"},
		{"ed25519 private", string(readTestdata(t, "ed25519_priv.pem")), false, "not RSA or EC"},
		{"encrypted PKCS#1", string(readTestdata(t, "rsa_priv_encrypted.pem")), false, "encrypted"},
		{"encrypted PKCS#8", string(readTestdata(t, "rsa_priv_pkcs8_encrypted.pem")), false, "encrypted"},
		{"params block only", "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n", true, "no key after it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.public {
				_, err = ParsePublicKey([]byte(c.pem))
			} else {
				_, err = ParsePrivateKey([]byte(c.pem))
			}
			if !errors.Is(err, ErrKeyFormat) {
				t.Fatalf("err = %v, want ErrKeyFormat", err)
			}
			if !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("err = %q, want it to say %q", err, c.reason)
			}
		})
	}
}

// TestParseCompressedPoint: a public key with a compressed point (openssl ec
// -conv_form compressed) parses to the same key.
func TestParseCompressedPoint(t *testing.T) {
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		var info subjectPublicKeyInfo
		if _, err := asn1.Unmarshal(der, &info); err != nil {
			t.Fatal(err)
		}
		comp := elliptic.MarshalCompressed(c, k.X, k.Y)
		info.PublicKey.Bytes, info.PublicKey.BitLength = comp, 8*len(comp)
		der2, err := asn1.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der2}))
		if err != nil {
			t.Fatalf("%s: %v", c.Params().Name, err)
		}
		want, _ := k.PublicKey.ECDH()
		if !want.Equal(got) {
			t.Fatalf("%s: compressed point parsed to another key", c.Params().Name)
		}
	}
}

func TestWrapKeyErrors(t *testing.T) {
	pub, err := ParsePublicKey(readTestdata(t, "ec256_pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WrapKey(rand.Reader, pub, make([]byte, 31)); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("31-byte data key: %v, want ErrKeyFormat", err)
	}
	if _, err := WrapKey(rand.Reader, "a string", make([]byte, 32)); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("string key: %v, want ErrKeyFormat", err)
	}
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	if _, err := WrapKey(rand.Reader, x.PublicKey(), make([]byte, 32)); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("X25519 key: %v, want ErrKeyFormat", err)
	}
	if _, err := UnwrapKey(x, make([]byte, 100)); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("X25519 private key: %v, want ErrKeyFormat", err)
	}
	for _, k := range []any{(*ecdh.PublicKey)(nil), (*ecdsa.PublicKey)(nil), (*rsa.PublicKey)(nil), nil} {
		if _, err := WrapKey(rand.Reader, k, make([]byte, 32)); !errors.Is(err, ErrKeyFormat) {
			t.Errorf("WrapKey with %T(nil): %v, want ErrKeyFormat", k, err)
		}
	}
	for _, k := range []any{(*ecdh.PrivateKey)(nil), (*ecdsa.PrivateKey)(nil), (*rsa.PrivateKey)(nil), nil} {
		if _, err := UnwrapKey(k, make([]byte, 100)); !errors.Is(err, ErrKeyFormat) {
			t.Errorf("UnwrapKey with %T(nil): %v, want ErrKeyFormat", k, err)
		}
	}
	if _, err := UnwrapKey(42, make([]byte, 100)); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("int key: %v, want ErrKeyFormat", err)
	}
}

// TestWrapKeyECDSAForms: crypto/ecdsa keys work as their crypto/ecdh forms.
func TestWrapKeyECDSAForms(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dk, _ := NewDataKey(rand.Reader)
	w, err := WrapKey(rand.Reader, &k.PublicKey, dk)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 1+2*48+len(dk)+20 {
		t.Fatalf("wrapped key is %d bytes, want V(97)+C(32)+T(20)", len(w))
	}
	got, err := UnwrapKey(k, w)
	if err != nil || string(got) != string(dk) {
		t.Fatalf("UnwrapKey = %x, %v", got, err)
	}
}

func TestUnwrapWrongKey(t *testing.T) {
	dk, _ := NewDataKey(rand.Reader)
	for _, c := range [][2]string{
		{"rsa_pub.pem", "pulsar/private-key.client-rsa-pkcs8.pem"},
		{"ec521_pub.pem", "pulsar/private-key.client-ecdsa.pem"},
		{"ec256_pub.pem", "ec521_priv.pem"}, // other curve: the ephemeral key does not fit
		{"ec256_pub.pem", "rsa_priv.pem"},
		{"rsa_pub.pem", "ec256_priv.pem"},
	} {
		pub, err := ParsePublicKey(readTestdata(t, c[0]))
		if err != nil {
			t.Fatal(err)
		}
		priv, err := ParsePrivateKey(readTestdata(t, c[1]))
		if err != nil {
			t.Fatal(err)
		}
		w, err := WrapKey(rand.Reader, pub, dk)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := UnwrapKey(priv, w); !errors.Is(err, ErrUnwrap) {
			t.Errorf("wrapped for %s, unwrapped with %s: %v, want ErrUnwrap", c[0], c[1], err)
		}
	}
}

func TestSealOpenErrors(t *testing.T) {
	dk, _ := NewDataKey(rand.Reader)
	iv, _ := NewIV(rand.Reader)
	if _, err := Seal(dk[:20], iv, nil); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("Seal with a 20-byte key: %v, want ErrKeyFormat", err)
	}
	if _, err := Seal(dk, iv[:8], nil); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("Seal with an 8-byte IV: %v, want ErrKeyFormat", err)
	}
	if _, err := Open(dk, nil, make([]byte, 32)); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("Open with no IV: %v, want ErrKeyFormat", err)
	}
	if _, err := Open(dk, iv, make([]byte, 15)); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Open of 15 bytes: %v, want ErrDecrypt", err)
	}
	other, _ := NewDataKey(rand.Reader)
	ct, _ := Seal(dk, iv, []byte("payload"))
	if _, err := Open(other, iv, ct); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Open with another data key: %v, want ErrDecrypt", err)
	}
	if _, err := NewDataKey(strings.NewReader("short")); err == nil {
		t.Error("NewDataKey from a 5-byte reader: no error")
	}
	if _, err := NewIV(nil); err == nil {
		t.Error("NewIV(nil): no error")
	}
}
