package stargatetest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The admin REST API v2 (/admin/v2/persistent/… and
// /admin/v2/non-persistent/…) for the calls of package admin on topics,
// partitions, subscriptions and stats, answered with Pulsar 4.0.8's
// statuses and JSON: 204 without a body for changes, errors as
// {"reason": "…"}.

// adminError is a refused admin call.
type adminError struct {
	status int
	reason string
}

func adminErr(status int, format string, args ...any) *adminError {
	return &adminError{status, fmt.Sprintf(format, args...)}
}

func topicNotFound(full string) *adminError {
	return adminErr(404, "Topic %s not found", full)
}

// adminCall is one parsed admin request.
type adminCall struct {
	method string
	full   string   // the topic's full name
	rest   []string // the raw segments after the topic
	body   []byte
	query  url.Values
}

// serveAdmin answers a request under /admin/v2/.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	q, _ := queryOf(r)
	if _, e := s.authenticate(r, q); e != nil {
		writeJettyError(w, r, e)
		return
	}
	raw, _, _ := strings.Cut(r.RequestURI, "?")
	seg := strings.Split(strings.TrimSuffix(raw, "/"), "/")
	// "", "admin", "v2", domain, tenant, ns[, topic, rest…]
	if len(seg) < 6 || (seg[3] != "persistent" && seg[3] != "non-persistent") ||
		!namedEntity.MatchString(seg[4]) || !namedEntity.MatchString(seg[5]) {
		writeJettyError(w, r, errStatus(404, "Not Found"))
		return
	}
	ns := seg[3] + "://" + seg[4] + "/" + seg[5]
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	var out any
	var ae *adminError
	switch {
	case len(seg) == 6 && r.Method == http.MethodGet:
		out = s.listTopics(ns, false)
	case len(seg) == 7 && seg[6] == "partitioned" && r.Method == http.MethodGet:
		out = s.listTopics(ns, true)
	case len(seg) >= 7:
		name, err := formDecode(seg[6])
		if err != nil || name == "" {
			writeJettyError(w, r, errStatus(404, "Not Found"))
			return
		}
		c := adminCall{method: r.Method, full: ns + "/" + name, rest: seg[7:], body: body, query: r.URL.Query()}
		out, ae = s.adminTopicCall(c)
	default:
		writeJettyError(w, r, errStatus(404, "Not Found"))
		return
	}
	switch {
	case ae != nil && ae.status == 0:
		writeJettyError(w, r, errStatus(404, "Not Found"))
	case ae != nil:
		writeJSON(w, ae.status, map[string]string{"reason": ae.reason})
	case out == nil:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusOK, out)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// noRoute makes serveAdmin answer with Jetty's 404 page.
var noRoute = &adminError{}

// adminTopicCall routes a call on one topic by method and the segments
// after the topic.
func (s *Server) adminTopicCall(c adminCall) (any, *adminError) {
	route := c.method + " " + strings.Join(c.rest, "/")
	if len(c.rest) >= 2 && c.rest[0] == "subscription" {
		sub, err := decodeSubscription(c.rest[1])
		if err != nil {
			return nil, adminErr(400, "Invalid subscription name")
		}
		return s.adminSubscriptionCall(c, sub, c.method+" "+strings.Join(c.rest[2:], "/"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch route {
	case "PUT ":
		return nil, s.adminCreateLocked(c.full, 0)
	case "PUT partitions":
		n, err := strconv.Atoi(strings.TrimSpace(string(c.body)))
		if err != nil || n < 1 {
			return nil, adminErr(412, "Number of partitions should be more than 0")
		}
		return nil, s.adminCreateLocked(c.full, n)
	case "POST partitions":
		n, err := strconv.Atoi(strings.TrimSpace(string(c.body)))
		if err != nil || n < 1 {
			return nil, adminErr(412, "Number of partitions should be more than 0")
		}
		return nil, s.updatePartitionsLocked(c.full, n)
	case "GET partitions":
		if n, ok := s.parents[c.full]; ok {
			return map[string]any{"partitions": n, "deleted": false}, nil
		}
		if _, ok := s.topics[c.full]; ok {
			return map[string]any{"partitions": 0, "deleted": false}, nil
		}
		return nil, topicNotFound(c.full)
	case "DELETE ":
		if _, ok := s.parents[c.full]; ok {
			return nil, adminErr(409, "%s is a partitioned topic, instead of calling delete topic, please call delete-partitioned-topic.", c.full)
		}
		return nil, s.adminDeleteLocked(c.full, c.query.Get("force") == "true")
	case "DELETE partitions":
		if _, ok := s.parents[c.full]; !ok {
			return nil, adminErr(404, "Topic %s not found.", c.full)
		}
		return nil, s.adminDeleteLocked(c.full, c.query.Get("force") == "true")
	case "PUT unload":
		// The broker closes the topic and its internal clients re-attach;
		// WebSocket sessions stay open (docs/guarantees.md). Nothing to do.
		if _, _, ok := s.partsLocked(c.full); !ok {
			return nil, topicNotFound(c.full)
		}
		return nil, nil
	case "POST terminate", "GET lastMessageId":
		t, ae := s.singleTopicLocked(c.full, "Termination of a partitioned topic is not allowed", route == "POST terminate")
		if ae != nil {
			return nil, ae
		}
		if route == "POST terminate" {
			t.terminate = true
		}
		return idJSON(t.lastID(), t.partition), nil
	case "POST terminate/partitions":
		n, ok := s.parents[c.full]
		if !ok {
			return nil, topicNotFound(c.full)
		}
		out := make(map[string]any, n)
		for i := range n {
			t := s.topics[partitionName(c.full, i)]
			t.terminate = true
			out[strconv.Itoa(i)] = idJSON(t.lastID(), t.partition)
		}
		return out, nil
	case "GET stats":
		t, ok := s.topics[c.full]
		if !ok {
			return nil, topicNotFound(c.full)
		}
		return s.statsJSONLocked([]*topic{t}), nil
	case "GET partitioned-stats":
		n, ok := s.parents[c.full]
		if !ok {
			return nil, adminErr(404, "Partitioned Topic %s not found", c.full)
		}
		parts, _, _ := s.partsLocked(c.full)
		st := s.statsJSONLocked(parts)
		st["metadata"] = map[string]any{"partitions": n, "deleted": false}
		per := map[string]any{}
		if c.query.Get("perPartition") == "true" {
			for _, t := range parts {
				per[t.name] = s.statsJSONLocked([]*topic{t})
			}
		}
		st["partitions"] = per
		return st, nil
	case "GET subscriptions":
		parts, _, ok := s.partsLocked(c.full)
		if !ok {
			return nil, topicNotFound(c.full)
		}
		names := []string{}
		for _, t := range parts {
			for _, name := range sortedKeys(t.subs) {
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
		return names, nil
	}
	return nil, noRoute
}

// decodeSubscription decodes a subscription's path segment twice, as the
// broker does: JAX-RS decodes the path parameter, then Pulsar decodes it
// again with URLDecoder.
func decodeSubscription(seg string) (string, error) {
	once, err := url.PathUnescape(seg)
	if err != nil {
		return "", err
	}
	return formDecode(once)
}

// singleTopicLocked returns a non-partitioned topic or one partition; a
// partitioned base name gets 405 with partitionedReason, or 404 when
// partitionedReason does not apply (notAllowed false).
func (s *Server) singleTopicLocked(full, partitionedReason string, notAllowed bool) (*topic, *adminError) {
	if _, ok := s.parents[full]; ok && notAllowed {
		return nil, adminErr(405, "%s", partitionedReason)
	}
	t, ok := s.topics[full]
	if !ok {
		return nil, topicNotFound(full)
	}
	return t, nil
}

func (s *Server) adminCreateLocked(full string, n int) *adminError {
	if _, _, ok := s.partsLocked(full); ok {
		return adminErr(409, "This topic already exists")
	}
	if n == 0 {
		s.newTopicLocked(full, "")
	} else {
		s.parents[full] = n
		for i := range n {
			s.newTopicLocked(partitionName(full, i), full)
		}
	}
	s.topicCreatedLocked(full)
	return nil
}

func (s *Server) updatePartitionsLocked(full string, n int) *adminError {
	old, ok := s.parents[full]
	switch {
	case !ok:
		return adminErr(409, "Topic %s is not the partitioned topic.", full)
	case n < old:
		return adminErr(422, "Desired partitions %d can't be less than the current partitions %d.", n, old)
	}
	for i := old; i < n; i++ {
		t := s.newTopicLocked(partitionName(full, i), full)
		// Existing subscriptions reach the new partitions, at their start.
		first := s.topics[partitionName(full, 0)]
		for name, sub := range first.subs {
			if sub.durable {
				t.subs[name] = newSubscription(t, name, consumerParams{subType: sub.typ, durable: true, earliest: true})
			}
		}
	}
	s.parents[full] = n
	return nil
}

func (s *Server) adminDeleteLocked(full string, force bool) *adminError {
	parts, _, ok := s.partsLocked(full)
	if !ok {
		return topicNotFound(full)
	}
	if !force {
		for ss := range s.sessions {
			for _, t := range ss.topics {
				if t == full {
					return adminErr(412, "Topic has active producers/subscriptions")
				}
			}
		}
	}
	s.dropLocked(full)
	for _, t := range parts {
		delete(s.topics, t.name)
	}
	delete(s.parents, full)
	return nil
}

// idJSON renders a message id like the broker's MessageIdImpl JSON.
func idJSON(id messageID, partition int32) map[string]any {
	return map[string]any{"ledgerId": id.ledger, "entryId": id.entry, "partitionIndex": partition,
		"batchSize": id.batchSize, "batchIndex": id.batchIndex}
}

// idFromJSON parses a ResetCursorData / MessageIdImpl body; an empty body
// is latest (the broker's default for a new subscription).
func idFromJSON(body []byte) (ledger, entry int64, partition int32, ok bool) {
	var j struct {
		LedgerID  *int64 `json:"ledgerId"`
		EntryID   *int64 `json:"entryId"`
		Partition *int32 `json:"partitionIndex"`
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return math.MaxInt64, math.MaxInt64, -1, true
	}
	if json.Unmarshal(body, &j) != nil || j.LedgerID == nil || j.EntryID == nil {
		return 0, 0, -1, false
	}
	partition = -1
	if j.Partition != nil {
		partition = *j.Partition
	}
	return *j.LedgerID, *j.EntryID, partition, true
}

// listTopics lists a namespace's topics: the non-partitioned ones and
// the partitions, or the partitioned topics' base names.
func (s *Server) listTopics(ns string, partitioned bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	if partitioned {
		for name := range s.parents {
			if namespaceOf(name) == ns {
				out = append(out, name)
			}
		}
	} else {
		for name := range s.topics {
			if namespaceOf(name) == ns {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}
