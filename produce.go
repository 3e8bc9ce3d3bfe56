package stargate

import (
	"context"
	"errors"
	"net/url"
	"strings"
)

// Produce sends msgs through a producer URL and waits for every
// acknowledgement, then closes the connection: a one-shot send for scripts
// and tools. rawURL is a full producer endpoint, for example
//
//	ws://localhost:8080/ws/v2/producer/persistent/public/default/orders?batchingEnabled=true
//
// whose query parameters are passed to the server as they are (a "token"
// parameter included). It returns the ID of each message, in order; if
// some sends failed, their IDs are zero and the error joins their errors.
// ctx bounds the whole call.
func Produce(ctx context.Context, rawURL string, msgs ...Message) ([]MessageID, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, argErr("producer URL", redactURL(rawURL), err.Error())
	}
	const prefix = "/ws/v2/producer/"
	i := strings.Index(u.EscapedPath(), prefix)
	if i < 0 {
		return nil, argErr("producer URL", u.Redacted(), "want ws[s]://host:port/ws/v2/producer/{persistent|non-persistent}/tenant/namespace/topic")
	}
	segs := strings.SplitN(u.EscapedPath()[i+len(prefix):], "/", 4)
	if len(segs) != 4 {
		return nil, argErr("producer URL", u.Redacted(), "want .../ws/v2/producer/{persistent|non-persistent}/tenant/namespace/topic")
	}
	name, err := url.QueryUnescape(segs[3])
	if err != nil {
		return nil, argErr("producer URL", u.Redacted(), "topic: "+err.Error())
	}
	t, err := ParseTopic(segs[0] + "://" + segs[1] + "/" + segs[2] + "/" + name)
	if err != nil {
		return nil, err
	}
	base := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.EscapedPath()[:i]}
	c, err := NewClient(base.String(), nil)
	if err != nil {
		return nil, err
	}
	o := (*ProducerOptions)(nil).withDefaults()
	p, err := c.newProducer(ctx, t, o, u.Query())
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
		id, err := f.Wait(ctx)
		ids[i] = id
		if err != nil {
			errs = append(errs, err)
		}
	}
	return ids, errors.Join(errs...)
}

// redactURL hides the token query parameter of a URL that failed to parse.
func redactURL(s string) string {
	if i := strings.Index(s, "?"); i >= 0 {
		return s[:i] + "?…"
	}
	return s
}
