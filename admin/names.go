package admin

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stargate-go/stargate"
)

// Names are checked before any request: tenants and namespaces follow
// Pulsar's NamedEntity rule, topics stargate.ParseTopic's, subscriptions
// the broker's (not blank, valid UTF-8, no NUL). A bad name is a
// *stargate.ArgError.

const v2 = "/admin/v2"

// tenantPath returns "/admin/v2/tenants/<tenant>".
func tenantPath(tenant string) (string, error) {
	if !namedEntity(tenant) {
		return "", argErr("tenant", tenant, `must be non-empty and hold only letters, digits and "-=:._"`)
	}
	return v2 + "/tenants/" + tenant, nil
}

// namespacePath returns "/admin/v2/namespaces/<tenant>/<ns>".
func namespacePath(ns string) (string, error) {
	p, err := namespaceSegments(ns)
	if err != nil {
		return "", err
	}
	return v2 + "/namespaces/" + p, nil
}

// namespaceSegments checks "tenant/ns" and returns it.
func namespaceSegments(ns string) (string, error) {
	tenant, local, ok := strings.Cut(ns, "/")
	if !ok || strings.Contains(local, "/") {
		return "", argErr("namespace", ns, `want "tenant/namespace"`)
	}
	if !namedEntity(tenant) || !namedEntity(local) {
		return "", argErr("namespace", ns, `tenant and namespace must be non-empty and hold only letters, digits and "-=:._"`)
	}
	return ns, nil
}

// topicRef is a checked topic: its parsed name and admin path.
type topicRef struct {
	topic stargate.Topic
	path  string // "/admin/v2/persistent/<tenant>/<ns>/<escaped name>"
}

func (t topicRef) String() string { return t.topic.String() }

// partition returns the partition index of a partition's name
// ("orders-partition-2" → 2), else -1.
func (t topicRef) partition() int32 {
	i := strings.LastIndex(t.topic.Name, "-partition-")
	if i < 0 {
		return -1
	}
	n, err := strconv.ParseInt(t.topic.Name[i+len("-partition-"):], 10, 32)
	if err != nil || n < 0 {
		return -1
	}
	return int32(n)
}

// parseTopic checks a topic name in any form stargate.ParseTopic accepts.
func parseTopic(s string) (topicRef, error) {
	t, err := stargate.ParseTopic(s)
	if err != nil {
		return topicRef{}, err
	}
	return topicRef{topic: t, path: v2 + "/" + t.Domain() + "/" + t.Tenant + "/" + t.Namespace + "/" + escapeName(t.Name)}, nil
}

// subscriptionPath returns the topic's path + "/subscription/<escaped sub>".
func subscriptionPath(t topicRef, sub string) (string, error) {
	if why := subscriptionProblem(sub); why != "" {
		return "", argErr("subscription", sub, why)
	}
	return t.path + "/subscription/" + escapeSubscription(sub), nil
}

// subscriptionProblem says what is wrong with a subscription name, or "":
// the broker takes any name that is not blank in Java's sense, and the
// web server refuses a NUL in a URL.
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

// javaWhitespace is Java's Character.isWhitespace.
func javaWhitespace(r rune) bool {
	switch {
	case r >= 0x09 && r <= 0x0d, r >= 0x1c && r <= 0x1f:
		return true
	case r == 0xa0, r == 0x2007, r == 0x202f:
		return false
	}
	return unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
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
