package wsconn

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// TestAppendMaskedFrame checks the header for each length class and that
// unmasking with the key in the frame gives the payload back.
func TestAppendMaskedFrame(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 125, 126, 127, 1000, 65535, 65536, 70001} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i*7 + 3)
		}
		key := uint32(0x9e17c35a) + uint32(n)
		f := appendMaskedFrame([]byte("prefix"), p, key)
		if !bytes.HasPrefix(f, []byte("prefix")) {
			t.Fatalf("n=%d: prefix overwritten", n)
		}
		f = f[len("prefix"):]
		if f[0] != 0x81 || f[1]&0x80 == 0 {
			t.Fatalf("n=%d: first bytes %#x %#x, want a final masked text frame", n, f[0], f[1])
		}
		var got, hdr int
		switch l := int(f[1] & 0x7f); l {
		case 126:
			got, hdr = int(binary.BigEndian.Uint16(f[2:])), 4
		case 127:
			got, hdr = int(binary.BigEndian.Uint64(f[2:])), 10
		default:
			got, hdr = l, 2
		}
		if got != n || (n < 126) != (hdr == 2) || (n >= 1<<16) != (hdr == 10) {
			t.Fatalf("n=%d: length %d in a %d-byte header", n, got, hdr)
		}
		mask := f[hdr : hdr+4]
		body := f[hdr+4:]
		if len(body) != n {
			t.Fatalf("n=%d: body of %d bytes", n, len(body))
		}
		for i := range body {
			body[i] ^= mask[i&3]
		}
		if !bytes.Equal(body, p) {
			t.Fatalf("n=%d: unmasked body differs from the payload", n)
		}
	}
}
