package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stargate-go/stargate"
)

var produceCommand = &command{
	name:  "produce",
	brief: "send messages from arguments, a file or stdin",
	usage: produceUsage,
	run:   runProduce,
}

const produceUsage = `Usage: stargate produce TOPIC [flags]

Sends messages to TOPIC (persistent://tenant/ns/topic, tenant/ns/topic or
topic in public/default): the -m arguments, else the lines of -f FILE, else
the lines of stdin. Each line is one message; with --json each line is an
object {"key", "properties", "eventTime", "payload"} ("payload" is text or
any JSON value, "payloadBase64" binary; eventTime is RFC 3339 or epoch
milliseconds), as consume -o json prints them. The first failure stops the
input; every message read is either acknowledged or reported.

Flags:
  -m, --message TEXT      a message; repeatable
  -f, --file FILE         read messages from FILE ("-" for stdin)
  --json                  each line is a JSON message
  -k, --key KEY           key of every message (the line's own key wins)
  -P, --property K=V      a property of every message; repeatable
  --event-time            set every message's event time to the time it is read
  --deliver-after D       delay delivery by D (Shared and Key_Shared subscriptions)
  --batching              let the broker batch messages
  --batch-max-messages N  messages per batch (needs --batching; default 1000)
  --batch-max-delay D     how long a batch may wait (needs --batching; default 1ms)
  --compression C         none, lz4, zlib, zstd or snappy (default none)
  --name NAME             producer name (default: the broker's choice)
  --send-timeout D        broker-side send timeout (default 30s)
  --routing MODE          single or round-robin, for key-less messages on partitioned topics
  --hashing SCHEME        java or murmur3, how keys map to partitions
  --max-in-flight N       sends awaiting acknowledgement (default 1000)
  -v, --verbose           print the ID of each message (ledger:entry:partition:batch)
  -o json                 print {"input","id","position"} for each message

Connection flags: see 'stargate help'.
`

type produceFlags struct {
	messages     stringList
	file         string
	json         bool
	key          string
	props        stringList
	eventTime    bool
	deliverAfter time.Duration
	verbose      bool
	opts         stargate.ProducerOptions
	compression  *choice
	routing      *choice
	hashing      *choice
}

func (a *app) produceFlags() (*flag.FlagSet, *produceFlags) {
	fs := a.newFlagSet("produce")
	f := &produceFlags{
		compression: newChoice("none", "none", "lz4", "zlib", "zstd", "snappy"),
		routing:     newChoice("single", "single", "round-robin"),
		hashing:     newChoice("java", "java", "murmur3"),
	}
	fs.Var(&f.messages, "m", "")
	fs.Var(&f.messages, "message", "")
	fs.StringVar(&f.file, "f", "", "")
	fs.StringVar(&f.file, "file", "", "")
	fs.BoolVar(&f.json, "json", false, "")
	fs.StringVar(&f.key, "k", "", "")
	fs.StringVar(&f.key, "key", "", "")
	fs.Var(&f.props, "P", "")
	fs.Var(&f.props, "property", "")
	fs.BoolVar(&f.eventTime, "event-time", false, "")
	fs.DurationVar(&f.deliverAfter, "deliver-after", 0, "")
	fs.BoolVar(&f.opts.Batching, "batching", false, "")
	fs.IntVar(&f.opts.BatchingMaxMessages, "batch-max-messages", 0, "")
	fs.DurationVar(&f.opts.BatchingMaxPublishDelay, "batch-max-delay", 0, "")
	fs.Var(f.compression, "compression", "")
	fs.StringVar(&f.opts.Name, "name", "", "")
	fs.DurationVar(&f.opts.SendTimeout, "send-timeout", 0, "")
	fs.Var(f.routing, "routing", "")
	fs.Var(f.hashing, "hashing", "")
	fs.IntVar(&f.opts.MaxInFlight, "max-in-flight", 0, "")
	fs.BoolVar(&f.verbose, "v", false, "")
	fs.BoolVar(&f.verbose, "verbose", false, "")
	return fs, f
}

// options completes the producer options from the enum flags.
func (f *produceFlags) options() (*stargate.ProducerOptions, error) {
	o := f.opts
	o.Compression = map[string]stargate.CompressionType{
		"none": stargate.CompressionNone, "lz4": stargate.CompressionLZ4, "zlib": stargate.CompressionZLib,
		"zstd": stargate.CompressionZSTD, "snappy": stargate.CompressionSnappy,
	}[f.compression.val]
	if f.routing.val == "round-robin" {
		o.RoutingMode = stargate.RoutingRoundRobin
	}
	if f.hashing.val == "murmur3" {
		o.HashingScheme = stargate.Murmur3Hash
	}
	if !o.Batching && (o.BatchingMaxMessages != 0 || o.BatchingMaxPublishDelay != 0) {
		return nil, usageErr("produce: --batch-max-messages and --batch-max-delay need --batching")
	}
	return &o, nil
}

// template is what -k, -P, --event-time and --deliver-after add to each message.
func (f *produceFlags) template() (stargate.Message, error) {
	m := stargate.Message{Key: f.key, DeliverAfter: f.deliverAfter}
	for _, p := range f.props {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return m, &usageError{msg: fmt.Sprintf("produce: -P %q: want KEY=VALUE", p), hint: "stargate produce"}
		}
		if m.Properties == nil {
			m.Properties = map[string]string{}
		}
		m.Properties[k] = v
	}
	return m, nil
}

func runProduce(a *app, ctx context.Context, args []string) error {
	fs, f := a.produceFlags()
	pos, err := a.parse(fs, args, produceUsage, "TOPIC")
	if err != nil {
		return err
	}
	out, err := a.output("produce", "text", "text", "json")
	if err != nil {
		return err
	}
	opts, err := f.options()
	if err != nil {
		return err
	}
	tmpl, err := f.template()
	if err != nil {
		return err
	}
	if len(f.messages) > 0 && f.file != "" {
		return &usageError{msg: "produce: -m and -f are exclusive", hint: "stargate produce"}
	}
	src, name, closeSrc, err := a.openInput(f)
	if err != nil {
		return err
	}
	defer closeSrc()
	if _, err := stargate.ParseTopic(pos[0]); err != nil {
		return err
	}
	r, err := a.resolve()
	if err != nil {
		return err
	}
	client, err := r.client()
	if err != nil {
		return err
	}
	dctx, cancel := a.dialCtx(ctx)
	p, err := client.NewProducer(dctx, pos[0], opts)
	cancel()
	if err != nil {
		return a.dialError(ctx, err)
	}
	defer p.Close()

	pr := &producing{a: a, p: p, f: f, tmpl: tmpl, out: out, meter: a.newMeter("produced")}
	if name == "stdin" && a.stdinTTY && len(f.messages) == 0 && !a.conn.quiet {
		fmt.Fprintln(a.stderr, "reading messages from the terminal, one a line; end with Ctrl-D")
	}
	return pr.run(ctx, src, name)
}

// openInput returns the message source: the -m arguments, -f FILE or stdin.
func (a *app) openInput(f *produceFlags) (io.Reader, string, func(), error) {
	switch {
	case len(f.messages) > 0:
		return strings.NewReader(strings.Join(f.messages, "\n") + "\n"), "-m", func() {}, nil
	case f.file != "" && f.file != "-":
		fh, err := os.Open(f.file)
		if err != nil {
			return nil, "", nil, &usageError{msg: "produce: -f: " + err.Error()}
		}
		return fh, f.file, func() { fh.Close() }, nil
	}
	return a.stdin, "stdin", func() {}, nil
}

// dialError turns a failed dial into the command's error: an interrupt,
// a refusal, or a connection failure.
func (a *app) dialError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errInterrupted
	}
	var ce *stargate.ConnectError
	if errors.As(err, &ce) || errors.Is(err, stargate.ErrInvalidArgument) {
		return err
	}
	return &connectionError{fmt.Errorf("cannot connect: %w", err)}
}

// producing is one run of produce: the input loop on the caller's
// goroutine and a collector goroutine that waits for the futures in order.
type producing struct {
	a     *app
	p     *stargate.Producer
	f     *produceFlags
	tmpl  stargate.Message
	out   string
	meter *meter

	mu       sync.Mutex
	firstErr error         // the first failed send; stops the input
	failed   int64         // sends that failed
	notSent  int64         // messages read but not sent because of the interrupt
	stopped  chan struct{} // closed on the first failure
	stopOnce sync.Once
}

type sent struct {
	where string
	size  int
	fut   *stargate.SendFuture
}

func (pr *producing) run(ctx context.Context, src io.Reader, name string) error {
	pr.stopped = make(chan struct{})
	src, drains, restore := interruptible(ctx, src)
	defer restore()

	futs := make(chan sent, 256)
	var wg sync.WaitGroup
	wg.Go(func() { pr.collect(futs) })

	inErr := pr.feed(ctx, src, name, drains, futs)
	close(futs)
	interrupted := ctx.Err() != nil
	if interrupted {
		pr.a.noteInterrupt()
		if !pr.a.conn.quiet {
			pr.meter.clearLine()
			fmt.Fprintln(pr.a.stderr, "interrupted: waiting for the messages in flight (Ctrl-C again to abort)")
		}
	}
	wg.Wait() // every future has completed: the producer is flushed
	extra := ""
	if pr.failed > 0 {
		extra += fmt.Sprintf("; %d failed", pr.failed)
	}
	if pr.notSent > 0 {
		extra += fmt.Sprintf("; %d read but not sent", pr.notSent)
	}
	pr.meter.finish(extra)
	switch {
	case pr.firstErr != nil:
		return pr.firstErr
	case inErr != nil:
		return inErr
	case interrupted:
		return errInterrupted
	}
	return nil
}

// feed reads messages from src and sends them until the input ends, ctx is
// done, or a send failed. After an interrupt, the lines already read into
// the scanner's buffer are counted as not sent when drain is set (src
// then stops at once instead of reading on).
func (pr *producing) feed(ctx context.Context, src io.Reader, name string, drain bool, futs chan<- sent) error {
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		if ctx.Err() != nil {
			for n := int64(1); drain; n++ {
				if !sc.Scan() {
					pr.mu.Lock()
					pr.notSent += n
					pr.mu.Unlock()
					break
				}
			}
			return nil
		}
		line++
		where := fmt.Sprintf("%s:%d", name, line)
		if name == "-m" {
			where = fmt.Sprintf("-m #%d", line)
		}
		text := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		if pr.f.json && len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		m, err := pr.message(text)
		if err != nil {
			return &inputError{where: where, err: err}
		}
		select {
		case <-pr.stopped:
			return nil
		default:
		}
		fut := pr.p.Send(ctx, m)
		futs <- sent{where: where, size: len(m.Payload), fut: fut}
		if ctx.Err() != nil {
			return nil
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &inputError{where: fmt.Sprintf("%s:%d", name, line+1), err: errors.New("line longer than 16 MiB")}
		}
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return nil
}

// message builds the message of one input line.
func (pr *producing) message(line []byte) (stargate.Message, error) {
	m := pr.tmpl
	if pr.f.json {
		in, err := parseJSONLine(line)
		if err != nil {
			return m, err
		}
		m.Payload, m.EventTime = in.Payload, in.EventTime
		if in.Key != "" {
			m.Key = in.Key
		}
		if len(in.Properties) > 0 {
			props := make(map[string]string, len(m.Properties)+len(in.Properties))
			for k, v := range m.Properties {
				props[k] = v
			}
			for k, v := range in.Properties {
				props[k] = v
			}
			m.Properties = props
		}
	} else {
		m.Payload = bytes.Clone(line)
	}
	if pr.f.eventTime && m.EventTime.IsZero() {
		m.EventTime = time.Now()
	}
	return m, nil
}

// collect waits for each future in order, prints IDs as asked and counts.
func (pr *producing) collect(futs <-chan sent) {
	w := bufio.NewWriter(pr.a.stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	for s := range futs {
		id, err := waitSend(context.Background(), s.fut)
		if err != nil {
			pr.fail(s.where, err)
			continue
		}
		pr.meter.add(s.size)
		switch {
		case pr.out == "json":
			enc.Encode(struct {
				Input    string `json:"input"`
				ID       string `json:"id"`
				Position string `json:"position"`
			}{s.where, id.String(), position(id)})
		case pr.f.verbose:
			fmt.Fprintln(w, position(id))
		}
		if len(futs) == 0 {
			w.Flush()
		}
	}
}

// fail records a failed send; the first one stops the input.
func (pr *producing) fail(where string, err error) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if errors.Is(err, context.Canceled) {
		// Interrupted while waiting for room in the window: read but
		// not sent; run reports the interrupt.
		pr.notSent++
		return
	}
	pr.failed++
	if pr.firstErr == nil {
		if errors.Is(err, stargate.ErrInvalidArgument) {
			err = &inputError{where: where, err: err}
		} else {
			err = fmt.Errorf("%s: %w", where, err)
		}
		pr.firstErr = err
	}
	pr.stopOnce.Do(func() { close(pr.stopped) })
}
