package wsconn

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	// ErrMessageTooLarge is returned by Write for a message over Options.WriteLimit.
	// The connection stays usable.
	ErrMessageTooLarge = errors.New("wsconn: message exceeds the write limit")

	// ErrReadLimit is the close cause when the peer sent a message over
	// Options.ReadLimit: the connection is closed with 1009.
	ErrReadLimit = errors.New("wsconn: inbound message exceeds the read limit")

	// ErrKeepaliveTimeout is the close cause when the peer sent nothing (no message,
	// ping or pong) for 2.5 keepalive intervals.
	ErrKeepaliveTimeout = errors.New("wsconn: keepalive timeout: peer silent")
)

// HandshakeError reports that the server refused the WebSocket upgrade with an HTTP status.
type HandshakeError struct {
	StatusCode int    // HTTP status of the refusal, e.g. 401
	Message    string // the server's short human-readable reason; may be empty
}

func (e *HandshakeError) Error() string {
	s := fmt.Sprintf("wsconn: upgrade refused: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// CloseError reports that the peer sent a close frame. Code is 1005 (no status) when
// the frame had no payload.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("wsconn: closed by peer: %d", e.Code)
	}
	return fmt.Sprintf("wsconn: closed by peer: %d %s", e.Code, e.Reason)
}

const (
	maxBodyRead   = 16 << 10 // bytes of a refusal body we look at
	maxMessageLen = 200      // bytes of HandshakeError.Message
)

var (
	// Jetty 10+/11/12 error page: <tr><th>MESSAGE:</th><td>…</td></tr>
	reJettyMessage = regexp.MustCompile(`(?is)<th>\s*MESSAGE:\s*</th>\s*<td>(.*?)</td>`)
	// Jetty 9: <pre>…</pre>
	rePre   = regexp.MustCompile(`(?is)<pre>(.*?)</pre>`)
	reTitle = regexp.MustCompile(`(?is)<title>(.*?)</title>`)
	reTag   = regexp.MustCompile(`(?s)<[^>]*>`)
	// "Error 401 Authentication required" → "Authentication required"
	reErrorPrefix = regexp.MustCompile(`(?i)^(?:HTTP\s+)?ERROR:?\s*\d{3}\s*[-:]?\s*`)
)

// readRefusal reads what is buffered of a refusal body and extracts its message.
func readRefusal(resp *http.Response) string {
	if resp.Body == nil {
		return ""
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyRead)) // the socket is closed: only buffered bytes arrive
	return extractMessage(resp.Header.Get("Content-Type"), body)
}

// extractMessage returns a short human message from an HTTP error body: a JSON
// "message"/"reason"/"error" field, a Jetty HTML error page's MESSAGE, <pre> or
// <title>, or the first line of plain text.
func extractMessage(contentType string, body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return ""
	}
	var msg string
	switch {
	case s[0] == '{':
		msg = jsonMessage(body)
	case s[0] == '<' || strings.Contains(contentType, "html"):
		msg = htmlMessage(s)
	default:
		msg, _, _ = strings.Cut(s, "\n")
	}
	return shorten(msg)
}

func jsonMessage(body []byte) string {
	var v map[string]any
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	for _, k := range []string{"message", "reason", "error"} {
		if s, ok := v[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func htmlMessage(s string) string {
	for _, re := range []*regexp.Regexp{reJettyMessage, rePre, reTitle} {
		if m := re.FindStringSubmatch(s); m != nil {
			text := strings.TrimSpace(html.UnescapeString(reTag.ReplaceAllString(m[1], " ")))
			if re == reTitle {
				text = reErrorPrefix.ReplaceAllString(text, "")
			}
			if text != "" {
				return text
			}
		}
	}
	return ""
}

// shorten collapses whitespace and cuts s to maxMessageLen bytes on a rune boundary.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxMessageLen {
		return s
	}
	cut := maxMessageLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
