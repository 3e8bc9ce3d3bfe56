package stargatetest

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// namedEntity is Pulsar's NamedEntity rule for tenants and namespaces (§1.3).
var namedEntity = regexp.MustCompile(`^[-=:.\w]*$`)

// normalizeTopic turns "persistent://t/ns/x", "t/ns/x" or "x" into the full
// name, like Java's TopicName.get (§1.5).
func normalizeTopic(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("Invalid topic name: %q", name)
	}
	if domain, rest, ok := strings.Cut(name, "://"); ok {
		if domain != "persistent" && domain != "non-persistent" {
			return "", fmt.Errorf("Invalid topic domain: %s", domain)
		}
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return "", fmt.Errorf("Invalid topic name: %s", name)
		}
		if !namedEntity.MatchString(parts[0]) || !namedEntity.MatchString(parts[1]) {
			return "", fmt.Errorf("Invalid named entity: %s", name)
		}
		return name, nil
	}
	switch parts := strings.Split(name, "/"); len(parts) {
	case 1:
		return "persistent://public/default/" + name, nil
	case 3:
		return normalizeTopic("persistent://" + name)
	default:
		return "", fmt.Errorf("Invalid short topic name '%s', it should be in the format of <tenant>/<namespace>/<topic> or <topic>", name)
	}
}

// namespaceOf returns "persistent://t/ns" for a full topic name.
func namespaceOf(full string) string {
	domain, rest, _ := strings.Cut(full, "://")
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 {
		return full
	}
	return domain + "://" + parts[0] + "/" + parts[1]
}

// partitionIndex returns N for a "…-partition-N" name, else -1.
func partitionIndex(full string) int32 {
	i := strings.LastIndex(full, "-partition-")
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(full[i+len("-partition-"):])
	if err != nil || n < 0 {
		return -1
	}
	return int32(n)
}

func partitionName(parent string, i int) string {
	return parent + "-partition-" + strconv.Itoa(i)
}

// formDecode is Java's URLDecoder: %XX and '+' → space, bytes that are
// not UTF-8 decoded as U+FFFD.
func formDecode(s string) (string, error) {
	d, err := url.QueryUnescape(s)
	if err != nil {
		return "", err
	}
	return strings.ToValidUTF8(d, "\uFFFD"), nil
}

// javaTrim is Java's String.trim (and StringUtils.trim): it strips every
// character up to U+0020 from both ends. The broker's Java client trims
// the topic names it is given, so "t " is served as "t".
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// javaBlank is StringUtils.isBlank: only characters for which Java's
// Character.isWhitespace holds (the Unicode space separators but the
// no-break ones, line and paragraph separators, U+0009–U+000D and
// U+001C–U+001F), or none.
func javaBlank(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		switch {
		case r >= 0x09 && r <= 0x0d, r >= 0x1c && r <= 0x1f:
			return false
		case r == 0xa0, r == 0x2007, r == 0x202f:
			return true
		}
		return !unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
	}) < 0
}

// blankSubscription is the Java client's refusal of a blank subscription
// name, which the proxy reports after checking the other parameters.
const blankSubscription = "Invalid query params: subscriptionName cannot be blank"

// wsPath is a parsed /ws/v2 or /ws/v3 request path.
type wsPath struct {
	endpoint     string // producer, consumer, reader, v3consumer
	topic        string // full name; empty for v3
	subscription string
}

// parsePath parses the raw request URI as the proxy does (§1.3). The error
// carries the HTTP status: 400 for consumer segment rules, 500 otherwise.
// The topic is the name the broker serves: trailing characters up to
// U+0020 trimmed (the Java client trims). A subscription is returned as
// decoded; a blank one is refused by the caller after the parameters.
func parsePath(rawURI string) (wsPath, *httpError) {
	raw, _, _ := strings.Cut(rawURI, "?")
	if strings.Contains(raw, "%00") {
		return wsPath{}, errStatus(400, "Bad Request") // Jetty refuses a NUL in the path
	}
	seg := strings.Split(raw, "/")
	if len(seg) >= 4 && seg[1] == "ws" && seg[2] == "v3" && seg[3] == "consumer" {
		if len(seg) != 5 || seg[4] == "" {
			return wsPath{endpoint: "v3consumer"}, nil // refused after the topics are checked
		}
		sub, err := formDecode(seg[4])
		if err != nil {
			return wsPath{}, errStatus(500, err.Error())
		}
		return wsPath{endpoint: "v3consumer", subscription: sub}, nil
	}
	p := wsPath{endpoint: seg[3]}
	if len(seg) < 8 {
		return p, errStatus(500, iae+": Invalid topic name format")
	}
	last := len(seg)
	if p.endpoint == "consumer" {
		if len(seg) != 9 {
			return p, errStatus(400, "Invalid query params: Invalid topic name format")
		}
		last = 8
		sub, err := formDecode(seg[8])
		if err != nil {
			return p, errStatus(500, err.Error())
		}
		if sub == "" {
			return p, errStatus(400, "Invalid query params: Empty subscription name")
		}
		p.subscription = sub
	}
	domain, tenant, ns := seg[4], seg[5], seg[6]
	if domain != "persistent" && domain != "non-persistent" {
		return p, errStatus(500, iae) // TopicDomain.getEnum throws without a message
	}
	for _, e := range []string{tenant, ns} {
		if !namedEntity.MatchString(e) {
			return p, errStatus(500, iae+": Invalid named entity: "+e)
		}
	}
	var local []string
	for _, s := range seg[7:last] {
		if s != "" {
			local = append(local, s)
		}
	}
	name, err := formDecode(strings.Join(local, "/"))
	if err != nil {
		return p, errStatus(500, err.Error())
	}
	if name == "" {
		return p, errStatus(500, iae+": Invalid topic name format")
	}
	full := domain + "://" + tenant + "/" + ns + "/" + name
	if javaBlank(name) {
		return p, errStatus(500, iae+": Invalid topic name: "+full+". Topic local name must not be blank.")
	}
	p.topic = javaTrim(full)
	return p, nil
}
