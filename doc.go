// Package stargate is a client for Apache Pulsar's WebSocket API: it
// produces to, consumes from and reads Pulsar topics through a broker's or
// proxy's /ws/v2 and /ws/v3 endpoints, where Pulsar's binary protocol is
// impractical (HTTP load balancers and proxies, restricted networks).
//
// A [Client] holds the service URL, TLS settings and credentials. Each
// [Producer], [Consumer] and [Reader] it creates owns one WebSocket (or
// several, see Partition-parallel handles) and the goroutines that serve
// it, and is closed on its own; nothing keeps a
// registry of handles. Concurrency beyond that — fan-out to workers, ordered
// acknowledgement — is composed by the caller with errgroup or conc.
//
// # Producing
//
// [Producer.Send] returns a [SendFuture] at once; [SendFuture.Wait] returns
// the [MessageID] the broker assigned, or the error:
//
//	p, err := client.NewProducer(ctx, "persistent://public/default/orders", nil)
//	fut := p.Send(ctx, stargate.Message{Key: "k1", Payload: body})
//	id, err := fut.Wait(ctx)
//
// The Pulsar WebSocket server never pushes back on a fast producer, so the
// producer keeps its own window ([ProducerOptions.MaxInFlight],
// [ProducerOptions.MaxInFlightBytes]): Send waits for a slot as long as its
// ctx allows, and never longer. Every send carries a unique context id and
// acknowledgements are matched by it, in whatever order they arrive.
// [Client.Produce] is a one-shot send: a producer that lives for one call.
//
// # Consuming
//
// [Consumer.Messages] and [Reader.Messages] return iterators:
//
//	for msg, err := range consumer.Messages(ctx) {
//		if err != nil {
//			return err // ctx's error, ErrClosed, or what the consumer gave up on
//		}
//		handle(msg)
//		if err := msg.Ack(ctx); err != nil {
//			return err
//		}
//	}
//
// A sequence is single-use: a non-nil error is the last pair it yields;
// break stops demand but keeps the subscription, and ranging again resumes;
// only one range may run per handle at a time. Messages stay valid after
// the loop body, so they can be handed to workers and acknowledged there
// ([Message.Ack], [Message.Nack]). Every subscription type (Exclusive,
// Shared, Failover, Key_Shared), durable and non-durable subscriptions,
// dead-letter policies and the v3 multi-topic endpoint
// ([Client.NewMultiTopicConsumer], [Client.NewPatternConsumer]) are
// supported. A [Reader] reads from [Earliest], [Latest] or after a
// [MessageID]; the start is exclusive, as the server offers no other.
// [ReaderOptions.StartTime] starts a reader at a point in time, and
// [Consumer.Seek] and [Consumer.SeekTime] move a subscription back or
// forward; these three use the broker's admin REST API.
// Earliest and Latest are also where a new subscription starts
// ([ConsumerOptions.InitialPosition]).
//
// # Partition-parallel handles
//
// One WebSocket connection is served by one broker thread. On a
// partitioned topic, [ProducerOptions.PerPartition] and
// [ConsumerOptions.PerPartition] open one connection per partition
// instead of one to the topic's name: the producer routes each message as
// the broker's partitioned producer would (same key, same partition), the
// consumer merges the partitions into one sequence, and each connection
// reconnects on its own. [ConsumerOptions.Connections] opens several
// connections to one Shared or Key_Shared subscription. The handles keep
// their API: futures, Flush, Stats, Ack and Nack work as with one
// connection.
//
// # Flow control
//
// In push mode (the default) the server sends up to
// [ConsumerOptions.ReceiverQueueSize] unacknowledged messages and then
// waits for acknowledgements. In pull mode ([ConsumerOptions.PullMode]) the
// iterator's demand becomes permit frames: the server is never more than
// [ConsumerOptions.PullWindow] messages ahead of what the loop has taken. A
// loop that stops asking — a full errgroup.Group with SetLimit, a conc pool
// at its limit, a break — makes the server stop sending. Readers send their
// flow-control acknowledgements themselves.
//
// # Errors
//
// Bad input — a malformed topic, an unknown enum value, an option out of
// range, a payload whose frame exceeds the server's limit — is an
// [*ArgError] (matching [ErrInvalidArgument]) that names the field, returned
// before anything is sent; a live connection is never harmed by it. A
// refused connection is a [*ConnectError] carrying the HTTP status and the
// server's message, matching [ErrBadRequest], [ErrUnauthorized],
// [ErrForbidden], [ErrTopicNotFound], [ErrBusy], [ErrTooManyRequests] or
// [ErrServer]. A message the broker refused is a [*SendError].
// [IsRetryable] says whether retrying a failed dial or send can help. A terminated topic ends
// its producers with an error matching [ErrTopicTerminated]. [ErrClosed]
// follows Close. Every wrap keeps ctx's error matchable with errors.Is.
//
// # Observing
//
// [Producer.Stats], [Consumer.Stats] and [Reader.Stats] return snapshots of
// atomic counters: messages sent, acknowledged, failed and pending, received
// and redelivered, acked and nacked by the loop, reconnects, and the last
// error with its time. For metrics and traces, [ClientOptions.Observer]
// takes an [Observer], a small hook the handles call on sends, deliveries,
// acknowledgements, permits and connection events; the module
// github.com/stargate-go/stargate/otel implements it with OpenTelemetry,
// carrying W3C trace context in message properties. With no Observer set,
// nothing is built or copied for one.
//
// # Reconnecting and delivery guarantees
//
// A handle whose connection is lost redials with exponential backoff and
// jitter ([ClientOptions.ReconnectDelay], [ClientOptions.MaxReconnectDelay]),
// moving on to the next service URL when the client has several, and asking
// [ClientOptions.TokenProvider] for a fresh token. Refusals that cannot
// heal (400, 401, 403, 404, and 503 for a terminated topic) end the handle
// with that error instead of retrying, as does a message over
// [ClientOptions.MaxMessageSize] ([ErrMessageTooLarge]), which the broker
// would send again after every reconnect. Losses are never yielded as errors:
//
//   - a producer sends again, in their original order, the messages not yet
//     acknowledged; a message whose acknowledgement was lost with the
//     connection may be stored twice;
//   - a consumer re-subscribes and the broker redelivers what was not
//     acknowledged, so a message may be delivered twice, and an Ack sent on
//     a lost connection is dropped (the message comes back; Ack returns
//     nil). A NonDurable subscription is the exception: the broker forgets
//     it with its last consumer, so what was not acknowledged and what was
//     published while disconnected is lost, and the consumer resumes at its
//     InitialPosition;
//   - a reader keeps what it had received and resumes right after it,
//     yielding neither a gap nor a repeat; see [Reader] for the two cases
//     the server's start positions make weaker (a Latest reader that has
//     received nothing yet, and partitioned topics, which are re-read from
//     Earliest).
//
// A frame from the server that cannot be decoded ends the handle with a
// [*ProtocolError] rather than being skipped (skipping would lose a message
// silently); frames of an unknown type are ignored. What each handle
// guarantees under each kind of fault, measured against a real broker, is
// in docs/guarantees.md.
//
// Delivery is therefore at-least-once; deduplicate by payload or key where
// that matters. A future still completes on every path: with its ID, the
// server's error, [ErrSendTimeout] after [ProducerOptions.SendTimeout] plus
// a grace period, [ErrTopicTerminated], or [ErrClosed].
//
// # Closing
//
// Close is idempotent, safe from any goroutine while others are in Send,
// Wait, Messages or Ack, bounded in time even against a peer that stopped
// reading, and joins every goroutine the handle started. It completes
// pending futures with ErrClosed and ends active sequences with ErrClosed;
// [Producer.Flush] waits for pending sends first.
//
// # Security
//
// TLS verification is on unless [ClientOptions.InsecureSkipVerify] is set;
// [ClientOptions.RootCAs] trusts a custom CA and
// [ClientOptions.Certificates] presents a client certificate (mutual TLS).
// A JWT ([ClientOptions.Token], or [ClientOptions.TokenProvider] asked at
// every dial) travels in the Authorization header; the browser-style token
// query parameter is used only with [ClientOptions.TokenInQuery]. No error
// text or log line contains the token. [TokenFromFile] reads a token file
// that another process rotates; package oauth2 gets tokens with OAuth2
// client credentials.
//
// Connections honour HTTPS_PROXY, HTTP_PROXY and NO_PROXY, tunnelling
// through the proxy with HTTP CONNECT ([ClientOptions.Proxy],
// [ClientOptions.NetDialContext]); a refusing proxy is a [*ProxyError].
//
// # End-to-end encryption
//
// [ProducerOptions.Encryption] encrypts messages in the client (PIP-290,
// Pulsar 3.2 and later), in Pulsar's own scheme (AES-GCM data keys wrapped
// with RSA-OAEP or ECIES), so that the official clients decrypt them and
// stargate decrypts theirs; the broker never sees a key.
// [ConsumerOptions.KeyReader] decrypts, decompresses and splits batches; a
// [CryptoKeyReader] such as [FileKeyReader] supplies PEM keys. A message
// received still encrypted carries its [EncryptionContext] in
// [Message.Encryption], and [Decrypt] decrypts it later. Readers cannot
// decrypt: the server sends them no encryption context.
//
// # Testing
//
// Package stargatetest runs an in-process fake of the Pulsar WebSocket API
// for unit tests, like net/http/httptest; a conformance suite holds it to a
// real broker.
package stargate
