package stargate

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestDecompressPulsarVectors: payloads compressed by Pulsar 4.0.8's own
// codecs (pulsar-common's CompressionCodecProvider, see
// testdata/compression/Vec.java, which printed the file) decompress to the
// original, and what compress writes comes back through decompress.
func TestDecompressPulsarVectors(t *testing.T) {
	f, err := os.Open("testdata/compression/pulsar-4.0.8.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vec := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, b64, _ := strings.Cut(sc.Text(), " ")
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		vec[name] = b
	}
	plain := vec["PLAIN"]
	if len(plain) == 0 || len(vec) != 5 {
		t.Fatalf("vectors: %d entries", len(vec))
	}
	for _, c := range []CompressionType{CompressionLZ4, CompressionZLib, CompressionZSTD, CompressionSnappy} {
		got, err := decompress(c, vec[c.String()], len(plain))
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%s: Pulsar's bytes decompress to %q, %v", c, got, err)
		}
		for _, in := range [][]byte{plain, {}, []byte("x"), randomish(5000)} {
			z, err := compress(c, in)
			if err != nil {
				t.Fatal(err)
			}
			back, err := decompress(c, z, len(in))
			if err != nil || !bytes.Equal(back, in) {
				t.Errorf("%s: round trip of %d bytes: %d bytes, %v", c, len(in), len(back), err)
			}
		}
		// A wrong size or corrupt bytes are errors, never a short payload.
		if _, err := decompress(c, vec[c.String()], len(plain)-1); !errors.Is(err, errCompression) {
			t.Errorf("%s: wrong size: %v", c, err)
		}
		bad := bytes.Clone(vec[c.String()])
		bad = bad[:len(bad)/2]
		if _, err := decompress(c, bad, len(plain)); !errors.Is(err, errCompression) {
			t.Errorf("%s: truncated: %v", c, err)
		}
	}
}

// randomish is incompressible-looking data without a random source.
func randomish(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}
