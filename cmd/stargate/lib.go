package main

import (
	"context"
	"strings"

	"github.com/stargate-go/stargate"
)

// This file holds the command's uses of the stargate API around futures
// and start positions, the parts of the API most likely to move.

// waitSend waits for the outcome of one send. Every future completes (on
// acknowledgement, error, send timeout or Close); callers pass a ctx that
// is never done, so that no outcome is given up on.
func waitSend(ctx context.Context, f *stargate.SendFuture) (stargate.MessageID, error) {
	return f.Wait(ctx)
}

// readerFrom sets where a reader starts: "earliest", "latest", or after id
// (where == "id").
func readerFrom(o *stargate.ReaderOptions, where string, id stargate.MessageID) {
	switch where {
	case "earliest":
		o.Start = stargate.Earliest
	case "latest":
		o.Start = stargate.Latest
	default:
		o.StartMessageID = id
	}
}

// subscribeFromEarliest makes a new subscription start at the earliest message.
func subscribeFromEarliest(o *stargate.ConsumerOptions) {
	o.InitialPosition = stargate.Earliest
}

// cursor is where an admin command puts a subscription's cursor: Earliest,
// Latest, or a message ID (isID).
type cursor struct {
	pos  stargate.Position
	id   stargate.MessageID
	isID bool
}

// parseCursor parses earliest, latest or a message ID.
func parseCursor(s string) (cursor, error) {
	switch strings.ToLower(s) {
	case "earliest":
		return cursor{pos: stargate.Earliest}, nil
	case "latest":
		return cursor{pos: stargate.Latest}, nil
	}
	id, err := parseMessageID(s)
	return cursor{id: id, isID: true}, err
}
