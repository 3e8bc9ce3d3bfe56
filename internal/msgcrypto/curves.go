package msgcrypto

import (
	"crypto/ecdh"
	"crypto/elliptic"
	"encoding/asn1"
	"fmt"
	"math/big"
)

// A curve this package can use for ECIES: a crypto/ecdh curve and its
// domain parameters, to match explicit parameters against.
type namedCurve struct {
	name   string
	oid    asn1.ObjectIdentifier
	ecdh   ecdh.Curve
	params *elliptic.CurveParams
}

var (
	oidP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521 = asn1.ObjectIdentifier{1, 3, 132, 0, 35}

	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidPrimeField  = asn1.ObjectIdentifier{1, 2, 840, 10045, 1, 1}
	oidRSA         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
)

// supportedCurves lists the curves crypto/ecdh implements. Pulsar's own
// EC test keys (secp521r1 with explicit parameters) are among them.
func supportedCurves() []namedCurve {
	return []namedCurve{
		{"P-256", oidP256, ecdh.P256(), elliptic.P256().Params()},
		{"P-384", oidP384, ecdh.P384(), elliptic.P384().Params()},
		{"P-521", oidP521, ecdh.P521(), elliptic.P521().Params()},
	}
}

// unsupportedCurveNames names a few curves OpenSSL offers that crypto/ecdh
// does not, for clearer errors.
var unsupportedCurveNames = map[string]string{
	"1.3.132.0.10":          "secp256k1",
	"1.3.132.0.33":          "secp224r1",
	"1.2.840.10045.3.1.1":   "prime192v1",
	"1.3.36.3.3.2.8.1.1.7":  "brainpoolP256r1",
	"1.3.36.3.3.2.8.1.1.11": "brainpoolP384r1",
	"1.3.36.3.3.2.8.1.1.13": "brainpoolP512r1",
}

func curveByOID(oid asn1.ObjectIdentifier) (namedCurve, error) {
	for _, c := range supportedCurves() {
		if c.oid.Equal(oid) {
			return c, nil
		}
	}
	if name, ok := unsupportedCurveNames[oid.String()]; ok {
		return namedCurve{}, fmt.Errorf("%w: EC curve %s (%s) is not supported (P-256, P-384 and P-521 are)", ErrKeyFormat, name, oid)
	}
	return namedCurve{}, fmt.Errorf("%w: EC curve %s is not supported (P-256, P-384 and P-521 are)", ErrKeyFormat, oid)
}

// ecParameters is SEC 1's ECParameters, the explicit form of a curve, as
// `openssl ecparam -param_enc explicit` writes it.
type ecParameters struct {
	Version int
	FieldID struct {
		FieldType  asn1.ObjectIdentifier
		Parameters asn1.RawValue
	}
	Curve struct {
		A, B []byte
		Seed asn1.BitString `asn1:"optional"`
	}
	Base     []byte
	Order    *big.Int
	Cofactor *big.Int `asn1:"optional"`
}

// curveFromParams resolves the DER of an ECParameters CHOICE: a named
// curve's OID, or explicit parameters, which must equal those of a
// supported named curve (Go's crypto/x509 rejects explicit parameters;
// Pulsar's documented key generation command writes them).
func curveFromParams(der []byte) (namedCurve, error) {
	var raw asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &raw); err != nil {
		return namedCurve{}, fmt.Errorf("%w: EC parameters: %v", ErrKeyFormat, err)
	} else if len(rest) != 0 {
		return namedCurve{}, fmt.Errorf("%w: EC parameters: trailing data", ErrKeyFormat)
	}
	switch {
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagOID:
		var oid asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(der, &oid); err != nil {
			return namedCurve{}, fmt.Errorf("%w: EC curve OID: %v", ErrKeyFormat, err)
		}
		return curveByOID(oid)
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagSequence:
		return curveFromExplicit(der)
	case raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagNull:
		return namedCurve{}, fmt.Errorf("%w: EC parameters are implicitlyCA (NULL): no curve given", ErrKeyFormat)
	default:
		return namedCurve{}, fmt.Errorf("%w: EC parameters: unexpected ASN.1 tag %d", ErrKeyFormat, raw.Tag)
	}
}

func curveFromExplicit(der []byte) (namedCurve, error) {
	var p ecParameters
	if rest, err := asn1.Unmarshal(der, &p); err != nil {
		return namedCurve{}, fmt.Errorf("%w: explicit EC parameters: %v", ErrKeyFormat, err)
	} else if len(rest) != 0 {
		return namedCurve{}, fmt.Errorf("%w: explicit EC parameters: trailing data", ErrKeyFormat)
	}
	if !p.FieldID.FieldType.Equal(oidPrimeField) {
		return namedCurve{}, fmt.Errorf("%w: explicit EC parameters over field type %s: only prime fields are supported", ErrKeyFormat, p.FieldID.FieldType)
	}
	prime := new(big.Int)
	if _, err := asn1.Unmarshal(p.FieldID.Parameters.FullBytes, &prime); err != nil {
		return namedCurve{}, fmt.Errorf("%w: explicit EC parameters: prime: %v", ErrKeyFormat, err)
	}
	if p.Order == nil {
		return namedCurve{}, fmt.Errorf("%w: explicit EC parameters: no order", ErrKeyFormat)
	}
	if p.Cofactor != nil && p.Cofactor.Cmp(big.NewInt(1)) != 0 {
		return namedCurve{}, fmt.Errorf("%w: explicit EC parameters with cofactor %s: no supported curve has it", ErrKeyFormat, p.Cofactor)
	}
	a := new(big.Int).SetBytes(p.Curve.A)
	b := new(big.Int).SetBytes(p.Curve.B)
	for _, c := range supportedCurves() {
		cp := c.params
		minus3 := new(big.Int).Sub(cp.P, big.NewInt(3)) // a = -3 on the NIST curves
		if prime.Cmp(cp.P) != 0 || a.Cmp(minus3) != 0 || b.Cmp(cp.B) != 0 || p.Order.Cmp(cp.N) != 0 {
			continue
		}
		gx, gy, err := decodePoint(cp, p.Base)
		if err != nil {
			return namedCurve{}, fmt.Errorf("%w: explicit EC parameters: generator: %v", ErrKeyFormat, err)
		}
		if gx.Cmp(cp.Gx) != 0 || gy.Cmp(cp.Gy) != 0 {
			continue
		}
		return c, nil
	}
	return namedCurve{}, fmt.Errorf("%w: explicit EC parameters (%d-bit prime) match none of the supported curves P-256, P-384, P-521", ErrKeyFormat, prime.BitLen())
}

// decodePoint decodes an uncompressed (04), compressed (02, 03) or hybrid
// (06, 07) SEC 1 point on c, checking that it lies on the curve.
func decodePoint(c *elliptic.CurveParams, b []byte) (x, y *big.Int, err error) {
	size := (c.BitSize + 7) / 8
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("empty point")
	}
	switch b[0] {
	case 4, 6, 7:
		if len(b) != 1+2*size {
			return nil, nil, fmt.Errorf("point is %d bytes, want %d", len(b), 1+2*size)
		}
		x = new(big.Int).SetBytes(b[1 : 1+size])
		y = new(big.Int).SetBytes(b[1+size:])
		if b[0] != 4 && y.Bit(0) != uint(b[0]&1) {
			return nil, nil, fmt.Errorf("hybrid point with wrong parity")
		}
	case 2, 3:
		if len(b) != 1+size {
			return nil, nil, fmt.Errorf("compressed point is %d bytes, want %d", len(b), 1+size)
		}
		x = new(big.Int).SetBytes(b[1:])
		if x.Cmp(c.P) >= 0 {
			return nil, nil, fmt.Errorf("point not on the curve")
		}
		y = new(big.Int).ModSqrt(rhs(c, x), c.P)
		if y == nil {
			return nil, nil, fmt.Errorf("point not on the curve")
		}
		if y.Bit(0) != uint(b[0]&1) {
			y.Sub(c.P, y)
		}
	default:
		return nil, nil, fmt.Errorf("unknown point encoding 0x%02x", b[0])
	}
	if x.Cmp(c.P) >= 0 || y.Cmp(c.P) >= 0 {
		return nil, nil, fmt.Errorf("point not on the curve")
	}
	y2 := new(big.Int).Mul(y, y)
	y2.Mod(y2, c.P)
	if y2.Cmp(rhs(c, x)) != 0 {
		return nil, nil, fmt.Errorf("point not on the curve")
	}
	return x, y, nil
}

// rhs is x³ - 3x + b mod p.
func rhs(c *elliptic.CurveParams, x *big.Int) *big.Int {
	r := new(big.Int).Mul(x, x)
	r.Mul(r, x)
	r.Sub(r, new(big.Int).Lsh(x, 1))
	r.Sub(r, x)
	r.Add(r, c.B)
	return r.Mod(r, c.P)
}

// uncompressed returns the 04 || X || Y encoding of a point given in any
// SEC 1 form, which is what crypto/ecdh accepts.
func uncompressed(c *elliptic.CurveParams, b []byte) ([]byte, error) {
	if len(b) > 0 && b[0] == 4 {
		return b, nil
	}
	x, y, err := decodePoint(c, b)
	if err != nil {
		return nil, err
	}
	size := (c.BitSize + 7) / 8
	out := make([]byte, 1+2*size)
	out[0] = 4
	x.FillBytes(out[1 : 1+size])
	y.FillBytes(out[1+size:])
	return out, nil
}
