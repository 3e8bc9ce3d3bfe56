package stargate_test

import (
	"context"
	"fmt"
	"log"

	"github.com/stargate-go/stargate"
)

// A partitioned topic over one connection per partition: the producer
// routes each key to the partition the broker would pick, and the consumer
// merges the partitions.
func ExampleProducerOptions_perPartition() {
	srv, client := fakeBroker()
	defer srv.Close()
	ctx := context.Background()
	if err := srv.CreatePartitionedTopic("orders", 3); err != nil {
		log.Fatal(err)
	}

	c, err := client.NewConsumer(ctx, "orders", "billing", &stargate.ConsumerOptions{PerPartition: true})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewProducer(ctx, "orders", &stargate.ProducerOptions{PerPartition: true})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	id, err := p.Send(ctx, stargate.Message{Key: "customer-42", Payload: []byte("order 1")}).Wait(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent to partition", id.Partition)
	for msg, err := range c.Messages(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("received from", msg.Topic.Name)
		_ = msg.Ack(ctx) // on the connection of that partition
		break
	}
	// Output:
	// sent to partition 1
	// received from orders-partition-1
}

// Three connections to one Shared subscription of a non-partitioned topic,
// merged into one loop.
func ExampleConsumerOptions_connections() {
	srv, client := fakeBroker()
	defer srv.Close()
	ctx := context.Background()

	c, err := client.NewConsumer(ctx, "jobs", "workers", &stargate.ConsumerOptions{Type: stargate.Shared, Connections: 3})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := client.Produce(ctx, "jobs", nil, stargate.Message{Payload: []byte("job")}); err != nil {
		log.Fatal(err)
	}
	for msg, err := range c.Messages(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s\n", msg.Payload)
		_ = msg.Ack(ctx)
		break
	}
	// Output:
	// job
}
