package oauth2_test

import (
	"context"
	"log"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/oauth2"
)

// StreamNative Cloud, or any Pulsar set up for OAuth2 client credentials:
// the same issuer URL, audience and key file the Java and Go clients take.
func ExampleNew() {
	src, err := oauth2.New(oauth2.Config{
		IssuerURL: "https://auth.streamnative.cloud/",
		Audience:  "urn:sn:pulsar:my-org:my-instance",
		KeyFile:   "/etc/pulsar/key.json", // {"type":"client_credentials","client_id":…,"client_secret":…}
	})
	if err != nil {
		log.Fatal(err)
	}
	client, err := stargate.NewClient("wss://my-instance.streamnative.cloud", &stargate.ClientOptions{
		TokenProvider: src.Token, // fetched at the first dial, cached until shortly before expiry
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := client.NewProducer(context.Background(), "orders", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
}
