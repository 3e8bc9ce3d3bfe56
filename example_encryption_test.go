package stargate_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/stargate-go/stargate"
)

// End-to-end encryption: the producer encrypts with the public key, the
// consumer decrypts with the private key; the broker stores ciphertext.
// Generate the keys with openssl (see the README), e.g.
//
//	openssl ecparam -name secp521r1 -genkey -param_enc explicit -out priv.pem
//	openssl ec -in priv.pem -pubout -outform PEM -out pub.pem
func ExampleProducerEncryption() {
	srv, client := fakeBroker()
	defer srv.Close()
	ctx := context.Background()
	keys := stargate.FileKeyReader{
		PublicKeyPath:  "testdata/keys/ec521_pub.pem",
		PrivateKeyPath: "testdata/keys/ec521_priv.pem",
	}
	const topic = "persistent://public/default/payments"

	c, err := client.NewConsumer(ctx, topic, "audit", &stargate.ConsumerOptions{KeyReader: keys})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewProducer(ctx, topic, &stargate.ProducerOptions{
		Compression: stargate.CompressionLZ4,
		Encryption:  &stargate.ProducerEncryption{Keys: []string{"payments.key"}, KeyReader: keys},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("card 4111…")}).Wait(ctx); err != nil {
		log.Fatal(err)
	}
	for m, err := range c.Messages(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s (still encrypted: %v)\n", m.Payload, m.Encryption != nil)
		_ = m.Ack(ctx)
		break
	}
	// Output: card 4111… (still encrypted: false)
}

// Decrypt reads a message that a consumer without a key reader received
// still encrypted (CryptoConsume), for example to decrypt it elsewhere.
func ExampleDecrypt() {
	srv, client := fakeBroker()
	defer srv.Close()
	ctx := context.Background()
	pub, _ := os.ReadFile("testdata/keys/rsa_pub.pem")
	priv, _ := os.ReadFile("testdata/keys/rsa_priv.pem")
	keys := stargate.StaticKeyReader{
		Public:  map[string][]byte{"orders": pub},
		Private: map[string][]byte{"orders": priv},
	}
	const topic = "persistent://public/default/orders-enc"

	c, err := client.NewConsumer(ctx, topic, "archive", &stargate.ConsumerOptions{CryptoFailureAction: stargate.CryptoConsume})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	enc := &stargate.ProducerOptions{Encryption: &stargate.ProducerEncryption{Keys: []string{"orders"}, KeyReader: keys}}
	if _, err := client.Produce(ctx, topic, enc, stargate.Message{Payload: []byte("order 42")}); err != nil {
		log.Fatal(err)
	}
	for m, err := range c.Messages(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("encrypted for:", len(m.Encryption.Keys), "key, compression", m.Encryption.Compression)
		plain, err := stargate.Decrypt(m, keys)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s\n", plain[0].Payload)
		_ = m.Ack(ctx)
		break
	}
	// Output:
	// encrypted for: 1 key, compression NONE
	// order 42
}
