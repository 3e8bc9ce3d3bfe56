package integration

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// The property: every name Pulsar accepts (tenant, namespace, topic,
// subscription) reaches the broker verbatim, as the admin REST API lists
// it, and the data sent under it round-trips; a name the broker cannot
// hold verbatim is refused with an *ArgError before dialing.
//
// Names are drawn from a seeded generator; the seed is logged, and
// STARGATE_NAMES_SEED=<seed> replays a run.

// namesPunct is every ASCII punctuation character but "/" (which separates
// the parts of a topic name).
const namesPunct = "!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~"

const namesAlnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// namesExotic are non-ASCII letters and emoji (one to several code points).
var namesExotic = []string{"é", "ß", "ж", "λ", "中", "ü", "ñ", "😀", "🚀", "👍🏽"}

func namesRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("STARGATE_NAMES_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("STARGATE_NAMES_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("names seed %d (replay with STARGATE_NAMES_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, 0x6e616d6573))
}

// genName returns 1 to 10 characters: punctuation, spaces, non-ASCII
// letters and emoji, letters and digits.
func genName(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(10) {
		switch k := r.IntN(10); {
		case k < 4:
			b.WriteByte(namesPunct[r.IntN(len(namesPunct))])
		case k < 5:
			b.WriteByte(' ')
		case k < 7:
			b.WriteString(namesExotic[r.IntN(len(namesExotic))])
		default:
			b.WriteByte(namesAlnum[r.IntN(len(namesAlnum))])
		}
	}
	return b.String()
}

// edgeNames are names made of the characters that escaping gets wrong
// only: each punctuation character alone, escape look-alikes, spaces,
// non-ASCII.
func edgeNames() []string {
	var out []string
	for _, c := range namesPunct {
		out = append(out, string(c))
	}
	return append(out, "%%", "++", "+ +", " +", "%2B", "%25", "%20", "%zz", "100%", "..", "...",
		" lead", "trail ", " ", "é", "😀", "é😀ß", "a b", "orders:v1+x",
		"\u3000", "x\u3000", "\u00a0", "\u2007 ", "\u0085")
}

// javaBlank: the generated names' whitespace that Java's
// Character.isWhitespace counts (U+00A0 and U+2007 it does not).
const javaBlank = " \u3000"

// topicRefusedByBroker reports whether the broker cannot hold name as a
// topic's local name verbatim: it refuses a blank name ("Topic local name
// must not be blank") and its client trims trailing spaces (Java's
// StringUtils.trim on the full name).
func topicRefusedByBroker(name string) bool {
	return strings.Trim(name, javaBlank) == "" || strings.HasSuffix(name, " ")
}

// subRefusedByBroker reports whether the broker refuses name as a
// subscription ("subscriptionName cannot be blank").
func subRefusedByBroker(name string) bool { return strings.Trim(name, javaBlank) == "" }

// names returns n distinct names: the edge names first, then generated
// ones.
func names(r *rand.Rand, n int) []string {
	var out []string
	seen := make(map[string]bool)
	for _, s := range edgeNames() {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for len(out) < n {
		if s := genName(r); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out[:n]
}

// namesNamespace creates a fresh namespace under public for the test's
// topics and deletes it, with whatever topics it holds, when t ends.
func namesNamespace(t *testing.T, e *env) string {
	t.Helper()
	ns := "public/" + dockertest.UniqueName(t)
	if err := e.admin.CreateNamespace(e.ctx, ns, dockertest.NamespaceOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropNamespace(t, e.admin, ns) })
	return ns
}

// dropNamespace deletes every topic of ns, then ns.
func dropNamespace(t *testing.T, a *dockertest.Admin, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topics, err := a.Topics(ctx, ns)
	if err != nil {
		t.Errorf("cleanup: listing %s: %v", ns, err)
		return
	}
	for _, tp := range topics {
		if err := a.DeleteTopic(ctx, tp); err != nil && !dockertest.IsStatus(err, 404) {
			t.Errorf("cleanup: deleting %q: %v", tp, err)
		}
	}
	if err := a.DeleteNamespace(ctx, ns); err != nil {
		t.Errorf("cleanup: deleting namespace %s: %v", ns, err)
	}
}

// roundTrip subscribes to topic as sub (when sub is not empty), produces
// one message and receives it through the consumer and through a reader
// from Earliest. It returns what went wrong, or nil.
func roundTrip(ctx context.Context, client *stargate.Client, topic, sub, payload string) error {
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	var c *stargate.Consumer
	if sub != "" {
		var err error
		c, err = client.NewConsumer(ctx, topic, sub, &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
		if err != nil {
			return fmt.Errorf("NewConsumer: %w", err)
		}
		defer c.Close()
	}
	p, err := client.NewProducer(ctx, topic, nil)
	if err != nil {
		return fmt.Errorf("NewProducer: %w", err)
	}
	defer p.Close()
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte(payload)}).Wait(ctx); err != nil {
		return fmt.Errorf("Send: %w", err)
	}
	if c != nil {
		if err := first(ctx, c.Messages(ctx), payload, true); err != nil {
			return fmt.Errorf("consumer: %w", err)
		}
	}
	r, err := client.NewReader(ctx, topic, &stargate.ReaderOptions{Start: stargate.Earliest})
	if err != nil {
		return fmt.Errorf("NewReader: %w", err)
	}
	defer r.Close()
	if err := first(ctx, r.Messages(ctx), payload, false); err != nil {
		return fmt.Errorf("reader: %w", err)
	}
	return nil
}

// first takes one message from seq and checks its payload.
func first(ctx context.Context, seq func(func(stargate.Message, error) bool), payload string, ack bool) error {
	for m, err := range seq {
		if err != nil {
			return err
		}
		if ack {
			if err := m.Ack(ctx); err != nil {
				return fmt.Errorf("ack: %w", err)
			}
		}
		if string(m.Payload) != payload {
			return fmt.Errorf("payload %q, want %q", m.Payload, payload)
		}
		return nil
	}
	return errors.New("sequence ended without a message")
}

func isArgError(err error) bool {
	var ae *stargate.ArgError
	return errors.As(err, &ae) && errors.Is(err, stargate.ErrInvalidArgument)
}

// TestNamesTopicsAndSubscriptions: generated topic and subscription names
// (every ASCII punctuation character, spaces, "%", "+", non-ASCII letters
// and emoji, names of edge characters only) round-trip through a consumer,
// a producer and a reader, and the admin API lists the topic and the
// subscription verbatim; names the broker would alter are refused.
func TestNamesTopicsAndSubscriptions(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	r := namesRand(t)
	ns := namesNamespace(t, e)
	tops := names(r, 100)
	subs := names(r, 100)
	r.Shuffle(len(subs), func(i, j int) { subs[i], subs[j] = subs[j], subs[i] })

	type pair struct {
		topic, full, sub string
	}
	var pairs []pair
	bad := 0     // names refused or misrouted although the broker would hold them, or accepted although it would alter them
	refused := 0 // names rightly refused before dialing
	for i, name := range tops {
		full := "persistent://" + ns + "/" + name
		sub := subs[i]
		err := roundTrip(e.ctx, e.client, full, sub, fmt.Sprintf("%d:%s|%s", i, name, sub))
		wantRefusal := topicRefusedByBroker(name) || subRefusedByBroker(sub)
		switch {
		case wantRefusal && isArgError(err):
			refused++
			continue
		case wantRefusal:
			t.Errorf("topic %q, subscription %q: the broker cannot hold it verbatim, but it was not refused with an *ArgError (err %v)", name, sub, err)
			bad++
			continue
		case err != nil:
			t.Errorf("topic %q, subscription %q: %v", name, sub, err)
			bad++
			continue
		}
		pairs = append(pairs, pair{topic: name, full: full, sub: sub})
	}

	listed, err := e.admin.Topics(e.ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[string]bool)
	for _, p := range pairs {
		want[p.full] = true
	}
	for _, tp := range listed {
		if !want[tp] {
			t.Errorf("the broker holds %q, a topic no test name asked for", tp)
		}
	}
	for _, p := range pairs {
		if !slices.Contains(listed, p.full) {
			t.Errorf("topic %q: not on the broker verbatim", p.topic)
			bad++
			continue
		}
		got, err := e.admin.Subscriptions(e.ctx, p.full)
		if err != nil {
			t.Errorf("topic %q: listing subscriptions: %v", p.topic, err)
			bad++
			continue
		}
		if !slices.Contains(got, p.sub) {
			t.Errorf("topic %q: subscription %q not on the broker verbatim (it holds %q)", p.topic, p.sub, got)
			bad++
		}
	}
	t.Logf("%d/%d topic+subscription name pairs landed verbatim or were rightly refused (%d refused); %d went wrong",
		len(tops)-bad, len(tops), refused, bad)
}

// TestNamesMultiTopicConsumer: a v3 consumer over topics with generated
// names (in the topics query) and a generated subscription name receives
// what is produced to each topic, and its subscription appears verbatim
// on every topic.
func TestNamesMultiTopicConsumer(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	r := namesRand(t)
	ns := namesNamespace(t, e)
	// Names for a list: no comma (a list separator), no trailing space.
	usable := func(s string) bool {
		return !strings.Contains(s, ",") && !topicRefusedByBroker(s) && !subRefusedByBroker(s)
	}
	var pool []string
	for _, s := range names(r, 80) {
		if usable(s) {
			pool = append(pool, s)
		}
	}
	bad, groups := 0, 0
	for g := 0; g+3 <= len(pool) && groups < 8; g += 3 {
		groups++
		t1, t2, sub := "persistent://"+ns+"/"+pool[g], "persistent://"+ns+"/"+pool[g+1], pool[g+2]
		if err := multiRoundTrip(e.ctx, e.client, t1, t2, sub); err != nil {
			t.Errorf("topics %q, %q, subscription %q: %v", pool[g], pool[g+1], sub, err)
			bad++
			continue
		}
		for _, tp := range []string{t1, t2} {
			got, err := e.admin.Subscriptions(e.ctx, tp)
			if err != nil || !slices.Contains(got, sub) {
				t.Errorf("topic %q: subscription %q not on the broker verbatim (it holds %q, %v)", tp, sub, got, err)
				bad++
				break
			}
		}
	}
	t.Logf("%d/%d multi-topic groups landed verbatim; %d went wrong", groups-bad, groups, bad)
}

func multiRoundTrip(ctx context.Context, client *stargate.Client, t1, t2, sub string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var ps []*stargate.Producer
	defer func() {
		for _, p := range ps {
			p.Close()
		}
	}()
	for _, tp := range []string{t1, t2} { // creates the topics
		p, err := client.NewProducer(ctx, tp, nil)
		if err != nil {
			return fmt.Errorf("NewProducer(%q): %w", tp, err)
		}
		ps = append(ps, p)
	}
	c, err := client.NewMultiTopicConsumer(ctx, []string{t1, t2}, sub, &stargate.ConsumerOptions{InitialPosition: stargate.Earliest})
	if err != nil {
		return fmt.Errorf("NewMultiTopicConsumer: %w", err)
	}
	defer c.Close()
	want := map[string]bool{}
	for i, p := range ps {
		payload := fmt.Sprintf("%d:%s", i, sub)
		want[payload] = true
		if _, err := p.Send(ctx, stargate.Message{Payload: []byte(payload)}).Wait(ctx); err != nil {
			return fmt.Errorf("Send: %w", err)
		}
	}
	for m, err := range c.Messages(ctx) {
		if err != nil {
			return fmt.Errorf("after %d of 2 messages: %w", 2-len(want), err)
		}
		if err := m.Ack(ctx); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
		delete(want, string(m.Payload))
		if len(want) == 0 {
			break
		}
	}
	return nil
}

// namedEntityChars is Pulsar's NamedEntity alphabet [-=:.\w] (Java's \w is
// ASCII letters, digits and "_").
const namedEntityChars = "-=:._" + namesAlnum

// TestNamesTenantsAndNamespaces: tenants and namespaces named with every
// NamedEntity character, including names of punctuation only, carry
// topics that round-trip and that the admin API lists under them.
//
// "." and ".." are left out: Pulsar 4.0.8 creates such tenants and
// namespaces, and the WebSocket API serves them, but the admin API cannot
// delete them (its internal HTTP client drops the dot segments), so a test
// could not clean up after itself.
func TestNamesTenantsAndNamespaces(t *testing.T) {
	checkLeaks(t)
	e := plain(t)
	r := namesRand(t)
	suffix := dockertest.UniqueName(t)
	suffix = suffix[len(suffix)-8:]
	gen := func() string {
		for {
			var b strings.Builder
			for range 1 + r.IntN(8) {
				b.WriteByte(namedEntityChars[r.IntN(len(namedEntityChars))])
			}
			if s := b.String(); s != "." && s != ".." {
				return s
			}
		}
	}
	// Each pair holds one part made of punctuation only or generated, and
	// one made unique by the run's suffix.
	type pair struct{ tenant, ns string }
	pairs := []pair{
		{"::", "ns-" + suffix}, {"==", "n=" + suffix}, {"-", "n:" + suffix}, {"_", "n." + suffix},
		{"...", "n_" + suffix}, {":=.-_" + suffix, "::"}, {"t." + suffix, "=="}, {"t:" + suffix, "-.-"},
	}
	for range 4 {
		pairs = append(pairs, pair{gen() + suffix, gen()}, pair{gen(), gen() + suffix})
	}
	preexisting, err := e.admin.Tenants(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, p := range pairs {
		if err := namesTenantPair(t, e, p.tenant, p.ns, !slices.Contains(preexisting, p.tenant), i); err != nil {
			t.Errorf("tenant %q, namespace %q: %v", p.tenant, p.ns, err)
			bad++
		}
	}
	t.Logf("%d/%d tenant/namespace names landed verbatim; %d went wrong", len(pairs)-bad, len(pairs), bad)
}

func namesTenantPair(t *testing.T, e *env, tenant, nsName string, dropTenant bool, i int) error {
	if err := e.admin.CreateTenant(e.ctx, tenant); err != nil {
		return fmt.Errorf("creating the tenant: %w", err)
	}
	if dropTenant {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := e.admin.DeleteTenant(ctx, tenant); err != nil {
				t.Errorf("cleanup: deleting tenant %q: %v", tenant, err)
			}
		})
	}
	ns := tenant + "/" + nsName
	if err := e.admin.CreateNamespace(e.ctx, ns, dockertest.NamespaceOptions{}); err != nil {
		return fmt.Errorf("creating the namespace: %w", err)
	}
	t.Cleanup(func() { dropNamespace(t, e.admin, ns) })
	full := "persistent://" + ns + "/t"
	if err := roundTrip(e.ctx, e.client, full, "s", fmt.Sprintf("%d:%s", i, ns)); err != nil {
		return err
	}
	listed, err := e.admin.Topics(e.ctx, ns)
	if err != nil {
		return err
	}
	if !slices.Equal(listed, []string{full}) {
		return fmt.Errorf("the broker lists %q in the namespace, want only %q", listed, full)
	}
	got, err := e.admin.Subscriptions(e.ctx, full)
	if err != nil || !slices.Contains(got, "s") {
		return fmt.Errorf("subscriptions %q (%v), want s among them", got, err)
	}
	return nil
}
