package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate/stargatetest"
)

// TestRunPartitionsOnFake runs a tiny partition scenario against the fake
// broker: every cell measures messages, a consume cell drains its whole
// backlog, and the table names the handles used.
func TestRunPartitionsOnFake(t *testing.T) {
	srv := stargatetest.New(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pc := PartitionsConfig{URL: srv.URL(), Partitions: []int{2}, Connections: []int{1, 2, 4},
		Duration: 100 * time.Millisecond, Warmup: 10 * time.Millisecond, Backlog: 200, Size: 10, Window: 50, Prefix: "t"}
	rows, err := RunPartitions(ctx, pc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows, want 6", len(rows))
	}
	for _, r := range rows {
		if r.Msgs <= 0 || r.Kind == "consume" && r.Msgs != 200 || r.BrokerCPU != -1 {
			t.Errorf("row %+v", r)
		}
	}
	var b strings.Builder
	if err := WritePartitions(&b, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 on the name", "1 PerPartition", "2 PerPartition", "Connections 2", "n/a"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
