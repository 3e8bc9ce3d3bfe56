package admin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
)

// fakeBroker answers a few admin calls the way Pulsar 4.0.8 does, so that
// the examples run without a broker.
func fakeBroker() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		switch {
		case strings.HasSuffix(p, "/orders/partitions") && r.Method == http.MethodGet:
			io.WriteString(w, `{"partitions":4,"deleted":false}`)
		case strings.HasSuffix(p, "/orders/subscriptions"):
			io.WriteString(w, `["billing"]`)
		case strings.Contains(p, "/orders/subscription/billing/position/1"):
			w.Header().Set("X-Pulsar-Message-ID", "7:0")
			w.Header().Set("X-Pulsar-publish-time", "2026-12-03T10:54:46.868Z")
			w.Header().Set("X-Pulsar-partition-key", "order-17")
			w.Header().Set("X-Pulsar-PROPERTY", `{"region":"eu"}`)
			io.WriteString(w, "created")
		case strings.Contains(p, "/orders/subscription/billing/position/"):
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"reason":"Message not found"}`)
		case strings.HasSuffix(p, "/missing/stats"):
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"reason":"Topic persistent://public/default/missing not found"}`)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
}

// New accepts the WebSocket service URL of stargate.NewClient: the admin
// API shares its port.
func ExampleNew() {
	c, err := admin.New("ws://broker-1:8080,broker-2:8080", &admin.Options{
		TokenProvider: func(ctx context.Context) (string, error) { return "my-jwt", nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseIdleConnections()
	_ = c // c.Tenants(ctx), c.CreateTopic(ctx, …), …
}

func ExampleClient_CreatePartitionedTopic() {
	srv := fakeBroker()
	defer srv.Close()
	c, _ := admin.New(srv.URL, nil)
	defer c.CloseIdleConnections()
	ctx := context.Background()

	if err := c.CreatePartitionedTopic(ctx, "public/default/orders", 4); err != nil {
		log.Fatal(err)
	}
	n, err := c.Partitions(ctx, "public/default/orders")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("partitions:", n)
	// Output: partitions: 4
}

func ExampleClient_SetRetention() {
	srv := fakeBroker()
	defer srv.Close()
	c, _ := admin.New(srv.URL, nil)
	defer c.CloseIdleConnections()
	ctx := context.Background()

	if err := c.CreateTenant(ctx, "acme", admin.TenantInfo{AllowedClusters: []string{"standalone"}}); err != nil {
		log.Fatal(err)
	}
	if err := c.CreateNamespace(ctx, "acme/orders"); err != nil {
		log.Fatal(err)
	}
	// Keep acknowledged messages for a week, so that cursors can go back.
	err := c.SetRetention(ctx, "acme/orders", admin.Retention{Time: 7 * 24 * time.Hour, SizeMB: -1})
	fmt.Println(err)
	// Output: <nil>
}

func ExampleClient_ResetCursorToTime() {
	srv := fakeBroker()
	defer srv.Close()
	c, _ := admin.New(srv.URL, nil)
	defer c.CloseIdleConnections()
	ctx := context.Background()

	// Deliver again what billing got in the last ten minutes.
	err := c.ResetCursorToTime(ctx, "public/default/orders", "billing", time.Now().Add(-10*time.Minute))
	fmt.Println(err)
	// Output: <nil>
}

func ExampleClient_CreateSubscription() {
	srv := fakeBroker()
	defer srv.Close()
	c, _ := admin.New(srv.URL, nil)
	defer c.CloseIdleConnections()
	ctx := context.Background()

	// A subscription that will see every stored message.
	err := c.CreateSubscription(ctx, "public/default/orders", "audit", stargate.Earliest)
	fmt.Println(err)
	// Output: <nil>
}

func ExampleClient_PeekMessages() {
	srv := fakeBroker()
	defer srv.Close()
	c, _ := admin.New(srv.URL, nil)
	defer c.CloseIdleConnections()

	msgs, err := c.PeekMessages(context.Background(), "public/default/orders", "billing", 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range msgs {
		fmt.Printf("%d:%d key=%s region=%s %s\n", m.ID.LedgerID, m.ID.EntryID, m.Key, m.Properties["region"], m.Payload)
	}
	// Output: 7:0 key=order-17 region=eu created
}

func ExampleError() {
	srv := fakeBroker()
	defer srv.Close()
	c, _ := admin.New(srv.URL, nil)
	defer c.CloseIdleConnections()

	_, err := c.TopicStats(context.Background(), "public/default/missing", nil)
	if errors.Is(err, admin.ErrNotFound) {
		fmt.Println("no such topic")
	}
	if e, ok := errors.AsType[*admin.Error](err); ok {
		fmt.Println(e.StatusCode, e.Op, e.Reason)
	}
	// Bad input never reaches the server.
	err = c.SkipMessages(context.Background(), "public/default/orders", "billing", -1)
	fmt.Println(errors.Is(err, stargate.ErrInvalidArgument))
	// Output:
	// no such topic
	// 404 TopicStats Topic persistent://public/default/missing not found
	// true
}
