package stargate

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Topic is a parsed Pulsar topic name: persistent://tenant/namespace/name.
// The zero Topic is invalid; Message.Topic is zero where the server does
// not say which topic a message came from (v3 multi-topic consumers).
type Topic struct {
	Persistent bool   // persistent:// (true) or non-persistent:// (false)
	Tenant     string // e.g. "public"
	Namespace  string // e.g. "default"
	Name       string // the local name, e.g. "orders" or "orders-partition-2"
}

// ParseTopic parses a topic name in any of Pulsar's forms:
//
//	persistent://tenant/namespace/name
//	non-persistent://tenant/namespace/name
//	tenant/namespace/name           (persistent)
//	name                            (persistent://public/default/name)
//
// Tenant and namespace must be non-empty and hold only ASCII letters,
// digits and "-=:._" (Pulsar's NamedEntity rule). The local name may hold
// any valid UTF-8 but "/" and the control characters U+0000–U+001F and
// U+007F, except what the broker cannot hold verbatim: a blank name (only
// whitespace, in Java's sense), a name ending with a space (the broker
// trims it) and a name that is only a partition suffix, "-partition-<n>"
// (the partition of a topic without a name, which the broker never
// finds). Every name ParseTopic accepts reaches the broker as written. A
// malformed name gives an *ArgError. Legacy (v1) names with a cluster
// segment are rejected.
func ParseTopic(s string) (Topic, error) {
	t := Topic{Persistent: true}
	rest := s
	switch {
	case strings.HasPrefix(s, "persistent://"):
		rest = s[len("persistent://"):]
	case strings.HasPrefix(s, "non-persistent://"):
		t.Persistent = false
		rest = s[len("non-persistent://"):]
	case strings.Contains(s, "://"):
		return Topic{}, argErr("topic", s, `domain must be "persistent" or "non-persistent"`)
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 1 && rest == s:
		t.Tenant, t.Namespace, t.Name = "public", "default", parts[0]
	case len(parts) == 3:
		t.Tenant, t.Namespace, t.Name = parts[0], parts[1], parts[2]
	default:
		return Topic{}, argErr("topic", s, "want persistent://tenant/namespace/name, tenant/namespace/name or name")
	}
	if err := t.validate(); err != nil {
		return Topic{}, argErr("topic", s, err.Error())
	}
	return t, nil
}

type topicError string

func (e topicError) Error() string { return string(e) }

func (t Topic) validate() error {
	if !namedEntity(t.Tenant) {
		return topicError(`tenant must be non-empty and hold only letters, digits and "-=:._"`)
	}
	if !namedEntity(t.Namespace) {
		return topicError(`namespace must be non-empty and hold only letters, digits and "-=:._"`)
	}
	if t.Name == "" {
		return topicError("empty topic name")
	}
	if !utf8.ValidString(t.Name) {
		return topicError("topic name is not valid UTF-8")
	}
	for _, r := range t.Name {
		if r < 0x20 || r == 0x7f {
			return topicError("topic name holds a control character")
		}
	}
	if strings.IndexFunc(t.Name, func(r rune) bool { return !javaWhitespace(r) }) < 0 {
		return topicError("topic name is blank (only whitespace)")
	}
	if strings.HasSuffix(t.Name, " ") {
		// The broker's Java client trims the full name (StringUtils.trim).
		return topicError("topic name ends with a space, which the broker would trim")
	}
	if n, ok := strings.CutPrefix(t.Name, partitionSuffix); ok && partitionIndex(n) {
		return topicError("topic name is only a partition suffix; the broker cannot look up a topic without a name")
	}
	return nil
}

const partitionSuffix = "-partition-"

// isPartitionName reports whether name is already one partition of a
// partitioned topic ("orders-partition-2").
func isPartitionName(name string) bool {
	i := strings.LastIndex(name, partitionSuffix)
	return i >= 0 && partitionIndex(name[i+len(partitionSuffix):])
}

// partitionIndex reports whether s is a partition index as Pulsar's
// TopicName reads one: a non-negative int in canonical decimal.
func partitionIndex(s string) bool {
	n, err := strconv.ParseInt(s, 10, 32)
	return err == nil && n >= 0 && strconv.FormatInt(n, 10) == s
}

// namedEntity mirrors Pulsar's NamedEntity pattern [-=:.\w]+.
func namedEntity(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '=' || c == ':' || c == '.' || c == '_':
		default:
			return false
		}
	}
	return true
}

// subscriptionProblem says what is wrong with a subscription name, or "".
// The broker takes any name that is not blank in Java's sense
// (StringUtils.isBlank: every character Character.isWhitespace), and the
// web server refuses a NUL in a URL; a name must be valid UTF-8 to reach
// the broker as written. Everything else arrives verbatim.
func subscriptionProblem(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "must not hold a NUL character"
	case strings.IndexFunc(s, func(r rune) bool { return !javaWhitespace(r) }) < 0:
		return "must not be blank (only whitespace)"
	}
	return ""
}

// javaWhitespace is Java's Character.isWhitespace: the Unicode space,
// line and paragraph separators except the no-break ones, and
// U+0009–U+000D, U+001C–U+001F.
func javaWhitespace(r rune) bool {
	switch {
	case r >= 0x09 && r <= 0x0d, r >= 0x1c && r <= 0x1f:
		return true
	case r == 0xa0, r == 0x2007, r == 0x202f:
		return false
	}
	return unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
}

// Domain returns "persistent" or "non-persistent".
func (t Topic) Domain() string {
	if t.Persistent {
		return "persistent"
	}
	return "non-persistent"
}

// String returns the full name, e.g. "persistent://public/default/orders".
func (t Topic) String() string {
	if t.Name == "" {
		return ""
	}
	return t.Domain() + "://" + t.Tenant + "/" + t.Namespace + "/" + t.Name
}

// IsZero reports whether t is the zero Topic.
func (t Topic) IsZero() bool { return t == Topic{} }

// path returns the URL path segments after the endpoint:
// "persistent/tenant/ns/escaped-name". Tenant and namespace go as they are
// (the server does not decode them; NamedEntity characters need no
// escaping); the name is escaped with escapeName.
func (t Topic) path() string {
	return t.Domain() + "/" + t.Tenant + "/" + t.Namespace + "/" + escapeName(t.Name)
}

// escapeName escapes a topic's local name or a subscription name for one
// segment of a WebSocket URL path. The server splits the raw path on "/"
// and decodes each name with Java's URLDecoder (%XX, and "+" as a space),
// so every byte but the unreserved ones (letters, digits, "-._~") is sent
// as %XX: "+" as %2B, a space as %20, "%" as %25, "/" as %2F. The result
// is a valid escaped URL path, which net/url and net/http send unchanged.
func escapeName(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// checkSubscription checks a subscription name (see subscriptionProblem).
func checkSubscription(s string) error {
	if p := subscriptionProblem(s); p != "" {
		return argErr("subscription", s, p)
	}
	return nil
}
