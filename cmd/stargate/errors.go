package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/admin"
)

// Exit statuses; the package doc explains them.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitConnection  = 3
	exitRefused     = 4
	exitInterrupted = 130
)

// usageError is a mistake on the command line.
type usageError struct {
	msg  string
	hint string // the command whose -h helps, e.g. "stargate produce"
}

func (e *usageError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// inputError is bad input data: a line that is not a message.
type inputError struct {
	where string // "stdin:3", "-m 2"
	err   error
}

func (e *inputError) Error() string { return e.where + ": " + e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// connectionError marks an error as the failure to reach the server.
type connectionError struct{ err error }

func (e *connectionError) Error() string { return e.err.Error() }
func (e *connectionError) Unwrap() error { return e.err }

// errInterrupted ends a command that a signal stopped before it was done.
var errInterrupted = errors.New("interrupted")

// exitCode classifies err.
func exitCode(err error) int {
	var (
		ue  *usageError
		ie  *inputError
		ce  *stargate.ConnectError
		se  *stargate.SendError
		cle *stargate.CloseError
		ae  *admin.Error
		ne  net.Error
		ve  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		rhe tls.RecordHeaderError
		cn  *connectionError
	)
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ie):
		return exitFailure
	case errors.As(err, &ce), errors.As(err, &se), errors.As(err, &cle), errors.As(err, &ae),
		errors.Is(err, stargate.ErrTopicTerminated):
		return exitRefused
	case errors.Is(err, stargate.ErrInvalidArgument):
		return exitUsage // a malformed topic name, an option out of range
	case errors.As(err, &cn), errors.As(err, &ne), errors.As(err, &ve), errors.As(err, &ua),
		errors.As(err, &he), errors.As(err, &rhe),
		errors.Is(err, stargate.ErrSendTimeout), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded):
		return exitConnection
	}
	return exitFailure
}
