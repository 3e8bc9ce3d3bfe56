package stargate

import (
	"math"
	"testing"
)

func TestParseMessageIDKnownFrames(t *testing.T) {
	for _, tc := range []struct {
		wire string
		want MessageID
	}{
		{"CAcQADAA", MessageID{LedgerID: 7, EntryID: 0, Partition: -1, BatchIndex: -1}},
		{"CHsQLRgCIAMwCg==", MessageID{LedgerID: 123, EntryID: 45, Partition: 2, BatchIndex: 3, BatchSize: 10}},
		{"CAoQKA==", MessageID{LedgerID: 10, EntryID: 40, Partition: -1, BatchIndex: -1}},
		{"CP///////////wEQ////////////ATAA", MessageID{LedgerID: -1, EntryID: -1, Partition: -1, BatchIndex: -1}},
		{"CP//////////fxD//////////38wAA==", MessageID{LedgerID: math.MaxInt64, EntryID: math.MaxInt64, Partition: -1, BatchIndex: -1}},
	} {
		got, err := ParseMessageID(tc.wire)
		if err != nil {
			t.Errorf("%s: %v", tc.wire, err)
			continue
		}
		if !got.Equal(tc.want) || got.BatchSize != tc.want.BatchSize {
			t.Errorf("%s: got %#v size %d, want %#v size %d", tc.wire, got, got.BatchSize, tc.want, tc.want.BatchSize)
		}
		if got.String() != tc.wire {
			t.Errorf("%s: String() = %s, want the wire form verbatim", tc.wire, got.String())
		}
		// Re-encoding a decoded ID gives the same bytes the proxy writes.
		built := tc.want
		if s := built.String(); s != tc.wire && tc.wire != "CAoQKA==" {
			t.Errorf("encode %#v = %s, want %s", built, s, tc.wire)
		}
	}
	// Negative fields encode as Java's 64-bit varints (Pulsar's "earliest" ID).
	earliest := MessageID{LedgerID: -1, EntryID: -1, Partition: -1, BatchIndex: -1}
	if earliest.String() != "CP///////////wEQ////////////ATAA" {
		t.Errorf("%#v encodes as %s", earliest, earliest.String())
	}
}

func TestParseMessageIDRejects(t *testing.T) {
	for _, s := range []string{"", "!!!", "CAc=", "EAA=", "/////w=="} {
		if _, err := ParseMessageID(s); err == nil {
			t.Errorf("ParseMessageID(%q) succeeded", s)
		}
	}
}

func TestMessageIDCompare(t *testing.T) {
	a := MessageID{LedgerID: 1, EntryID: 5, BatchIndex: -1}
	b := MessageID{LedgerID: 1, EntryID: 5, BatchIndex: 0}
	c := MessageID{LedgerID: 2, EntryID: 0, BatchIndex: -1}
	if a.Compare(b) != -1 || b.Compare(c) != -1 || c.Compare(a) != 1 || a.Compare(a) != 0 {
		t.Fatal("Compare does not order (ledger, entry, batch index)")
	}
}

func FuzzParseMessageID(f *testing.F) {
	for _, s := range []string{"CAcQADAA", "CHsQLRgCIAMwCg==", "CAoQKA==", "CP///////////wEQ////////////ATAA", "CFIQABgAIAAwAA=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseMessageID(s)
		if err != nil {
			return
		}
		// Re-encoding and decoding again names the same message.
		id.wire = ""
		if id.IsZero() {
			return // all fields zero: the zero MessageID, which has no wire form
		}
		again, err := ParseMessageID(id.String())
		if err != nil {
			t.Fatalf("re-encoded %#v does not parse: %v", id, err)
		}
		if !again.Equal(id) {
			t.Fatalf("round trip %#v -> %#v", id, again)
		}
	})
}

// TestMessageIDWireForm: an ID in the proxy's canonical form keeps no string
// of its own (decoding it costs no allocation), any other form is kept
// verbatim; both give their text back from String and in an ack frame.
func TestMessageIDWireForm(t *testing.T) {
	for _, tc := range []struct {
		wire      string
		canonical bool
	}{
		{"CLlAEKMXIAAwAA==", true},
		{"CHsQLRgCIAMwCg==", true},
		{"CAoQKA==", false},         // no batch size: the proxy always writes one
		{"CAcQADAA", true},          // length a multiple of 3: no padding
		{"CLlAEKMXIAAwAA", false},   // unpadded
		{"CLlAEKMXIAAwAB==", false}, // non-zero padding bits decode to the same bytes
	} {
		id, err := ParseMessageID(tc.wire)
		if err != nil {
			t.Errorf("%s: %v", tc.wire, err)
			continue
		}
		if (id.wire == "") != tc.canonical {
			t.Errorf("%s: stored wire %q, canonical %v", tc.wire, id.wire, tc.canonical)
		}
		if id.String() != tc.wire {
			t.Errorf("%s: String() = %s", tc.wire, id.String())
		}
		if got, want := string(id.appendWire(nil)), `"`+tc.wire+`"`; got != want {
			t.Errorf("%s: appendWire = %s, want %s", tc.wire, got, want)
		}
		b, _ := ParseMessageID(id.String())
		if b != id {
			t.Errorf("%s: parsing String() again gives %#v, not == %#v", tc.wire, b, id)
		}
		if fast, ok := parseMessageIDBytes([]byte(tc.wire)); ok && fast != id {
			t.Errorf("%s: the scanner's ID %#v differs from ParseMessageID's", tc.wire, fast)
		}
	}
	frame := []byte("CLlAEKMXIAAwAA==")
	if n := testing.AllocsPerRun(100, func() { _, _ = parseMessageIDBytes(frame) }); n != 0 {
		t.Errorf("decoding a canonical ID allocates %v times", n)
	}
}
