package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

func readN(t *testing.T, e *env, r *stargate.Reader, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	var got []string
	for m, err := range r.Messages(ctx) {
		if err != nil {
			t.Fatalf("after %d: %v", len(got), err)
		}
		got = append(got, string(m.Payload))
		if len(got) == n {
			break
		}
	}
	return got
}

func (e *env) reader(topic string, o *stargate.ReaderOptions) *stargate.Reader {
	e.t.Helper()
	r, err := e.client.NewReader(e.ctx, topic, o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { r.Close() })
	return r
}

func TestReaderStartPositions(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	p := e.producer(topic, nil)
	ids := e.sendAll(p, msgs(10, "r")...)

	if got := readN(t, e, e.reader(topic, &stargate.ReaderOptions{Start: stargate.Earliest}), 10); got[0] != "r0" || got[9] != "r9" {
		t.Fatalf("earliest: %v", got)
	}
	// The start is exclusive: the message after ids[4] comes first.
	if got := readN(t, e, e.reader(topic, &stargate.ReaderOptions{StartMessageID: ids[4]}), 5); got[0] != "r5" {
		t.Fatalf("from id 4: %v", got)
	}
	latest := e.reader(topic, nil)
	e.sendAll(p, msgs(2, "new")...)
	if got := readN(t, e, latest, 2); got[0] != "new0" {
		t.Fatalf("latest: %v", got)
	}
	// A hand-built ID (not the wire string) works too.
	id := stargate.MessageID{LedgerID: ids[7].LedgerID, EntryID: ids[7].EntryID, Partition: -1, BatchIndex: -1}
	if got := readN(t, e, e.reader(topic, &stargate.ReaderOptions{StartMessageID: id}), 1); got[0] != "r8" {
		t.Fatalf("from built id 7: %v", got)
	}
}

func TestReaderBeyondWindowAndStopAtEndOfTopic(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	p := e.producer(topic, nil)
	// More than the window: delivery continues only if the reader's
	// flow-control acks work.
	e.sendAll(p, msgs(25, "m")...)
	if _, err := e.admin.TerminateTopic(e.ctx, topic); err != nil {
		t.Fatal(err)
	}
	r := e.reader(topic, &stargate.ReaderOptions{Start: stargate.Earliest, ReceiverQueueSize: 10, StopAtEndOfTopic: true})
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	n := 0
	for m, err := range r.Messages(ctx) {
		if err != nil {
			t.Fatalf("after %d: %v", n, err)
		}
		if err := m.Ack(ctx); err != stargate.ErrInvalidMessage {
			t.Fatalf("Ack on a reader message: %v", err)
		}
		n++
	}
	if n != 25 {
		t.Fatalf("read %d messages before the end, want 25", n)
	}
	if eot, err := r.IsEndOfTopic(ctx); err != nil || !eot {
		t.Fatalf("IsEndOfTopic: %v %v", eot, err)
	}
}
