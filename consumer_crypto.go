package stargate

import (
	"context"
	"net/url"
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
// KeyReader, and asks the server for undecrypted messages; nil without.
func newConsumerCrypto(o *ConsumerOptions, q url.Values) *consumerCrypto {
	if o.KeyReader == nil {
		return nil
	}
	q.Set("cryptoFailureAction", CryptoConsume.String())
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
