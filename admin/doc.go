// Package admin is a client for Pulsar's admin REST API (/admin/v2): it
// manages tenants, namespaces and their policies, topics and
// subscriptions, reads topic stats, and peeks at stored messages, decoded
// into stargate.Message.
//
// It uses only the standard library and the stargate package. A [Client]
// is safe for concurrent use; every call takes a context.
//
//	c, err := admin.New("http://localhost:8080", &admin.Options{Token: tok})
//	err = c.CreatePartitionedTopic(ctx, "persistent://public/default/orders", 4)
//	st, err := c.PartitionedTopicStats(ctx, "public/default/orders", nil)
//	err = c.ResetCursorToTime(ctx, "public/default/orders", "billing", time.Now().Add(-10*time.Minute))
//
// # Names
//
// Topics are named in any form stargate.ParseTopic accepts
// ("persistent://tenant/ns/name", "tenant/ns/name", "name"), namespaces as
// "tenant/namespace". Names are checked before any request and escaped
// for the broker (which decodes topic names once and subscription names
// twice), so every name the broker can hold reaches it as written.
//
// # Policies
//
// Retention, message TTL, deduplication and backlog quotas can be set on
// a namespace ([Client.SetRetention], …) or on one topic
// ([Client.SetTopicRetention], …), which overrides its namespace. Getters
// return set=false when there is no policy of that level's own. Topic
// policies take effect asynchronously.
//
// # Messages
//
// [Client.PeekMessages] and [Client.GetMessage] return stored messages as
// stargate.Message values, batches split into their messages. The broker
// sends a non-batched message's key and properties in HTTP headers encoded
// in ISO-8859-1: characters beyond it do not survive (inside a batch
// they do).
//
// # Errors
//
// Bad input is refused before anything is sent with a *stargate.ArgError,
// which matches stargate.ErrInvalidArgument. A refusal of the server is an
// [*Error] with the HTTP status, the server's reason and the operation; it
// matches [ErrNotFound], [ErrConflict], [ErrUnauthorized] and the other
// sentinels of its status. A few misses are found by the client itself
// and match ErrNotFound without being an *Error: peeking an unknown
// subscription, a batch index beyond its batch. A failing
// Options.TokenProvider gives its error, wrapped. Any other error
// means the server was not reached or did not answer; it keeps ctx.Err()
// matchable.
//
// # Connections
//
// Several service URLs may be given: a call that cannot connect to one
// moves on to the next (a read-only call also after a failure in flight).
// Brokers redirect calls about a topic they do not own to the broker that
// does (307); the Client follows such redirects itself, with the method,
// body and credentials, where net/http would drop the Authorization header
// for another host. It refuses a redirect from https to http.
package admin
