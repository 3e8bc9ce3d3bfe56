package stargate_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/stargate-go/stargate"
)

// TestPerPartitionEncryption: a PerPartition producer with Encryption
// encrypts on every partition's connection (each with its own data key),
// and a PerPartition consumer with a KeyReader decrypts what every
// partition delivers; bad encryption options are refused before any
// partition is dialed.
func TestPerPartitionEncryption(t *testing.T) {
	srv, client := newFakeClient(t)
	ctx := testCtx(t)
	const n, total = 3, 60
	topic := "e2e-partitioned"
	if err := srv.CreatePartitionedTopic(topic, n); err != nil {
		t.Fatal(err)
	}
	kr := readerFor(t, "rsa")
	raw, err := client.NewConsumer(ctx, topic, "raw", &stargate.ConsumerOptions{
		PerPartition: true, InitialPosition: stargate.Earliest, CryptoFailureAction: stargate.CryptoConsume})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	dec, err := client.NewConsumer(ctx, topic, "dec", &stargate.ConsumerOptions{
		PerPartition: true, InitialPosition: stargate.Earliest, KeyReader: kr, PullMode: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()

	var argErr *stargate.ArgError
	_, err = client.NewProducer(ctx, topic, &stargate.ProducerOptions{PerPartition: true,
		Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}}})
	if !errors.As(err, &argErr) || argErr.Arg != "ProducerOptions.Encryption.KeyReader" {
		t.Fatalf("nil KeyReader: %v", err)
	}

	p, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{
		PerPartition: true, RoutingMode: stargate.RoutingRoundRobin, Compression: stargate.CompressionLZ4,
		Encryption: &stargate.ProducerEncryption{Keys: []string{"app"}, KeyReader: kr}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range total {
		p.Send(ctx, stargate.Message{Key: fmt.Sprint("k", i), Payload: fmt.Appendf(nil, "secret %d", i)})
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	parts := map[int32]bool{}
	dataKeys := map[string]bool{}
	for _, m := range take(t, ctx, raw, total) {
		if m.Encryption == nil || bytes.Contains(m.Payload, []byte("secret")) {
			t.Fatalf("partition %d: message not encrypted", m.ID.Partition)
		}
		parts[m.ID.Partition] = true
		dataKeys[string(m.Encryption.Keys["app"].Value)] = true
	}
	if len(parts) != n || len(dataKeys) != n {
		t.Errorf("encrypted messages came from partitions %v with %d data keys, want %d of each", parts, len(dataKeys), n)
	}
	seen := map[string]bool{}
	for _, m := range take(t, ctx, dec, total) {
		if m.Encryption != nil || !bytes.HasPrefix(m.Payload, []byte("secret ")) {
			t.Fatalf("not decrypted: %q", m.Payload)
		}
		want := fmt.Sprintf("secret %s", m.Key[1:])
		if string(m.Payload) != want {
			t.Fatalf("key %s: payload %q", m.Key, m.Payload)
		}
		seen[m.Key] = true
	}
	if len(seen) != total {
		t.Errorf("decrypted %d distinct messages, want %d", len(seen), total)
	}
}
