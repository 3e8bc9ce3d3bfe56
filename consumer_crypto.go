package stargate

import (
	"context"
)

// consumerCrypto is a consumer's client-side decryption: the decryptor,
// the failure action, and the messages split from a batch that the loop
// has not taken yet (touched only by the loop's goroutine).
type consumerCrypto struct {
	d      *decryptor
	action CryptoFailureAction
	split  []Message
}

// newConsumerCrypto returns the decryption state of a consumer with a
// KeyReader; nil without. (The query asks the server for undecrypted
// messages then: see the cryptoFailureAction row in params.go.)
func newConsumerCrypto(o *ConsumerOptions) *consumerCrypto {
	if o.KeyReader == nil {
		return nil
	}
	return &consumerCrypto{d: newDecryptor(o.KeyReader), action: o.CryptoFailureAction}
}

// pop returns the next message split from a batch, if any.
func (cc *consumerCrypto) pop() (Message, bool) {
	if cc == nil || len(cc.split) == 0 {
		return Message{}, false
	}
	m := cc.split[0]
	cc.split[0] = Message{}
	cc.split = cc.split[1:]
	return m, true
}

// splitRest returns, counted as received, the next message left from a
// decrypted batch, if any. The loop's source (Consumer.take) asks it
// before taking from the inbox.
func (c *Consumer) splitRest(ctx context.Context) (Message, bool) {
	for {
		m, ok := c.crypto.pop()
		if !ok {
			return Message{}, false
		}
		if m.batch != nil && m.batch.ack.from.s.dead() {
			continue // the rest of a batch whose socket died: the broker redelivers the entry
		}
		c.in.got(ctx, m)
		return m, true
	}
}

// decrypted turns m, just taken from the inbox, into what the loop gets,
// counted as received: m itself, or with a KeyReader its decryption (the
// first message of a batch; splitRest has the rest). ok is false when
// nothing is to be delivered: look again. err is a *CryptoError under
// CryptoFail.
func (c *Consumer) decrypted(ctx context.Context, m Message) (_ Message, ok bool, _ error) {
	if c.crypto != nil && m.Encryption != nil {
		var err error
		if m, ok, err = c.open(ctx, m); err != nil || !ok {
			return Message{}, false, err
		}
	}
	c.in.got(ctx, m)
	return m, true, nil
}

// open decrypts m. ok is false when nothing is to be delivered (a
// discarded message, or a batch whose messages were all compacted out);
// err is the *CryptoError of CryptoFail.
func (c *Consumer) open(ctx context.Context, m Message) (_ Message, ok bool, _ error) {
	cc := c.crypto
	ms, err := cc.d.open(m)
	if err != nil {
		c.in.stats.cryptoFailed.Add(1)
		switch cc.action {
		case CryptoDiscard:
			if m.Ack(ctx) == nil {
				c.in.stats.discarded.Add(1)
			}
			return Message{}, false, nil
		case CryptoConsume:
			return m, true, nil
		}
		return Message{}, false, err
	}
	if len(ms) == 0 {
		_ = m.Ack(ctx) // every message of the batch was compacted out
		return Message{}, false, nil
	}
	cc.split = append(cc.split[:0], ms[1:]...)
	return ms[0], true, nil
}
