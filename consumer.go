package stargate

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stargate-go/stargate/internal/backpressure"
)

// Consumer receives the messages of a subscription over one WebSocket
// connection: one topic (/ws/v2) or several topics or a pattern (/ws/v3).
//
// Only one Messages sequence may be ranged at a time; Message.Ack and
// Message.Nack are safe from any goroutine, and so are the other methods.
//
// If the connection is lost, the consumer re-subscribes with backoff and
// the broker redelivers what was not acknowledged; the range loop does not
// see the loss, and Ack on the lost connection returns nil. Messages may
// therefore be delivered more than once. A NonDurable subscription does not
// survive the loss: the broker drops it with its last consumer, so
// unacknowledged messages and those published while disconnected are not
// redelivered.
type Consumer struct {
	params       url.Values
	topic        Topic   // zero for v3 consumers
	topics       []Topic // a v3 consumer's topic list, for SeekTime
	subscription string  // for Seek
	nonDurable   bool
	l            *link
	in           *inbox
	seq          sequence
	crypto       *consumerCrypto // client-side decryption; nil without ConsumerOptions.KeyReader

	permitMu   sync.Mutex
	permits    *backpressure.Permits // nil in push mode
	permitSock *sock                 // the socket the permits' credit was granted on
}

// NewConsumer subscribes to topic (any form ParseTopic accepts) as
// subscription and returns once the broker has created the consumer, or
// with the server's refusal as a *ConnectError (ErrBusy for an Exclusive
// subscription that already has a consumer). ctx bounds the connection
// attempt only; opts may be nil.
func (c *Client) NewConsumer(ctx context.Context, topic, subscription string, opts *ConsumerOptions) (*Consumer, error) {
	t, err := ParseTopic(topic)
	if err != nil {
		return nil, err
	}
	if err := checkSubscription(subscription); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	return c.newConsumer(ctx, "/ws/v2/consumer/"+t.path()+"/"+escapeName(subscription), t, subscription, o, q)
}

// NewMultiTopicConsumer subscribes to several topics at once through the
// v3 endpoint (Pulsar 3.2 and later). Messages from it carry no Topic: the
// server does not say where each came from. Without DeadLetter.Topic, the
// server names the dead-letter topic after the first topic of the list.
func (c *Client) NewMultiTopicConsumer(ctx context.Context, topics []string, subscription string, opts *ConsumerOptions) (*Consumer, error) {
	for _, t := range topics {
		if strings.Contains(t, ",") {
			return nil, argErr("topics", t, "a topic name in a list must not hold a comma")
		}
	}
	return c.newV3(ctx, topics, "", subscription, opts)
}

// NewPatternConsumer subscribes to every topic whose full name matches the
// regular expression pattern, within one namespace, through the v3
// endpoint, e.g. "persistent://public/default/orders-.*". The server
// matches with Java's regular expressions and only against persistent
// topics; the pattern must also compile as a Go (RE2) expression, which is
// checked before dialing. Without DeadLetter.Topic, the server names the
// dead-letter topic after the pattern.
func (c *Client) NewPatternConsumer(ctx context.Context, pattern, subscription string, opts *ConsumerOptions) (*Consumer, error) {
	if pattern == "" {
		return nil, argErr("topics pattern", "", "must not be empty")
	}
	return c.newV3(ctx, nil, pattern, subscription, opts)
}

func (c *Client) newV3(ctx context.Context, topics []string, pattern, subscription string, opts *ConsumerOptions) (*Consumer, error) {
	if err := checkSubscription(subscription); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	list, err := multiTopicQuery(q, topics, pattern)
	if err != nil {
		return nil, err
	}
	cons, err := c.newConsumer(ctx, "/ws/v3/consumer/"+escapeName(subscription), Topic{}, subscription, o, q)
	if err == nil {
		cons.topics = list
	}
	return cons, err
}

// multiTopicQuery sets topics or topicsPattern for a v3 consumer and
// returns the topics of a list (none for a pattern).
func multiTopicQuery(q url.Values, topics []string, pattern string) ([]Topic, error) {
	if pattern != "" {
		if _, err := regexp.Compile(pattern); err != nil {
			return nil, argErr("topics pattern", pattern, "not a regular expression: "+err.Error())
		}
		q.Set("topicsPattern", pattern)
		return nil, nil
	}
	if len(topics) == 0 {
		return nil, argErr("topics", "", "need at least one topic")
	}
	names := make([]string, len(topics))
	list := make([]Topic, len(topics))
	for i, s := range topics {
		t, err := ParseTopic(s)
		if err != nil {
			return nil, err
		}
		names[i], list[i] = t.String(), t
	}
	q.Set("topics", strings.Join(names, ","))
	return list, nil
}

func (c *Client) newConsumer(ctx context.Context, path string, t Topic, sub string, o ConsumerOptions, q url.Values) (*Consumer, error) {
	cons := &Consumer{params: q, topic: t, subscription: sub, nonDurable: o.Mode == NonDurable, in: newInbox(o.window(), t, nil)}
	cons.crypto = newConsumerCrypto(&o, q)
	cons.seq.take = cons.take
	if o.PullMode {
		cons.permits = backpressure.NewPermits(o.PullWindow, o.PullWindow/2)
	}
	cons.l = c.newLink(path, cons)
	if t.IsZero() { // v3: the topics are in the query
		cons.l.info.Topic = cmp.Or(q.Get("topics"), q.Get("topicsPattern"))
	}
	cons.in.l = cons.l
	if err := cons.l.start(ctx); err != nil {
		return nil, err
	}
	return cons, nil
}

// Messages returns a single-use iterator over the messages delivered to
// the consumer. At most one of msg and err is non-zero, and a non-nil err is
// the last pair yielded:
//
//   - ctx done: an error for which errors.Is(err, ctx.Err()) holds;
//   - Close: ErrClosed;
//   - a failure the consumer could not recover from (for example a
//     reconnect refused with 401): that error, e.g. a *ConnectError.
//
// Lost connections are not errors: the consumer reconnects and the broker
// redelivers unacknowledged messages. Breaking out of the loop stops
// demand but keeps the subscription; ranging again resumes where it left
// off. After Close or a failure, ranging again yields the terminal error
// once. Only one range may run at a time: another one yields
// ErrConcurrentIteration.
//
// Every message must be acknowledged (Ack) or negatively acknowledged
// (Nack); in push mode the server stops sending after ReceiverQueueSize
// unacknowledged messages. In pull mode the loop's demand is what asks the
// server for messages: a loop that stops asking (a full errgroup, a break)
// makes the server stop sending once PullWindow messages are ahead.
func (c *Consumer) Messages(ctx context.Context) iter.Seq2[Message, error] {
	return c.seq.messages(ctx)
}

// Batches is Messages grouped into slices of at most size messages: a batch
// is yielded when it is full or wait after its first message arrived,
// whichever comes first. The contract of Messages applies (one range at a
// time, Batches and Messages included); each message must still be
// acknowledged.
func (c *Consumer) Batches(ctx context.Context, size int, wait time.Duration) iter.Seq2[[]Message, error] {
	return c.seq.batches(ctx, size, wait)
}

// take is the sequences' source: demand, then the next message. A
// message of a socket that has died is dropped: the broker redelivers it
// (Ack on it would do nothing), and after Seek it is from before the seek.
func (c *Consumer) take(ctx context.Context) (Message, error) {
	for {
		if m, ok := c.crypto.pop(); ok {
			c.in.got(ctx, m)
			return m, nil
		}
		c.demand()
		m, err := c.in.next(ctx, 0)
		if err != nil {
			return m, err
		}
		if m.from.s.dead() {
			continue
		}
		c.taken(m)
		if c.crypto != nil && m.Encryption != nil {
			var ok bool
			if m, ok, err = c.open(ctx, m); err != nil || !ok {
				if err != nil {
					return Message{}, err
				}
				continue
			}
		}
		c.in.got(ctx, m)
		return m, nil
	}
}

// demand records that the loop wants a message and, in pull mode, sends a
// permit frame when the credit has run low.
func (c *Consumer) demand() {
	if c.permits == nil {
		return
	}
	c.permitMu.Lock()
	defer c.permitMu.Unlock()
	c.permit(c.l.current())
}

// permit sends what Demand asks for on s; permitMu is held. Credit belongs
// to the socket it was granted on: a new socket starts from none, so what
// the old one was owed is never counted twice.
func (c *Consumer) permit(s *sock) {
	if s != c.permitSock {
		c.permits.Reset()
		c.permitSock = s
	}
	n := c.permits.Demand()
	if n <= 0 {
		return
	}
	var buf [64]byte
	b := append(buf[:0], `{"type":"permit","permitMessages":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '}')
	// A failed write means the socket is lost: connected resets the credit
	// and permits again on the next socket.
	if s.write(b) == nil && c.l.obs != nil {
		c.l.obs.Permitted(PermitEvent{Handle: c.l.info, Permits: n})
	}
}

// taken records that m was handed to the loop; only a message of the
// socket that holds the credit spends it.
func (c *Consumer) taken(m Message) {
	if c.permits == nil {
		return
	}
	c.permitMu.Lock()
	if m.from.s == c.permitSock {
		c.permits.Taken()
	}
	c.permitMu.Unlock()
}

// IsEndOfTopic reports whether the topic has been terminated and the
// subscription has received every message in it.
func (c *Consumer) IsEndOfTopic(ctx context.Context) (bool, error) {
	return c.in.isEndOfTopic(ctx)
}

// Unsubscribe deletes the subscription and closes the consumer. The server
// refuses while other consumers are connected to the subscription: it
// closes the connection instead, and Unsubscribe returns an error that
// wraps the close (a *CloseError, say); the consumer then reconnects.
func (c *Consumer) Unsubscribe(ctx context.Context) error {
	s := c.l.current()
	if err := c.l.ended(); err != nil {
		return err
	}
	if err := s.write([]byte(`{"type":"unsubscribe"}`)); err != nil {
		return err
	}
	// The server answers nothing; it closes the session if unsubscribing
	// failed. A reply to a later query proves the unsubscribe was done.
	reply, err := c.in.conn(s).askEndOfTopic()
	if err != nil {
		return err
	}
	select {
	case <-reply:
		return c.Close()
	case <-s.conn.Done():
		return fmt.Errorf("stargate: unsubscribe failed: %w", orClosed(c.l.translate(s.conn.Err(), "")))
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close closes the connection. Messages that were delivered but not
// acknowledged go back to the subscription. A range in progress ends with
// ErrClosed. Close is idempotent, safe from any goroutine and bounded in
// time; it returns nil.
func (c *Consumer) Close() error {
	c.l.close()
	return nil
}

// endpoint implementation.

func (c *Consumer) query() url.Values { return cloneValues(c.params) }

func (c *Consumer) prepare(s *sock) receiver { return c.in.attach(s, false) }

func (c *Consumer) connected(s *sock) {
	if c.permits == nil {
		return
	}
	c.permitMu.Lock()
	defer c.permitMu.Unlock()
	if c.seq.active() {
		c.permit(s)
	}
}

func (c *Consumer) lost(*sock, error) { c.in.drain() }

func (c *Consumer) failed(error) {}

func (c *Consumer) tick(time.Time) {}
