//go:build unix

package main

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// A read of a pipe that blocks returns once ctx is done, and the pipe is
// usable as before afterwards.
func TestInterruptible(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	in, interrupts, cleanup := interruptible(ctx, r)
	if !interrupts {
		t.Fatal("a pipe is not interruptible")
	}
	w.Write([]byte("line\n"))
	buf := make([]byte, 10)
	if n, err := in.Read(buf); err != nil || string(buf[:n]) != "line\n" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	timer := time.AfterFunc(100*time.Millisecond, cancel)
	defer timer.Stop()
	start := time.Now()
	_, err = in.Read(buf) // blocks until cancel
	if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("read after cancel: %v after %s", err, time.Since(start))
	}
	cleanup()
	w.Write([]byte("more\n"))
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "more\n" {
		t.Fatalf("the pipe after cleanup: %q, %v", buf[:n], err)
	}
	// Readers that are not files are returned as they are.
	if _, ok, cleanup := interruptible(context.Background(), io.MultiReader()); ok {
		t.Error("a MultiReader is interruptible")
	} else {
		cleanup()
	}
}
