package stargatetest_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/lxzan/gws"
	"github.com/stargate-go/stargate/stargatetest"
)

// frames is a minimal gws client handler that passes text frames on.
type frames struct {
	gws.BuiltinEventHandler
	ch chan string
}

func (f *frames) OnMessage(_ *gws.Conn, m *gws.Message) {
	f.ch <- m.Data.String()
	m.Close()
}

// dialWS opens a raw WebSocket; a real test would use stargate's client.
func dialWS(url string) (*gws.Conn, chan string, func()) {
	f := &frames{ch: make(chan string, 16)}
	conn, _, err := gws.NewClient(f, &gws.ClientOption{Addr: url})
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); conn.ReadLoop() }()
	return conn, f.ch, func() { _ = conn.NetConn().Close(); <-done }
}

func ExampleNewServer() {
	srv, err := stargatetest.NewServer(nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	fmt.Println(strings.HasPrefix(srv.URL(), "ws://127.0.0.1:"))

	conn, acks, closeConn := dialWS(srv.URL() + "/ws/v2/producer/persistent/public/default/orders")
	defer closeConn()
	_ = conn.WriteString(`{"payload":"aGVsbG8=","context":"1"}`)
	var ack struct{ Result, Context string }
	_ = json.Unmarshal([]byte(<-acks), &ack)
	fmt.Println(ack.Result, ack.Context)

	msgs, _ := srv.Messages("orders")
	fmt.Printf("%s\n", msgs[0].Payload)
	// Output:
	// true
	// ok 1
	// hello
}

func ExampleNew() {
	// testShipping is what a test function looks like; runTest stands in
	// for go test here.
	testShipping := func(t testing.TB) {
		srv := stargatetest.New(t, &stargatetest.Options{DisableAutoTopicCreation: true})
		if err := srv.CreateTopic("shipping"); err != nil {
			t.Fatal(err)
		}
		_, _ = srv.Publish("shipping", stargatetest.Message{Payload: []byte("parcel"), Key: "p-1"})

		_, msgs, closeConn := dialWS(srv.URL() +
			"/ws/v2/consumer/persistent/public/default/shipping/billing?subscriptionInitialPosition=Earliest")
		defer closeConn()
		var m struct{ Payload, Key string }
		_ = json.Unmarshal([]byte(<-msgs), &m)
		fmt.Println(m.Payload, m.Key)
	}
	runTest(testShipping)
	// Output: cGFyY2Vs p-1
}

func ExampleServer_FailNextSends() {
	srv, _ := stargatetest.NewServer(nil)
	defer srv.Close()
	srv.FailNextSends(1, 8, "org.apache.pulsar.client.api.PulsarClientException$TimeoutException: injected")

	conn, acks, closeConn := dialWS(srv.URL() + "/ws/v2/producer/persistent/public/default/payments")
	defer closeConn()
	for _, ctx := range []string{"a", "b"} {
		_ = conn.WriteString(`{"payload":"","context":"` + ctx + `"}`)
		var ack struct{ Result, Context string }
		_ = json.Unmarshal([]byte(<-acks), &ack)
		fmt.Println(ack.Context, ack.Result)
	}
	// Output:
	// a send-error:8
	// b ok
}

// runTest runs f with a minimal testing.TB whose cleanups run at the end.
func runTest(f func(testing.TB)) {
	tb := &exampleTB{}
	defer func() {
		for i := len(tb.cleanups) - 1; i >= 0; i-- {
			tb.cleanups[i]()
		}
	}()
	f(tb)
}

type exampleTB struct {
	testing.TB // only the methods below are used
	cleanups   []func()
}

func (*exampleTB) Helper()             {}
func (tb *exampleTB) Cleanup(f func()) { tb.cleanups = append(tb.cleanups, f) }
func (*exampleTB) Fatal(args ...any)   { panic(fmt.Sprint(args...)) }
