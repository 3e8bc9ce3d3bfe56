package stargate

import (
	"context"
	"errors"
)

// Produce sends msgs to topic through a producer of its own, waits for
// every acknowledgement and closes the producer: a one-shot send for
// scripts and tools. topic and opts (nil for the defaults) are those of
// NewProducer and are validated the same way; the client's settings (TLS,
// credentials, timeouts) apply. It returns the ID of each message, in
// order; if some sends failed, their IDs are zero and the error joins
// their errors. ctx bounds the whole call.
func (c *Client) Produce(ctx context.Context, topic string, opts *ProducerOptions, msgs ...Message) ([]MessageID, error) {
	p, err := c.NewProducer(ctx, topic, opts)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	futs := make([]*SendFuture, len(msgs))
	for i, m := range msgs {
		futs[i] = p.Send(ctx, m)
	}
	ids := make([]MessageID, len(msgs))
	var errs []error
	for i, f := range futs {
		if err := f.await(ctx); err != nil {
			return ids, err
		}
		ids[i], err = f.Wait(ctx)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return ids, errors.Join(errs...)
}
