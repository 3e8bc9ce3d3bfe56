package stargate_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

// A Kubernetes projected service-account token, or any file another process
// rotates: the file is read again at the next dial after it changes.
func ExampleTokenFromFile() {
	srv, err := stargatetest.NewServer(&stargatetest.Options{Tokens: map[string]string{"jwt-from-file": "app"}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	f, err := os.CreateTemp("", "token") // in Kubernetes: /var/run/secrets/…/token
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	_, _ = f.WriteString("jwt-from-file\n")
	_ = f.Close()

	client, err := stargate.NewClient(srv.URL(), &stargate.ClientOptions{
		TokenProvider: stargate.TokenFromFile(f.Name()),
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := client.NewProducer(context.Background(), "orders", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	_, err = p.Send(ctx, stargate.Message{Payload: []byte("hi")}).Wait(ctx)
	fmt.Println(err)
	// Output: <nil>
}

// Without ClientOptions.Proxy the client honours HTTPS_PROXY, HTTP_PROXY and
// NO_PROXY as net/http does. To name the proxy in code, credentials
// included, use http.ProxyURL; to ignore the environment, stargate.NoProxy.
func ExampleClientOptions_proxy() {
	proxy, _ := url.Parse("http://user:password@proxy.internal:3128")
	client, err := stargate.NewClient("wss://pulsar.example.com:8443", &stargate.ClientOptions{
		Proxy: http.ProxyURL(proxy), // CONNECT through it; TLS stays end to end with the broker
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := client.NewProducer(context.Background(), "orders", nil)
	var pe *stargate.ProxyError
	if errors.As(err, &pe) {
		log.Fatalf("proxy %s refused: %d %s", pe.Proxy, pe.StatusCode, pe.Message) // the password is never shown
	}
	_ = p
}
