package main

import (
	"context"

	"github.com/stargate-go/stargate"
)

// This file holds the command's uses of stargate API that the root
// package's redesign is changing, so that adapting the command is a change
// here only: SendFuture.Wait takes a ctx there, and Earliest and Latest
// become a Position (ReaderOptions.Start, ConsumerOptions.InitialPosition)
// instead of MessageIDs.

// waitSend waits for the outcome of one send. Wait always returns (every
// future completes on acknowledgement, error, send timeout or Close); ctx
// is for the coming Wait(ctx), and callers pass one that is never done.
func waitSend(ctx context.Context, f *stargate.SendFuture) (stargate.MessageID, error) {
	_ = ctx
	return f.Wait()
}

// readerFrom sets where a reader starts: "earliest", "latest", or after id
// (where == "id").
func readerFrom(o *stargate.ReaderOptions, where string, id stargate.MessageID) {
	switch where {
	case "earliest":
		o.StartMessageID = stargate.Earliest
	case "latest":
		o.StartMessageID = stargate.Latest
	default:
		o.StartMessageID = id
	}
}

// subscribeFromEarliest makes a new subscription start at the earliest message.
func subscribeFromEarliest(o *stargate.ConsumerOptions) {
	o.InitialPosition = stargate.PositionEarliest
}

// cursorAt is the admin package's form of earliest or latest (for
// CreateSubscription and ResetCursor).
func cursorAt(earliest bool) stargate.MessageID {
	if earliest {
		return stargate.Earliest
	}
	return stargate.Latest
}
