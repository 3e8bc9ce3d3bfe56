package stargate

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"time"
)

// TokenFromFile returns a ClientOptions.TokenProvider that reads the token
// from the file at path: a Kubernetes projected service-account token, a
// secret mounted by an agent, any file another process rotates. The file is
// read at the first dial and again whenever its modification time, size or
// identity (a new file renamed or linked into place, as the kubelet does)
// has changed since, so each reconnect sends the current token without
// reading an unchanged file. Leading and trailing white space is trimmed,
// and so is a "Bearer " prefix. A file that cannot be read, is empty or
// holds more than one word fails the dial with a *TokenFileError naming
// the file (never its contents); a reconnecting handle retries it with
// backoff. The provider is safe for concurrent use.
func TokenFromFile(path string) func(ctx context.Context) (string, error) {
	f := &tokenFile{path: path}
	return f.token
}

// TokenFileError reports a token file that could not be used. The dial
// fails with it, wrapped (errors.As finds it).
type TokenFileError struct {
	Path string // the file, as given to TokenFromFile
	Err  error  // why: an *fs.PathError from the file system, or what is wrong with the contents
}

// Error names the file and the reason.
func (e *TokenFileError) Error() string {
	msg := e.Err.Error()
	if pe := (*os.PathError)(nil); errors.As(e.Err, &pe) {
		msg = pe.Op + ": " + pe.Err.Error() // the path is named once, below
	}
	return "stargate: token file " + e.Path + ": " + msg
}

// Unwrap returns the cause, so that errors.Is(err, fs.ErrNotExist) works.
func (e *TokenFileError) Unwrap() error { return e.Err }

type tokenFile struct {
	path string

	mu   sync.Mutex
	info os.FileInfo // of the file last read; nil before the first read
	tok  string
}

func (f *tokenFile) token(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	info, err := os.Stat(f.path)
	if err != nil {
		return "", &TokenFileError{Path: f.path, Err: err}
	}
	if f.info != nil && sameVersion(f.info, info) {
		return f.tok, nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return "", &TokenFileError{Path: f.path, Err: err}
	}
	tok := strings.TrimSpace(string(b))
	tok = strings.TrimSpace(strings.TrimPrefix(tok, "Bearer "))
	switch {
	case tok == "":
		return "", &TokenFileError{Path: f.path, Err: errors.New("the file is empty")}
	case strings.ContainsAny(tok, " \t\r\n"):
		return "", &TokenFileError{Path: f.path, Err: errors.New("the file holds more than one word; want the bare token")}
	}
	f.info, f.tok = info, tok
	return tok, nil
}

// sameVersion reports whether b describes the file a described, unchanged.
func sameVersion(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && time.Since(b.ModTime()) > mtimeGranularity
}

// mtimeGranularity covers file systems with coarse modification times: a
// file modified this recently is read again even if it looks unchanged, as
// a second write within the same tick would keep its time and maybe its size.
const mtimeGranularity = 2 * time.Second
