package stargate_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
)

// closedPorts returns n loopback addresses nothing listens on.
func closedPorts(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, ln.Addr().String())
		ln.Close()
	}
	return addrs
}

// With several service URLs and none reachable, the error of the first
// dial names every URL tried, not only the last (a cluster user needs to
// know that all its brokers were tried), and still matches the causes.
func TestFirstDialErrorNamesEveryURL(t *testing.T) {
	addrs := closedPorts(t, 3)
	c, err := stargate.NewClient("ws://"+strings.Join(addrs, ",ws://"), &stargate.ClientOptions{DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = c.NewProducer(ctx, "persistent://public/default/t", nil)
	if err == nil {
		t.Fatal("NewProducer with no reachable URL succeeded")
	}
	for _, a := range addrs {
		if !strings.Contains(err.Error(), a) {
			t.Errorf("error does not name %s: %v", a, err)
		}
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(err, ECONNREFUSED) = false: %v", err)
	}
}
