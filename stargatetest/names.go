package stargatetest

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
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

// formDecode is Java's URLDecoder: %XX and '+' → space.
func formDecode(s string) (string, error) {
	return url.QueryUnescape(s)
}

// wsPath is a parsed /ws/v2 or /ws/v3 request path.
type wsPath struct {
	endpoint     string // producer, consumer, reader, v3consumer
	topic        string // full name; empty for v3
	subscription string
}

// parsePath parses the raw request URI as the proxy does (§1.3). The error
// carries the HTTP status: 400 for consumer segment rules, 500 otherwise.
func parsePath(rawURI string) (wsPath, *httpError) {
	raw, _, _ := strings.Cut(rawURI, "?")
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
	p.topic = domain + "://" + tenant + "/" + ns + "/" + name
	return p, nil
}
