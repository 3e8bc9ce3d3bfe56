package wsconn

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestExtractMessage(t *testing.T) {
	long := strings.Repeat("é", 300)
	cases := []struct {
		name, ct, body, want string
	}{
		{"jetty9", "text/html", jetty9Page, "Authentication required"},
		{"jetty10 entities", "text/html", jetty10Page, "Producer with name 'p1' is already connected to topic"},
		{"title only", "text/html", titleOnlyPage, "Server Error"},
		{"json message", "application/json", `{"message":"Param topic is invalid"}`, "Param topic is invalid"},
		{"json reason", "application/json", `{"reason":"Subscription is busy"}`, "Subscription is busy"},
		{"json without known field", "application/json", `{"code":7}`, ""},
		{"bad json", "application/json", `{"message":`, ""},
		{"plain first line", "text/plain", "  Forbidden\nat org.eclipse...", "Forbidden"},
		{"whitespace collapsed", "text/html", "<pre>\n  Not   authorized\n</pre>", "Not authorized"},
		{"nested tags", "text/html", "<html><pre><b>Topic</b> not found</pre></html>", "Topic not found"},
		{"empty", "", " \n ", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := extractMessage(tc.ct, []byte(tc.body)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	got := extractMessage("text/plain", []byte(long))
	if len(got) > maxMessageLen+len("…") || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("long message cut badly: %d bytes, valid=%v", len(got), utf8.ValidString(got))
	}
}

func TestErrorStrings(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&HandshakeError{401, "Authentication required"}, "wsconn: upgrade refused: 401 Unauthorized: Authentication required"},
		{&HandshakeError{404, ""}, "wsconn: upgrade refused: 404 Not Found"},
		{&CloseError{4001, "topic deleted"}, "wsconn: closed by peer: 4001 topic deleted"},
		{&CloseError{1005, ""}, "wsconn: closed by peer: 1005"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
