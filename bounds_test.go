package stargate_test

import (
	"context"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

// A huge batch size is a bound, not an allocation: Batches used to allocate
// every batch's slice at its full size up front, so a size of a billion
// killed the process (fatal error: runtime: out of memory) however few
// messages came.
func TestBatchesHugeSizeAllocatesWhatArrives(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _ := stargate.NewClient(srv.URL(), nil)
	for _, p := range []string{"a", "b", "c"} {
		if _, err := srv.Publish("huge-batch", stargatetest.Message{Payload: []byte(p)}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.NewConsumer(ctx, "huge-batch", "s", &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := 0
	for batch, err := range c.Batches(ctx, 1_000_000_000, 200*time.Millisecond) {
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range batch {
			_ = m.Ack(ctx)
		}
		if got += len(batch); got == 3 {
			break
		}
	}
}
