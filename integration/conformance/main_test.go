package conformance

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stargate-go/stargate/dockertest"
	"github.com/stargate-go/stargate/stargatetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Cases mostly wait (for deliveries, for quiet); unless -parallel is
	// given, run more of them at once than GOMAXPROCS.
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "8")
	}
	code := m.Run()
	dockertest.Shutdown() // a broker this binary started, if any
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Target is the server a case runs against: a WebSocket base URL and the
// few admin operations the cases need.
type Target interface {
	// Kind is "fake" or "real".
	Kind() string
	// URL is the ws:// base ("ws://host:port").
	URL() string
	// Topic returns a fresh topic name, "persistent://public/default/…".
	Topic(t *testing.T) string
	// CreatePartitionedTopic creates topic with n partitions.
	CreatePartitionedTopic(t *testing.T, topic string, n int)
	// Terminate terminates topic.
	Terminate(t *testing.T, topic string)
	// Backlog returns the backlog of sub on a non-partitioned topic, and
	// whether the subscription exists.
	Backlog(t *testing.T, topic, sub string) (int64, bool)
	// Subscriptions lists the subscriptions of a non-partitioned topic.
	Subscriptions(t *testing.T, topic string) []string
	// Auth returns a target that requires tokens and a token it accepts.
	Auth(t *testing.T) (Target, string)
}

// TestConformance runs every case against the fake and the real broker.
func TestConformance(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			t.Run("fake", func(t *testing.T) {
				t.Parallel()
				c.run(t, newFake(t, nil))
			})
			t.Run("real", func(t *testing.T) {
				t.Parallel()
				c.run(t, newReal(t))
			})
		})
	}
}

type testCase struct {
	name string
	run  func(*testing.T, Target)
}

// cases is filled by the case files' init functions, in file order.
var cases []testCase

func register(name string, run func(*testing.T, Target)) {
	cases = append(cases, testCase{name, run})
}

// --- fake ------------------------------------------------------------

type fakeTarget struct {
	srv *stargatetest.Server
}

func newFake(t *testing.T, opts *stargatetest.Options) *fakeTarget {
	return &fakeTarget{srv: stargatetest.New(t, opts)}
}

func (f *fakeTarget) Kind() string              { return "fake" }
func (f *fakeTarget) URL() string               { return f.srv.URL() }
func (f *fakeTarget) Topic(t *testing.T) string { return dockertest.UniqueTopic(t) }

func (f *fakeTarget) CreatePartitionedTopic(t *testing.T, topic string, n int) {
	t.Helper()
	if err := f.srv.CreatePartitionedTopic(topic, n); err != nil {
		t.Fatal(err)
	}
}

func (f *fakeTarget) Terminate(t *testing.T, topic string) {
	t.Helper()
	if err := f.srv.TerminateTopic(topic); err != nil {
		t.Fatal(err)
	}
}

func (f *fakeTarget) Backlog(t *testing.T, topic, sub string) (int64, bool) {
	t.Helper()
	st, err := f.srv.Stats(topic)
	if err != nil {
		t.Fatal(err)
	}
	ss, ok := st.Subscriptions[sub]
	return ss.MsgBacklog, ok
}

func (f *fakeTarget) Subscriptions(t *testing.T, topic string) []string {
	t.Helper()
	st, err := f.srv.Stats(topic)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(st.Subscriptions))
}

func (f *fakeTarget) Auth(t *testing.T) (Target, string) {
	const tok = "conformance-token"
	return newFake(t, &stargatetest.Options{Tokens: map[string]string{tok: "admin"}}), tok
}

// --- real ------------------------------------------------------------

type realTarget struct {
	b     *dockertest.Broker
	admin *dockertest.Admin
}

func newReal(t *testing.T) *realTarget {
	b := dockertest.Require(t, dockertest.Plain)
	return &realTarget{b: b, admin: b.Admin()}
}

func adminCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (r *realTarget) Kind() string              { return "real" }
func (r *realTarget) URL() string               { return r.b.WSURL }
func (r *realTarget) Topic(t *testing.T) string { return dockertest.UniqueTopic(t) }

func (r *realTarget) CreatePartitionedTopic(t *testing.T, topic string, n int) {
	t.Helper()
	if err := r.admin.CreatePartitionedTopic(adminCtx(t), topic, n); err != nil {
		t.Fatal(err)
	}
}

func (r *realTarget) Terminate(t *testing.T, topic string) {
	t.Helper()
	if _, err := r.admin.TerminateTopic(adminCtx(t), topic); err != nil {
		t.Fatal(err)
	}
}

func (r *realTarget) Backlog(t *testing.T, topic, sub string) (int64, bool) {
	t.Helper()
	st, err := r.admin.TopicStats(adminCtx(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	ss, ok := st.Subscriptions[sub]
	return ss.MsgBacklog, ok
}

func (r *realTarget) Subscriptions(t *testing.T, topic string) []string {
	t.Helper()
	subs, err := r.admin.Subscriptions(adminCtx(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(subs)
	return subs
}

func (r *realTarget) Auth(t *testing.T) (Target, string) {
	b := dockertest.Require(t, dockertest.Token)
	return &realTarget{b: b, admin: b.Admin()}, b.Token()
}

func sortStrings(s []string) { slices.Sort(s) }

func itoa(i int) string { return strconv.Itoa(i) }
