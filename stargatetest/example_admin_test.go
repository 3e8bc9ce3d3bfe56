package stargatetest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
	"github.com/stargate-go/stargate/stargatetest"
)

// The fake serves the admin REST API that package admin calls, on the
// same port as the WebSocket API.
func ExampleServer_admin() {
	srv, err := stargatetest.NewServer(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	a, err := admin.New(srv.URL(), nil) // the ws:// URL maps to http://
	if err != nil {
		panic(err)
	}
	defer a.CloseIdleConnections()
	ctx := context.Background()

	if err := a.CreatePartitionedTopic(ctx, "orders", 2); err != nil {
		panic(err)
	}
	if err := a.CreateSubscription(ctx, "orders", "billing", stargate.Earliest); err != nil {
		panic(err)
	}
	for i := range 3 {
		if _, err := srv.Publish("orders", stargatetest.Message{Payload: fmt.Appendf(nil, "order %d", i)}); err != nil {
			panic(err)
		}
	}
	st, err := a.PartitionedTopicStats(ctx, "orders", nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("partitions:", st.Metadata.Partitions, "in:", st.MsgInCounter, "backlog:", st.Subscriptions["billing"].MsgBacklog)

	if err := a.ClearBacklog(ctx, "orders", "billing"); err != nil {
		panic(err)
	}
	st, _ = a.PartitionedTopicStats(ctx, "orders", nil)
	fmt.Println("after ClearBacklog:", st.Subscriptions["billing"].MsgBacklog)

	err = a.CreateSubscription(ctx, "orders", "billing", stargate.Earliest)
	fmt.Println("again:", errors.Is(err, admin.ErrConflict))
	_, err = a.TopicStats(ctx, "missing", nil)
	fmt.Println("missing:", errors.Is(err, admin.ErrNotFound))
	// Output:
	// partitions: 2 in: 3 backlog: 3
	// after ClearBacklog: 0
	// again: true
	// missing: true
}
