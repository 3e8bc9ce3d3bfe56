package stargate_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/stargate-go/stargate"
)

// These examples need a real Pulsar broker (its admin REST API, which the
// in-process fake does not serve), so they are compiled but not run.

// Replay a subscription from a message it has already processed, e.g.
// after a bug fix: that message and every later one are delivered again.
func ExampleConsumer_Seek() {
	ctx := context.Background()
	client, err := stargate.NewClient("ws://localhost:8080", nil)
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.NewConsumer(ctx, "orders", "billing", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	var replayFrom stargate.MessageID // saved from an earlier Message.ID
	if err := c.Seek(ctx, replayFrom); err != nil {
		log.Fatal(err) // a zero ID is an *ArgError
	}
	for m, err := range c.Messages(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s\n", m.Payload) // replayFrom's message first
		_ = m.Ack(ctx)
	}
}

// Move a subscription back an hour: what was published in the last hour
// is delivered again, acknowledged or not.
func ExampleConsumer_SeekTime() {
	ctx := context.Background()
	client, err := stargate.NewClient("ws://localhost:8080", nil)
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.NewConsumer(ctx, "orders", "billing", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.SeekTime(ctx, time.Now().Add(-time.Hour)); err != nil {
		log.Fatal(err)
	}
}

// Read what was published since midnight UTC, without a subscription.
func ExampleClient_NewReader_startTime() {
	ctx := context.Background()
	client, err := stargate.NewClient("ws://localhost:8080", nil)
	if err != nil {
		log.Fatal(err)
	}
	midnight := time.Now().UTC().Truncate(24 * time.Hour)
	r, err := client.NewReader(ctx, "orders", &stargate.ReaderOptions{StartTime: midnight})
	if err != nil {
		log.Fatal(err) // a partitioned topic is an *ArgError: read its partitions
	}
	defer r.Close()
	for m, err := range r.Messages(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(m.PublishTime, string(m.Payload)) // none before midnight
	}
}
