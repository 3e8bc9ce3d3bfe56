package stargate

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// This file holds the payload codecs of client-side encryption. With
// ProducerOptions.Encryption the server neither compresses nor decompresses
// (it sees only ciphertext), so the client compresses before encrypting and
// a consumer decompresses after decrypting, in the framing Pulsar's
// CompressionCodec classes use (pulsar-common 4.0.8):
//
//   - LZ4: one raw LZ4 block, no frame header (airlift Lz4Compressor);
//   - ZLIB: a zlib stream (java.util.zip.Deflater's default, 2-byte
//     header); Pulsar writes it with SYNC_FLUSH and never finishes it, so
//     it has no final block and no Adler-32 trailer, and reads until the
//     uncompressed size; the client writes complete streams, which Pulsar
//     reads too;
//   - ZSTD: one standard Zstandard frame;
//   - SNAPPY: one raw Snappy block, no framing format (airlift SnappyCompressor).
//
// The uncompressed size travels with the message (uncompressedMessageSize)
// and bounds the decompression.

// errCompression is wrapped by every decompression failure.
var errCompression = errors.New("bad compressed payload")

// compress returns b compressed with c; CompressionNone returns b itself.
func compress(c CompressionType, b []byte) ([]byte, error) {
	switch c {
	case CompressionNone:
		return b, nil
	case CompressionLZ4:
		dst := make([]byte, lz4.CompressBlockBound(len(b)))
		var comp lz4.Compressor
		n, err := comp.CompressBlock(b, dst)
		if err != nil {
			return nil, err
		}
		if n == 0 && len(b) > 0 { // incompressible: lz4 reports 0, Pulsar still sends a block
			return lz4LiteralBlock(b), nil
		}
		return dst[:n], nil
	case CompressionZLib:
		var buf bytes.Buffer
		w := zlib.NewWriter(&buf)
		if _, err := w.Write(b); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case CompressionZSTD:
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer enc.Close()
		return enc.EncodeAll(b, make([]byte, 0, len(b)/2+16)), nil
	case CompressionSnappy:
		return snappy.Encode(nil, b), nil
	}
	return nil, fmt.Errorf("stargate: unknown compression %d", c)
}

// lz4LiteralBlock encodes b as one LZ4 block of literals only, which every
// LZ4 block decoder reads back.
func lz4LiteralBlock(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/255+16)
	n := len(b)
	if n < 15 {
		out = append(out, byte(n<<4))
	} else {
		out = append(out, 0xF0)
		n -= 15
		for n >= 255 {
			out = append(out, 255)
			n -= 255
		}
		out = append(out, byte(n))
	}
	return append(out, b...)
}

// decompress returns b decompressed with c into exactly size bytes.
func decompress(c CompressionType, b []byte, size int) ([]byte, error) {
	if size < 0 {
		return nil, fmt.Errorf("%w: negative uncompressed size %d", errCompression, size)
	}
	var out []byte
	var err error
	switch c {
	case CompressionNone:
		return b, nil
	case CompressionLZ4:
		out = make([]byte, size)
		var n int
		n, err = lz4.UncompressBlock(b, out)
		out = out[:max(n, 0)]
	case CompressionZLib:
		var r io.ReadCloser
		r, err = zlib.NewReader(bytes.NewReader(b))
		if err == nil {
			out, err = readZlib(r, size)
			_ = r.Close()
		}
	case CompressionZSTD:
		var dec *zstd.Decoder
		dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(size)+1<<10))
		if err == nil {
			out, err = dec.DecodeAll(b, make([]byte, 0, size))
			dec.Close()
		}
	case CompressionSnappy:
		var n int
		n, err = snappy.DecodedLen(b)
		if err == nil && n != size {
			err = errors.New("snappy length " + strconv.Itoa(n) + " is not the uncompressed size")
		}
		if err == nil {
			out, err = snappy.Decode(nil, b)
		}
	default:
		return nil, fmt.Errorf("%w: unknown compression %d", errCompression, c)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (%s): %w", errCompression, c, err)
	}
	if len(out) != size {
		return nil, fmt.Errorf("%w (%s): %d bytes, want uncompressedMessageSize %d", errCompression, c, len(out), size)
	}
	return out, nil
}

// readZlib reads exactly size bytes from r. Pulsar's ZLIB codec writes
// the stream with SYNC_FLUSH and never finishes it (no final block, no
// Adler-32 trailer; its Inflater stops at the uncompressed size), so the
// end of the input is not an error once size bytes are out; more than
// size bytes is.
func readZlib(r io.Reader, size int) ([]byte, error) {
	out := make([]byte, size)
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, err
	}
	var one [1]byte
	if n, _ := r.Read(one[:]); n > 0 {
		return nil, errors.New("more than the uncompressed size")
	}
	return out, nil
}
