package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/stargate-go/stargate"
)

// recvFlags are what consume and read share.
type recvFlags struct {
	count       int
	wait        time.Duration
	forceBase64 bool
	name        string
}

const recvUsage = `  -n, --count N           stop after N messages (default: until interrupted)
  --wait D                stop when no message came for D
  --base64                print every payload in base64 (text: base64:…; json: "payloadBase64")
  --name NAME             consumer or reader name (default: the broker's choice)
  -o FORMAT               text (default): one line a message, [position publishTime key=…
                          event=… property=…] payload; json: one JSON object a line (id,
                          position, topic, key, properties, publishTime, eventTime,
                          redeliveryCount, payload as text or payloadBase64), the lines
                          produce's JSON mode reads; payload: the raw payload, then a newline
`

func (f *recvFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.count, "n", 0, "")
	fs.IntVar(&f.count, "count", 0, "")
	fs.DurationVar(&f.wait, "wait", 0, "")
	fs.BoolVar(&f.forceBase64, "base64", false, "")
	fs.StringVar(&f.name, "name", "", "")
}

func (f *recvFlags) check(cmd string) error {
	if f.count < 0 {
		return &usageError{msg: fmt.Sprintf("%s: -n %d: must not be negative", cmd, f.count), hint: "stargate " + cmd}
	}
	if f.wait < 0 {
		return &usageError{msg: fmt.Sprintf("%s: --wait %s: must not be negative", cmd, f.wait), hint: "stargate " + cmd}
	}
	return nil
}

// errIdle is the cause of a receive ended by --wait.
var errIdle = errors.New("no message within --wait")

// receiving is one run of consume or read: it prints each message, then
// acknowledges it (consume), until -n, --wait, the end of the topic, an
// interrupt or a failure.
type receiving struct {
	a     *app
	f     *recvFlags
	mw    *msgWriter
	meter *meter
	ack   bool
	// done, if set, reports whether m is the last message wanted (read --end).
	done func(m stargate.Message) bool
}

func (rc *receiving) run(ctx context.Context, messages func(context.Context) iter.Seq2[stargate.Message, error]) error {
	rctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel(nil)
		wg.Wait()
	}()
	kick := make(chan struct{}, 1)
	if rc.f.wait > 0 {
		wg.Go(func() { idle(rctx, cancel, rc.f.wait, kick) })
	}
	// Acks only queue a frame; they must not be refused because ctx ended
	// right after the message was printed.
	ackCtx := context.WithoutCancel(ctx)
	n, err := 0, error(nil)
	for m, merr := range messages(rctx) {
		if merr != nil {
			err = merr
			break
		}
		select {
		case kick <- struct{}{}:
		default:
		}
		if err = rc.mw.write(m); err != nil {
			err = fmt.Errorf("writing to stdout: %w", err)
			break
		}
		if rc.ack {
			if err = m.Ack(ackCtx); err != nil {
				err = fmt.Errorf("ack: %w", err)
				break
			}
		}
		rc.meter.add(len(m.Payload))
		n++
		if n == rc.f.count || (rc.done != nil && rc.done(m)) {
			break
		}
	}
	rc.meter.finish("")
	switch {
	case err == nil:
		return nil
	case errors.Is(context.Cause(rctx), errIdle) && ctx.Err() == nil:
		return nil
	case ctx.Err() != nil:
		rc.a.noteInterrupt()
		if rc.f.count > 0 && n < rc.f.count {
			return errInterrupted
		}
		return nil // until interrupted: that is the normal end
	}
	return err
}

// idle cancels ctx with errIdle when no kick came for d.
func idle(ctx context.Context, cancel context.CancelCauseFunc, d time.Duration, kick <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			cancel(errIdle)
			return
		case <-kick:
			t.Reset(d)
		case <-ctx.Done():
			return
		}
	}
}

var consumeCommand = &command{
	name:  "consume",
	brief: "print and acknowledge the messages of a subscription",
	usage: consumeUsage,
	run:   runConsume,
}

const consumeUsage = `Usage: stargate consume TOPIC -s SUBSCRIPTION [flags]

Subscribes to TOPIC and prints each message on stdout, then acknowledges
it (a message is acknowledged only once it is written). Runs until -n
messages, --wait or Ctrl-C; Ctrl-C writes the pending acknowledgements and
closes the consumer. Unacknowledged messages go back to the subscription.

Flags:
  -s, --subscription SUB  subscription name (required)
  -t, --type TYPE         exclusive (default), shared, failover or key-shared
  --position POS          where a new subscription starts: latest (default) or earliest
  --ack                   acknowledge each message (default true; --ack=false to leave them)
  --non-durable           a subscription that ends with the consumer
` + recvUsage + `
Connection flags: see 'stargate help'.
`

func runConsume(a *app, ctx context.Context, args []string) error {
	fs := a.newFlagSet("consume")
	var rf recvFlags
	rf.register(fs)
	var sub string
	ack, nonDurable := true, false
	typ := newChoice("exclusive", "exclusive", "shared", "failover", "key-shared")
	pos := newChoice("latest", "latest", "earliest")
	fs.StringVar(&sub, "s", "", "")
	fs.StringVar(&sub, "subscription", "", "")
	fs.Var(typ, "t", "")
	fs.Var(typ, "type", "")
	fs.Var(pos, "position", "")
	fs.BoolVar(&ack, "ack", true, "")
	fs.BoolVar(&nonDurable, "non-durable", false, "")
	args, err := a.parse(fs, args, consumeUsage, "TOPIC")
	if err != nil {
		return err
	}
	if err := rf.check("consume"); err != nil {
		return err
	}
	if sub == "" {
		return &usageError{msg: "consume: -s SUBSCRIPTION is required", hint: "stargate consume"}
	}
	format, err := a.output("consume", "text", "text", "json", "payload")
	if err != nil {
		return err
	}
	opts := &stargate.ConsumerOptions{
		Type: map[string]stargate.SubscriptionType{
			"exclusive": stargate.Exclusive, "shared": stargate.Shared,
			"failover": stargate.Failover, "key-shared": stargate.KeyShared,
		}[typ.val],
		Name: rf.name,
		// Pull mode: the broker sends no more than the loop takes, so
		// that -n 1 does not take a thousand messages from the
		// subscription.
		PullMode:   true,
		PullWindow: window(rf.count),
	}
	if pos.val == "earliest" {
		subscribeFromEarliest(opts)
	}
	if nonDurable {
		opts.Mode = stargate.NonDurable
	}
	r, err := a.resolve()
	if err != nil {
		return err
	}
	client, err := r.client()
	if err != nil {
		return err
	}
	c, err := a.subscribe(ctx, client, args[0], sub, opts)
	if err != nil {
		return a.dialError(ctx, err)
	}
	defer c.Close() // after the acks: Close writes what is queued, then closes
	rc := &receiving{a: a, f: &rf, mw: newMsgWriter(a.stdout, format, rf.forceBase64), meter: a.newMeter("consumed"), ack: ack}
	return rc.run(ctx, c.Messages)
}

// busyRetry is how long consume retries a subscription refused with 409:
// the broker lets go of a closed Exclusive or Failover consumer
// asynchronously, so a consume run right after another one on the same
// subscription is refused for a moment.
const busyRetry = 3 * time.Second

// subscribe creates the consumer, retrying a 409 for up to busyRetry.
func (a *app) subscribe(ctx context.Context, client *stargate.Client, topic, sub string, opts *stargate.ConsumerOptions) (*stargate.Consumer, error) {
	give := time.Now().Add(busyRetry)
	for {
		dctx, cancel := a.dialCtx(ctx)
		c, err := client.NewConsumer(dctx, topic, sub, opts)
		cancel()
		if err == nil || !errors.Is(err, stargate.ErrBusy) || time.Now().After(give) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// window is the pull window for -n count: no more than wanted, at most 1000.
func window(count int) int {
	if count > 0 && count < 1000 {
		return count
	}
	return 1000
}
