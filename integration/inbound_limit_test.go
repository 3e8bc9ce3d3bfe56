package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// TestMessageOverMaxMessageSizeEndsConsumer: the real broker redelivers a
// message the client dropped with its connection (1009, over the read
// limit) on every reconnect, so the consumer must end with
// ErrMessageTooLarge instead of looping; a client with the default limit
// reads the message.
func TestMessageOverMaxMessageSizeEndsConsumer(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	topic := dockertest.UniqueTopic(t)
	e.sendAll(e.producer(topic, nil), stargate.Message{Payload: make([]byte, 700_000)}) // a ~930 KB frame
	small, err := stargate.NewClient(e.broker.WSURL, &stargate.ClientOptions{
		MaxMessageSize: 512 << 10, ReconnectDelay: 20 * time.Millisecond, MaxReconnectDelay: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, err := small.NewConsumer(e.ctx, topic, "sub", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	var last error
	for m, err := range c.Messages(ctx) {
		if err != nil {
			last = err
			break
		}
		t.Fatalf("read a %d-byte message over the limit", len(m.Payload))
	}
	if !errors.Is(last, stargate.ErrMessageTooLarge) {
		t.Fatalf("consumer ended with %v, want ErrMessageTooLarge", last)
	}
	c.Close()
	got := e.receive(e.consumer(topic, "sub", nil), 1, true, 20*time.Second)
	if len(got[0].Payload) != 700_000 {
		t.Errorf("read %d bytes with the default limit", len(got[0].Payload))
	}
}
