package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/stargate-go/stargate"
)

// Sentinel errors matched, with errors.Is, by an *Error carrying the HTTP
// status they name.
var (
	// ErrBadRequest: 400, the server refused the request's form or values.
	ErrBadRequest = errors.New("admin: bad request")
	// ErrUnauthorized: 401, missing or invalid credentials.
	ErrUnauthorized = errors.New("admin: unauthorized")
	// ErrForbidden: 403, the role may not do this.
	ErrForbidden = errors.New("admin: forbidden")
	// ErrNotFound: 404, no such tenant, namespace, topic, subscription or
	// message.
	ErrNotFound = errors.New("admin: not found")
	// ErrNotAllowed: 405, the operation does not apply to this kind of
	// topic (e.g. peeking a partitioned topic, or deleting one with the
	// non-partitioned call).
	ErrNotAllowed = errors.New("admin: not allowed")
	// ErrConflict: 409, it already exists, or it is busy or not empty.
	ErrConflict = errors.New("admin: conflict")
	// ErrPreconditionFailed: 412, e.g. a policy value out of range, a
	// cluster the tenant may not use, partitions that cannot shrink.
	ErrPreconditionFailed = errors.New("admin: precondition failed")
	// ErrTooManyRequests: 429.
	ErrTooManyRequests = errors.New("admin: too many requests")
	// ErrServer: any 5xx status.
	ErrServer = errors.New("admin: server error")
)

// Error is the server's refusal of an admin call: a status other than 2xx,
// or a redirect the client would not follow. It matches, with errors.Is,
// the sentinel for its status (ErrNotFound for 404, …). Errors that are
// not an *Error mean the server was not reached or did not answer (see
// the errors of net/http), or, matching stargate.ErrInvalidArgument, that
// the input was refused before anything was sent.
type Error struct {
	Op         string // the method of Client that failed, e.g. "CreateTopic"
	Name       string // what it was called on, e.g. "persistent://public/default/orders"
	StatusCode int    // the HTTP status, e.g. 409
	Reason     string // the server's explanation
}

// Error gives the operation, the name, the status and the reason.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("admin: ")
	b.WriteString(e.Op)
	if e.Name != "" {
		b.WriteString(" ")
		b.WriteString(e.Name)
	}
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Reason != "" {
		b.WriteString(" ")
		b.WriteString(e.Reason)
	} else if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	return b.String()
}

// Is matches the sentinel of the status code.
func (e *Error) Is(target error) bool {
	switch e.StatusCode {
	case http.StatusBadRequest:
		return target == ErrBadRequest
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	case http.StatusForbidden:
		return target == ErrForbidden
	case http.StatusNotFound:
		return target == ErrNotFound
	case http.StatusMethodNotAllowed:
		return target == ErrNotAllowed
	case http.StatusConflict:
		return target == ErrConflict
	case http.StatusPreconditionFailed:
		return target == ErrPreconditionFailed
	case http.StatusTooManyRequests:
		return target == ErrTooManyRequests
	}
	return e.StatusCode >= 500 && target == ErrServer
}

// StatusCode returns the HTTP status of the *Error in err's chain, or -1
// when there is none (the input was refused, or the server not reached).
func StatusCode(err error) int {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.StatusCode
	}
	return -1
}

// reason extracts the server's explanation: the "reason" of Pulsar's JSON
// error body, else the status line's text when the body is an HTML error
// page (Jetty's, e.g. for a 401), else the start of the body.
func reason(status string, body []byte) string {
	var r struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(body, &r) == nil && r.Reason != "" {
		return serverMessage(r.Reason)
	}
	s := strings.TrimSpace(string(body))
	if s == "" || strings.HasPrefix(s, "<") {
		// "404 Topic not found": Pulsar puts its reason in the status line.
		_, text, _ := strings.Cut(status, " ")
		return text
	}
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}

// serverMessage shortens the reason of an unexpected server failure, which
// Pulsar gives as a banner, "Message: <text>" and a stack trace, to the
// text.
func serverMessage(r string) string {
	if _, msg, ok := strings.Cut(r, "\nMessage: "); ok && strings.Contains(r, "unexpected error occurred") {
		msg, _, _ = strings.Cut(msg, "\n")
		return strings.TrimSpace(msg)
	}
	return strings.TrimSpace(r)
}

// argErr returns the *stargate.ArgError for bad input, which matches
// stargate.ErrInvalidArgument.
func argErr(arg, value, reason string) error {
	if len(value) > 80 {
		value = value[:77] + "..."
	}
	return &stargate.ArgError{Arg: arg, Value: value, Reason: reason}
}
