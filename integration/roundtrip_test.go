package integration

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

func TestRoundTripAllFields(t *testing.T) {
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	cons := e.consumer(topic, "sub", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	p := e.producer(topic, nil)

	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	event := time.Date(2026, 11, 28, 10, 0, 0, 123_000_000, time.UTC)
	sent := []stargate.Message{
		{Payload: []byte("hello"), Key: "k1", Properties: map[string]string{"a": "b", "ünï": "cödé \"q\"\n"}, EventTime: event},
		{Payload: []byte{}},
		{Payload: binary, Key: "binary key \x01"},
	}
	ids := e.sendAll(p, sent...)
	got := e.receive(cons, len(sent), true, 30*time.Second)
	for i, m := range got {
		want := sent[i]
		if !bytes.Equal(m.Payload, want.Payload) {
			t.Errorf("message %d payload %q, want %q", i, m.Payload, want.Payload)
		}
		if m.Key != want.Key {
			t.Errorf("message %d key %q, want %q", i, m.Key, want.Key)
		}
		if diff := cmp.Diff(want.Properties, m.Properties, cmpEmptyMap); diff != "" {
			t.Errorf("message %d properties (-want +got):\n%s", i, diff)
		}
		if !m.EventTime.Equal(want.EventTime) {
			t.Errorf("message %d event time %v, want %v", i, m.EventTime, want.EventTime)
		}
		if !m.ID.Equal(ids[i]) {
			t.Errorf("message %d ID %#v, producer got %#v", i, m.ID, ids[i])
		}
		if m.PublishTime.IsZero() || time.Since(m.PublishTime) > time.Minute {
			t.Errorf("message %d publish time %v", i, m.PublishTime)
		}
		if m.Topic.String() != topic {
			t.Errorf("message %d topic %q, want %q", i, m.Topic, topic)
		}
		if m.RedeliveryCount != 0 {
			t.Errorf("message %d redelivery count %d", i, m.RedeliveryCount)
		}
	}
}

var cmpEmptyMap = cmp.Transformer("emptyNil", func(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
})
