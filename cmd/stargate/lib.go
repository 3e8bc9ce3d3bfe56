package main

import (
	"context"

	"github.com/stargate-go/stargate"
)

// This file holds the calls into the stargate API that are expected to
// change while the root package is redesigned (SendFuture.Wait is likely to
// take a ctx), so that adapting the command is a one-line change here.

// waitSend waits for the outcome of one send. Wait always returns (every
// future completes on acknowledgement, error, send timeout or Close); ctx
// is for the coming Wait(ctx).
func waitSend(ctx context.Context, f *stargate.SendFuture) (stargate.MessageID, error) {
	_ = ctx
	return f.Wait()
}
