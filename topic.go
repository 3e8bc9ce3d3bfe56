package stargate

import (
	"net/url"
	"strings"
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
// Tenant and namespace may hold letters, digits and "-=:._"; the name may
// hold anything but "/" and control characters. A malformed name gives an
// *ArgError. Legacy (v1) names with a cluster segment are rejected.
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
	return nil
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
// "persistent/tenant/ns/escaped-name". The name is escaped the way Pulsar's
// own Codec.encode does (form encoding), since the server form-decodes it:
// a "+" left unescaped would become a space.
func (t Topic) path() string {
	return t.Domain() + "/" + t.Tenant + "/" + t.Namespace + "/" + url.QueryEscape(t.Name)
}
