//go:build unix

package main

import (
	"context"
	"io"
	"os"
	"syscall"
	"time"
)

// interruptible returns a reader of r whose blocked Read returns once ctx
// is done, and the cleanup that undoes it. A pipe or terminal is read
// through a non-blocking duplicate of its descriptor, so that a deadline
// can interrupt the read (a blocking read of stdin cannot be interrupted,
// and a goroutine left in it would have no owner to wait for it). Other
// readers, and regular files, whose reads never block for long, are
// returned as they are. interrupts reports whether the returned reader
// stops at once when ctx is done.
func interruptible(ctx context.Context, r io.Reader) (_ io.Reader, interrupts bool, cleanup func()) {
	f, ok := r.(*os.File)
	if !ok {
		return r, false, func() {}
	}
	if st, err := f.Stat(); err != nil || st.Mode().IsRegular() {
		return r, false, func() {}
	}
	sc, err := f.SyscallConn()
	if err != nil {
		return r, false, func() {}
	}
	fd := -1
	if err := sc.Control(func(orig uintptr) { fd, err = syscall.Dup(int(orig)) }); err != nil || fd < 0 {
		return r, false, func() {}
	}
	// The flag belongs to the open file description, shared with f and
	// with whoever else holds it (the shell): cleanup clears it again.
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return r, false, func() {}
	}
	nf := os.NewFile(uintptr(fd), f.Name())
	restore := func() {
		if sc, err := nf.SyscallConn(); err == nil {
			sc.Control(func(fd uintptr) { syscall.SetNonblock(int(fd), false) })
		}
		nf.Close()
	}
	if err := nf.SetReadDeadline(time.Time{}); err != nil { // not pollable
		restore()
		return r, false, func() {}
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		nf.SetReadDeadline(time.Now())
	})
	return nf, true, func() {
		if !stop() {
			<-fired // the callback ran or is running: wait for it
		}
		restore()
	}
}
