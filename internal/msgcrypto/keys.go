package msgcrypto

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
)

// ParsePublicKey parses a PEM public key as MessageCryptoBc.loadPublicKey
// does: a "PUBLIC KEY" (X.509 SubjectPublicKeyInfo, what `openssl rsa
// -pubout` and `openssl ec -pubout` write), an "RSA PUBLIC KEY" (PKCS #1)
// or a "CERTIFICATE", optionally preceded by an "EC PARAMETERS" block whose
// curve then applies to the key. EC curves may be named or explicit
// (`-param_enc explicit`); explicit parameters must equal P-256, P-384 or
// P-521. It returns an *rsa.PublicKey or an *ecdh.PublicKey. Anything else
// matches ErrKeyFormat.
func ParsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	params, block, err := firstKeyBlock(pemBytes)
	if err != nil {
		return nil, err
	}
	var spki []byte
	switch block.Type {
	case "PUBLIC KEY":
		spki = block.Bytes
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: RSA PUBLIC KEY: %v", ErrKeyFormat, err)
		}
		return k, nil
	case "CERTIFICATE":
		spki, err = certificateSPKI(block.Bytes)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a public key or certificate", ErrKeyFormat, block.Type)
	}
	return parseSPKI(spki, params)
}

// ParsePrivateKey parses a PEM private key as MessageCryptoBc.loadPrivateKey
// does (4.0.8): an "RSA PRIVATE KEY" (PKCS #1, `openssl genrsa` of OpenSSL
// 1.x), an "EC PRIVATE KEY" (SEC 1, `openssl ecparam -genkey`) or a
// "PRIVATE KEY" (PKCS #8, what `openssl genrsa` of OpenSSL 3 writes),
// optionally preceded by an "EC PARAMETERS" block whose curve then applies
// to the key. It returns an *rsa.PrivateKey or an *ecdh.PrivateKey;
// encrypted keys, unsupported key types and curves match ErrKeyFormat.
func ParsePrivateKey(pemBytes []byte) (crypto.PrivateKey, error) {
	params, block, err := firstKeyBlock(pemBytes)
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: RSA PRIVATE KEY: %v", ErrKeyFormat, err)
		}
		return k, nil
	case "EC PRIVATE KEY":
		return parseSEC1(block.Bytes, params)
	case "PRIVATE KEY":
		return parsePKCS8(block.Bytes, params)
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("%w: the private key is encrypted (a passphrase-protected key is not supported)", ErrKeyFormat)
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a private key", ErrKeyFormat, block.Type)
	}
}

// firstKeyBlock returns the DER of a leading "EC PARAMETERS" block (nil if
// there is none) and the block after it.
func firstKeyBlock(pemBytes []byte) (params []byte, block *pem.Block, err error) {
	block, rest := pem.Decode(pemBytes)
	if block == nil {
		return nil, nil, fmt.Errorf("%w: no PEM block found", ErrKeyFormat)
	}
	if block.Type == "EC PARAMETERS" {
		params = block.Bytes
		block, _ = pem.Decode(rest)
		if block == nil {
			return nil, nil, fmt.Errorf("%w: an EC PARAMETERS block but no key after it", ErrKeyFormat)
		}
	}
	if _, ok := block.Headers["Proc-Type"]; ok {
		return nil, nil, fmt.Errorf("%w: PEM block %q is encrypted (a passphrase-protected key is not supported)", ErrKeyFormat, block.Type)
	}
	return params, block, nil
}

type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

func parseSPKI(der, params []byte) (crypto.PublicKey, error) {
	var info subjectPublicKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("%w: public key: %v", ErrKeyFormat, err)
	} else if len(rest) != 0 {
		return nil, fmt.Errorf("%w: public key: trailing data", ErrKeyFormat)
	}
	switch alg := info.Algorithm.Algorithm; {
	case alg.Equal(oidRSA):
		k, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return nil, fmt.Errorf("%w: RSA public key: %v", ErrKeyFormat, err)
		}
		return k, nil
	case alg.Equal(oidECPublicKey):
		if params == nil {
			params = info.Algorithm.Parameters.FullBytes
		}
		c, err := curveFromParams(params)
		if err != nil {
			return nil, err
		}
		return ecdhPublicKey(c, info.PublicKey.RightAlign())
	default:
		return nil, fmt.Errorf("%w: public key algorithm %s is not RSA or EC", ErrKeyFormat, alg)
	}
}

func ecdhPublicKey(c namedCurve, point []byte) (*ecdh.PublicKey, error) {
	p, err := uncompressed(c.params, point)
	if err != nil {
		return nil, fmt.Errorf("%w: EC public key on %s: %v", ErrKeyFormat, c.name, err)
	}
	k, err := c.ecdh.NewPublicKey(p)
	if err != nil {
		return nil, fmt.Errorf("%w: EC public key on %s: %v", ErrKeyFormat, c.name, err)
	}
	return k, nil
}

// certificateSPKI returns the SubjectPublicKeyInfo of a DER certificate
// without crypto/x509, which rejects explicit EC parameters.
func certificateSPKI(der []byte) ([]byte, error) {
	var cert struct {
		TBS      asn1.RawValue
		SigAlg   asn1.RawValue
		SigValue asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &cert); err != nil {
		return nil, fmt.Errorf("%w: CERTIFICATE: %v", ErrKeyFormat, err)
	}
	rest := cert.TBS.Bytes
	// version [0] (optional), serialNumber, signature, issuer, validity,
	// subject, subjectPublicKeyInfo.
	for i := 0; ; i++ {
		var field asn1.RawValue
		var err error
		rest, err = asn1.Unmarshal(rest, &field)
		if err != nil {
			return nil, fmt.Errorf("%w: CERTIFICATE: %v", ErrKeyFormat, err)
		}
		if i == 0 && field.Class == asn1.ClassContextSpecific && field.Tag == 0 {
			i--
			continue
		}
		if i == 5 {
			return field.FullBytes, nil
		}
	}
}

// ecPrivateKey is SEC 1's ECPrivateKey.
type ecPrivateKey struct {
	Version    int
	PrivateKey []byte
	Params     asn1.RawValue `asn1:"optional,tag:0"` // [0] EXPLICIT ECParameters: Bytes is the inner DER
	PublicKey  asn1.RawValue `asn1:"optional,tag:1"` // [1] EXPLICIT BIT STRING, unused
}

// parseSEC1 parses an ECPrivateKey; params, if not nil, overrides the
// key's own curve (as an EC PARAMETERS block or PKCS #8's algorithm
// parameters do).
func parseSEC1(der, params []byte) (*ecdh.PrivateKey, error) {
	var k ecPrivateKey
	if rest, err := asn1.Unmarshal(der, &k); err != nil {
		return nil, fmt.Errorf("%w: EC private key: %v", ErrKeyFormat, err)
	} else if len(rest) != 0 {
		return nil, fmt.Errorf("%w: EC private key: trailing data", ErrKeyFormat)
	}
	if k.Version != 1 {
		return nil, fmt.Errorf("%w: EC private key version %d, want 1", ErrKeyFormat, k.Version)
	}
	if params == nil && len(k.Params.FullBytes) != 0 {
		params = k.Params.Bytes
	}
	if len(params) == 0 {
		return nil, fmt.Errorf("%w: EC private key names no curve", ErrKeyFormat)
	}
	c, err := curveFromParams(params)
	if err != nil {
		return nil, err
	}
	size := (c.params.N.BitLen() + 7) / 8
	d := k.PrivateKey
	for len(d) > size && d[0] == 0 {
		d = d[1:]
	}
	if len(d) > size {
		return nil, fmt.Errorf("%w: EC private key is %d bytes, too long for %s", ErrKeyFormat, len(k.PrivateKey), c.name)
	}
	padded := make([]byte, size)
	copy(padded[size-len(d):], d)
	priv, err := c.ecdh.NewPrivateKey(padded)
	if err != nil {
		return nil, fmt.Errorf("%w: EC private key on %s: %v", ErrKeyFormat, c.name, err)
	}
	return priv, nil
}

type pkcs8 struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
	Attributes asn1.RawValue  `asn1:"optional,tag:0"`
	PublicKey  asn1.BitString `asn1:"optional,tag:1"`
}

func parsePKCS8(der, params []byte) (crypto.PrivateKey, error) {
	var k pkcs8
	if rest, err := asn1.Unmarshal(der, &k); err != nil {
		return nil, fmt.Errorf("%w: PRIVATE KEY: %v", ErrKeyFormat, err)
	} else if len(rest) != 0 {
		return nil, fmt.Errorf("%w: PRIVATE KEY: trailing data", ErrKeyFormat)
	}
	switch alg := k.Algorithm.Algorithm; {
	case alg.Equal(oidRSA):
		key, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("%w: RSA PRIVATE KEY (PKCS #8): %v", ErrKeyFormat, err)
		}
		return key, nil
	case alg.Equal(oidECPublicKey):
		if params == nil {
			params = k.Algorithm.Parameters.FullBytes
		}
		return parseSEC1(k.PrivateKey, params)
	default:
		return nil, fmt.Errorf("%w: private key algorithm %s is not RSA or EC", ErrKeyFormat, alg)
	}
}

// ecdhPub and ecdhPriv accept the crypto/ecdsa forms of EC keys too.
func ecdhPub(k crypto.PublicKey) (*ecdh.PublicKey, bool, error) {
	switch k := k.(type) {
	case *ecdh.PublicKey:
		if k == nil {
			return nil, true, fmt.Errorf("%w: nil EC public key", ErrKeyFormat)
		}
		return k, true, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return nil, true, fmt.Errorf("%w: nil EC public key", ErrKeyFormat)
		}
		p, err := k.ECDH()
		if err != nil {
			return nil, true, fmt.Errorf("%w: %v", ErrKeyFormat, err)
		}
		return p, true, nil
	}
	return nil, false, nil
}

func ecdhPriv(k crypto.PrivateKey) (*ecdh.PrivateKey, bool, error) {
	switch k := k.(type) {
	case *ecdh.PrivateKey:
		if k == nil {
			return nil, true, fmt.Errorf("%w: nil EC private key", ErrKeyFormat)
		}
		return k, true, nil
	case *ecdsa.PrivateKey:
		if k == nil || k.Curve == nil {
			return nil, true, fmt.Errorf("%w: nil EC private key", ErrKeyFormat)
		}
		p, err := k.ECDH()
		if err != nil {
			return nil, true, fmt.Errorf("%w: %v", ErrKeyFormat, err)
		}
		return p, true, nil
	}
	return nil, false, nil
}
