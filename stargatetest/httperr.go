package stargatetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

// httpError is a refused upgrade: the HTTP status and the message that the
// proxy passes to Jetty's sendError (§2.5).
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return strconv.Itoa(e.status) + " " + e.msg }

func errStatus(status int, msg string) *httpError { return &httpError{status: status, msg: msg} }

// writeJettyError writes an error page shaped like Jetty 9.4's ErrorHandler
// output, which is what a refused upgrade returns from a real broker.
func writeJettyError(w http.ResponseWriter, r *http.Request, e *httpError) {
	msg := e.msg
	if msg == "" {
		msg = http.StatusText(e.status)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html;charset=iso-8859-1")
	h.Set("Cache-Control", "must-revalidate,no-cache,no-store")
	w.WriteHeader(e.status)
	m := jettyEscape(msg)
	fmt.Fprintf(w, "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=ISO-8859-1\"/>\n"+
		"<title>Error %d %s</title>\n</head>\n<body><h2>HTTP ERROR %d %s</h2>\n<table>\n"+
		"<tr><th>URI:</th><td>%s</td></tr>\n<tr><th>STATUS:</th><td>%d</td></tr>\n"+
		"<tr><th>MESSAGE:</th><td>%s</td></tr>\n<tr><th>SERVLET:</th><td>-</td></tr>\n</table>\n"+
		"<hr/><a href=\"https://eclipse.org/jetty\">Powered by Jetty:// 9.4 (stargatetest)</a><hr/>\n\n</body>\n</html>\n",
		e.status, m, e.status, m, jettyEscape(rawPath(r)), e.status, m)
}

// rawPath is the request's path as sent (still escaped), which is what
// Jetty's page shows.
func rawPath(r *http.Request) string {
	p, _, _ := strings.Cut(r.RequestURI, "?")
	return p
}

// jettyEscape is Jetty's StringUtil.sanitizeXmlString for the common cases.
var jettyEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace

// brokerRefusal is how Pulsar 4.0.8's proxy reports an error the broker
// returned while creating a producer or consumer: the Java client's
// exception text, a JSON object with the broker's message, the request id
// and the internal connection's addresses.
func brokerRefusal(status int, errorMsg string) *httpError {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(errorMsg)
	return errStatus(status, fmt.Sprintf(`Failed to create producer/consumer: {"errorMsg":%s,"reqId":%d, "remote":"127.0.0.1/127.0.0.1:6650", "local":"/127.0.0.1:%d"}`,
		bytes.TrimSpace(b.Bytes()), rand.Int64(), 32768+rand.IntN(28000)))
}
