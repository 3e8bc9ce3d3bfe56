//go:build !unix

package main

import (
	"context"
	"io"
)

// interruptible returns r: without non-blocking descriptors, a read of a
// pipe or terminal that blocks is interrupted only by its next line or end.
func interruptible(_ context.Context, r io.Reader) (io.Reader, bool, func()) {
	return r, false, func() {}
}
