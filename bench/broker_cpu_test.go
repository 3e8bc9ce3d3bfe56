package bench

import (
	"context"
	"math"
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestFindBrokerPIDByListeningPort(t *testing.T) {
	t.Setenv("STARGATE_PULSAR_STATE", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	pid, err := FindBrokerPID("", "ws://127.0.0.1:"+port)
	if err != nil || pid != os.Getpid() {
		t.Fatalf("FindBrokerPID = %d, %v; want this process %d", pid, err, os.Getpid())
	}
	ln.Close()
	if pid, err := FindBrokerPID("ws://127.0.0.1:" + port); err == nil {
		t.Errorf("closed port: FindBrokerPID = %d, want an error", pid)
	}
}

func TestBrokerCPUSample(t *testing.T) {
	if s := StartBrokerCPU(0).Seconds(); !math.IsNaN(s) {
		t.Errorf("pid 0: %v, want NaN", s)
	}
	c := StartBrokerCPU(os.Getpid())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	x := 0
	for c.Seconds() <= 0 { // burn CPU until at least one clock tick is counted
		if ctx.Err() != nil {
			t.Fatal("no CPU time counted in a minute of spinning")
		}
		for i := range 1_000_000 {
			x ^= i
		}
	}
	if s := c.Seconds(); math.IsNaN(s) || s <= 0 || s > 120 {
		t.Errorf("CPU seconds = %v (x=%d)", s, x)
	}
}
