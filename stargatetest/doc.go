// Package stargatetest provides an in-process fake of Apache Pulsar's
// WebSocket API for unit tests, in the spirit of net/http/httptest,
// miniredis and franz-go's kfake.
//
// A [Server] listens on a loopback port and serves the producer, consumer
// and reader endpoints of /ws/v2 and the multi-topic consumer of /ws/v3
// with the real proxy's JSON frames, query parameters, HTTP statuses at
// upgrade and flow-control arithmetic. Topics live in memory. Admin
// methods create, terminate and delete topics, publish and list messages
// and report stats; fault hooks drop connections, delay or withhold
// producer acks, fail sends and refuse upgrades.
//
// The same port serves the admin REST API v2 calls of package admin
// that unit tests need, so admin.New(srv.URL(), nil) works against it:
//
//   - topics: list (GET /admin/v2/{persistent,non-persistent}/{tenant}/{ns}
//     and …/partitioned), create (PUT …/{topic}, PUT …/{topic}/partitions),
//     partition metadata and update (GET and POST …/partitions), delete
//     (DELETE …/{topic} and …/{topic}/partitions, ?force=true), unload,
//     terminate (…/terminate, …/terminate/partitions) and lastMessageId;
//   - subscriptions: list (…/subscriptions), create at earliest, latest or
//     an id (PUT …/subscription/{sub}), delete (?force=true), resetcursor
//     to a time or an id, skip/{n}, skip_all, expireMessages/{seconds};
//   - stats (…/stats, …/partitioned-stats with perPartition): msgIn/out
//     and byte counters, storage and backlog sizes, publishers, and per
//     subscription type, msgBacklog, unackedMessages (Shared and
//     Key_Shared only, as on the broker), msgOutCounter and consumers.
//
// They answer with Pulsar 4.0.8's statuses and reason texts: 204 without
// a body for changes, {"reason": "…"} with 404 for an unknown topic or
// subscription, 409 for one that exists (or a non-partitioned topic given
// to a partitioned call), 412 for a non-forced delete of something in use,
// 405 for skip, terminate or a reset cursor to a position (even earliest
// or latest; a reset to a time is allowed) on a partitioned topic's base
// name, 422 for fewer partitions. Subscription names in paths are decoded twice, like the
// broker does. A reset cursor or a forced subscription delete leaves the
// WebSockets open, as on the broker, whose proxy consumer re-subscribes:
// after a reset the subscription's consumers get the messages again from
// the new position (deliveries outstanding are forgotten); after a forced
// delete the subscription is created again at the consumer's initial
// position. Unload is accepted and changes nothing (on the broker,
// without retention, it also closes the ledger, whose acknowledged
// messages are then deleted: a later reset to earliest finds fewer). Tokens
// are checked as for the WebSocket endpoints; Options.Authorize is not
// consulted.
//
//	func TestOrders(t *testing.T) {
//		srv := stargatetest.New(t, nil) // closed by t.Cleanup
//		srv.CreatePartitionedTopic("orders", 3)
//		// point the client under test at srv.URL() …
//		msgs, _ := srv.Messages("orders")
//		_ = msgs
//	}
//
// # Behaviour
//
// The behaviour follows the protocol reference that stargate is written
// against (docs/pulsar-websocket-protocol.md, "§" numbers in comments),
// for a broker-embedded WebSocket service of Pulsar 4.0, and is held to a
// real Pulsar 4.0.8 (Jetty 9.4.58) by the conformance suite in
// integration/conformance, which runs the same cases against both:
//
//   - Path parsing on the raw URI with form decoding of topic and
//     subscription; 400 for bad parameters ("Invalid query params: …"),
//     401/403 for authentication and authorization, 404 for unknown topics
//     when auto-creation is off, 409 for busy producer names and
//     subscriptions, 503 for producers on terminated topics, 500 for the
//     rest (reader failures always 500), each with Jetty 9.4's HTML error
//     page; broker refusals (409, 503) carry the proxy's
//     "Failed to create producer/consumer: {"errorMsg":…}" text.
//   - Producer acks with result, messageId, context, errorMsg, errorCode
//     and schemaVersion present or absent exactly as the proxy writes
//     them; send-error:3, 7 and 8; batching (acks carry batch_index with
//     batch_size 0, consumed messages the batch's size; a batch of one is
//     a plain message); "key":"" is a key; SinglePartition and
//     RoundRobinPartition routing with Java's String.hashCode or Murmur3.
//   - Message ids are base64 MessageIdData with per-topic ledger ids,
//     entry ids from 0, the partition when a partitioned topic is used
//     through its base name, batch index and size.
//   - Push windows (receiverQueueSize, freed by any ack or nack frame) and
//     pull-mode permits with the proxy's counter arithmetic, including
//     its quirks.
//   - Exclusive, Shared, Failover and Key_Shared subscriptions; Durable
//     and NonDurable; Latest and Earliest; nack delay, ack timeout,
//     redelivery counts (Shared and Key_Shared only), dead-letter topics,
//     delayed delivery (Shared and Key_Shared only), unsubscribe,
//     isEndOfTopic; readers from earliest, latest or an id (exclusive);
//     v3 consumers on topic lists and patterns.
//
// # Differences from a real broker
//
//   - Timing: there is no prefetch. The real proxy's Java consumer reads up
//     to receiverQueueSize messages ahead of the socket, so on a real
//     broker Shared and Key_Shared consumers can be assigned messages they
//     have not seen yet and ack timeouts can fire for them. Here a message
//     is assigned only when it is written to the socket.
//   - Ack timeouts fire exactly ackTimeoutMillis after delivery (the Java
//     client uses a tick of up to a second more); nack delays are exact.
//   - Redelivery order: redeliveries go out in position order before new
//     messages. Key_Shared assigns each new key to the consumer with the
//     fewest keys and keeps it there until that consumer leaves; there are
//     no hash ranges and no draining when consumers join. (Failover is
//     modelled: among the highest priority, partition % consumers sorted
//     by name on partitions, the broker's Murmur3 hash ring of consumer
//     names otherwise — name consumers to know which one is active.)
//     priorityLevel does not rank Shared consumers.
//   - Acks are applied at once (the Java client groups them for ~100 ms).
//     The per-socket id cache never expires (the real one: 1 hour).
//   - Client-side end-to-end encryption (PIP-290) is carried through: a
//     producer's JSON encryptionKeys and each send's encryptionParam,
//     compressionType and uncompressedMessageSize are stored and come back
//     as encryptionContext to consumers with cryptoFailureAction=CONSUME
//     (DISCARD drops encrypted messages, FAIL withholds them, as the proxy
//     without keys does; readers get no encryptionContext). The server
//     never decrypts.
//   - Not modelled: schemas, compression, server-side encryption,
//     chunking, deduplication and sequence ids, replication, non-persistent
//     semantics (non-persistent topics behave like persistent ones),
//     retention, TTL and backlog quotas, producer back-pressure and send
//     timeouts, ledger rollover, idle timeouts and server pings, the
//     standalone proxy's stats endpoints, topic unload (accepted, no
//     effect), tenants, namespaces and their policies, the rest of the
//     admin API (peek, get message, compaction, permissions, internal
//     stats: Jetty's 404 page), rates (always 0).
//   - Admin stats count messages where the broker counts entries (a batch
//     is one entry in msgBacklog unless getPreciseBacklog); sizes count
//     payload bytes only, without the broker's per-entry metadata.
//   - Admin calls take effect at once; on the broker acks, expiry and
//     stats land asynchronously, so tests written against both poll.
//   - Authentication is only token→role with the broker-embedded ordering:
//     a missing or unknown token fails before any other check with 401
//     "Authentication required" (a standalone proxy validates consumer
//     parameters first and says "Failed to authenticate").
//   - Server-side session failures are modelled on Pulsar 4.0.8: failures
//     the handler reports as WebSocketError 3 (bad command JSON, an id that
//     is not MessageIdData, a permit without permitMessages, a failed
//     unsubscribe) drop the connection without a close frame, because
//     Jetty 9.4 refuses the code; exceptions escaping a handler (a
//     non-base64 id, a missing messageId) close with 1011 and the
//     exception's message. A real JVM drops NullPointerException messages
//     once the throw site is hot (OmitStackTraceInFastThrow): the reason
//     then becomes "NullPointerException" and a send-error:7 for a missing
//     payload loses its errorMsg; the fake always sends the full text.
//   - Error texts are the real ones for the common cases, but texts taken
//     from Java exceptions on unusual input are approximations: send-error:3
//     carries Go's JSON error instead of Jackson's, the "at index N" of a
//     bad eventTime is 0 or the string's length, reader start ids that are
//     not MessageIdData give "Failed to create reader: invalid message id…"
//     instead of Netty/protobuf exception texts, and broker refusals use a
//     random reqId and made-up addresses.
//   - isEndOfTopic: a consumer sees true once the topic is terminated and
//     its subscription has no backlog (everything acknowledged, as on the
//     real broker), a reader once it has been sent everything; the real
//     broker signals the end asynchronously, so poll.
//   - The DeleteTopic method is always forced; the admin API's DELETE
//     without force=true refuses a topic in use with 412, as the broker
//     does. A forced delete (either way) drops the topic's sockets, and a
//     client that reconnects creates the topic again (auto-creation). On
//     Pulsar 4.0.8 the WebSockets stay open instead, and the proxy's
//     producers and consumers re-create the topic, with its
//     subscriptions, at once.
//   - publishTime uses Options.Now in its location; timers use the real
//     clock, so tests of delays take real time.
//
// # Closing
//
// [Server.Close] drops every socket without a close frame and waits for
// every goroutine the Server started; admin methods keep working on the
// stored state afterwards.
package stargatetest
