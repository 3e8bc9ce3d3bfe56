package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-go/stargate/admin"
)

// policyScope is what policy and permission commands act on: a namespace
// or a topic. The admin package has the same calls for both.
type policyScope struct {
	area, arg string // "namespaces", "NAMESPACE"

	retention       func(x *adminRun, name string) (admin.Retention, bool, error)
	setRetention    func(x *adminRun, name string, r admin.Retention) error
	removeRetention func(x *adminRun, name string) error
	ttl             func(x *adminRun, name string) (time.Duration, bool, error)
	setTTL          func(x *adminRun, name string, d time.Duration) error
	removeTTL       func(x *adminRun, name string) error
	dedup           func(x *adminRun, name string) (bool, bool, error)
	setDedup        func(x *adminRun, name string, on bool) error
	removeDedup     func(x *adminRun, name string) error
	quotas          func(x *adminRun, name string) (map[admin.BacklogQuotaType]admin.BacklogQuota, error)
	setQuota        func(x *adminRun, name string, t admin.BacklogQuotaType, q admin.BacklogQuota) error
	removeQuota     func(x *adminRun, name string, t admin.BacklogQuotaType) error
	permissions     func(x *adminRun, name string) (map[string][]admin.AuthAction, error)
	grant           func(x *adminRun, name, role string, actions ...admin.AuthAction) error
	revoke          func(x *adminRun, name, role string) error
}

func namespaceScope() policyScope {
	return policyScope{
		area: "namespaces", arg: "NAMESPACE",
		retention:       func(x *adminRun, n string) (admin.Retention, bool, error) { return x.c.Retention(x.ctx, n) },
		setRetention:    func(x *adminRun, n string, r admin.Retention) error { return x.c.SetRetention(x.ctx, n, r) },
		removeRetention: func(x *adminRun, n string) error { return x.c.RemoveRetention(x.ctx, n) },
		ttl:             func(x *adminRun, n string) (time.Duration, bool, error) { return x.c.MessageTTL(x.ctx, n) },
		setTTL:          func(x *adminRun, n string, d time.Duration) error { return x.c.SetMessageTTL(x.ctx, n, d) },
		removeTTL:       func(x *adminRun, n string) error { return x.c.RemoveMessageTTL(x.ctx, n) },
		dedup:           func(x *adminRun, n string) (bool, bool, error) { return x.c.Deduplication(x.ctx, n) },
		setDedup:        func(x *adminRun, n string, on bool) error { return x.c.SetDeduplication(x.ctx, n, on) },
		removeDedup:     func(x *adminRun, n string) error { return x.c.RemoveDeduplication(x.ctx, n) },
		quotas: func(x *adminRun, n string) (map[admin.BacklogQuotaType]admin.BacklogQuota, error) {
			return x.c.BacklogQuotas(x.ctx, n)
		},
		setQuota: func(x *adminRun, n string, t admin.BacklogQuotaType, q admin.BacklogQuota) error {
			return x.c.SetBacklogQuota(x.ctx, n, t, q)
		},
		removeQuota: func(x *adminRun, n string, t admin.BacklogQuotaType) error {
			return x.c.RemoveBacklogQuota(x.ctx, n, t)
		},
		permissions: func(x *adminRun, n string) (map[string][]admin.AuthAction, error) {
			return x.c.NamespacePermissions(x.ctx, n)
		},
		grant: func(x *adminRun, n, role string, a ...admin.AuthAction) error {
			return x.c.GrantNamespacePermission(x.ctx, n, role, a...)
		},
		revoke: func(x *adminRun, n, role string) error { return x.c.RevokeNamespacePermission(x.ctx, n, role) },
	}
}

func topicScope() policyScope {
	return policyScope{
		area: "topics", arg: "TOPIC",
		retention:       func(x *adminRun, n string) (admin.Retention, bool, error) { return x.c.TopicRetention(x.ctx, n) },
		setRetention:    func(x *adminRun, n string, r admin.Retention) error { return x.c.SetTopicRetention(x.ctx, n, r) },
		removeRetention: func(x *adminRun, n string) error { return x.c.RemoveTopicRetention(x.ctx, n) },
		ttl:             func(x *adminRun, n string) (time.Duration, bool, error) { return x.c.TopicMessageTTL(x.ctx, n) },
		setTTL:          func(x *adminRun, n string, d time.Duration) error { return x.c.SetTopicMessageTTL(x.ctx, n, d) },
		removeTTL:       func(x *adminRun, n string) error { return x.c.RemoveTopicMessageTTL(x.ctx, n) },
		dedup:           func(x *adminRun, n string) (bool, bool, error) { return x.c.TopicDeduplication(x.ctx, n) },
		setDedup:        func(x *adminRun, n string, on bool) error { return x.c.SetTopicDeduplication(x.ctx, n, on) },
		removeDedup:     func(x *adminRun, n string) error { return x.c.RemoveTopicDeduplication(x.ctx, n) },
		quotas: func(x *adminRun, n string) (map[admin.BacklogQuotaType]admin.BacklogQuota, error) {
			return x.c.TopicBacklogQuotas(x.ctx, n)
		},
		setQuota: func(x *adminRun, n string, t admin.BacklogQuotaType, q admin.BacklogQuota) error {
			return x.c.SetTopicBacklogQuota(x.ctx, n, t, q)
		},
		removeQuota: func(x *adminRun, n string, t admin.BacklogQuotaType) error {
			return x.c.RemoveTopicBacklogQuota(x.ctx, n, t)
		},
		permissions: func(x *adminRun, n string) (map[string][]admin.AuthAction, error) {
			return x.c.TopicPermissions(x.ctx, n)
		},
		grant: func(x *adminRun, n, role string, a ...admin.AuthAction) error {
			return x.c.GrantTopicPermission(x.ctx, n, role, a...)
		},
		revoke: func(x *adminRun, n, role string) error { return x.c.RevokeTopicPermission(x.ctx, n, role) },
	}
}

// policies are the policies of a namespace or topic as "policies" shows
// them; a nil field has no setting of its own (the default applies).
type policies struct {
	Retention     *retentionOut           `json:"retention"`
	MessageTTL    *string                 `json:"messageTTL"`
	Deduplication *bool                   `json:"deduplication"`
	BacklogQuotas map[string]backlogQuota `json:"backlogQuotas"`
}

type retentionOut struct {
	Time   string `json:"time"`   // a Go duration; "-1" for no limit
	SizeMB int64  `json:"sizeMB"` // -1 for no limit
}

type backlogQuota struct {
	LimitSize int64  `json:"limitSize,omitempty"`
	LimitTime string `json:"limitTime,omitempty"`
	Policy    string `json:"policy"`
}

var quotaTypes = map[string]admin.BacklogQuotaType{"size": admin.BacklogSize, "age": admin.BacklogAge}

var quotaPolicies = map[string]admin.BacklogPolicy{
	"hold": admin.ProducerRequestHold, "exception": admin.ProducerException, "eviction": admin.ConsumerBacklogEviction,
}

// policyCommands are the policy and permission commands of a scope. They
// are a table; the closures share the flag variables declared here.
func policyCommands(s policyScope) []*adminCmd {
	var retTime, limitTime string
	var retSize, limitSize int64
	var actions string
	quotaType := newChoice("size", "size", "age")
	quotaPolicy := newChoice("hold", "hold", "exception", "eviction")
	one := []string{s.arg}
	get := func(action, brief string, pick func(p *policies) any, only string) *adminCmd {
		return &adminCmd{area: s.area, action: action, args: one, brief: brief, run: func(x *adminRun) error {
			p, err := s.load(x, action)
			if err != nil {
				return err
			}
			return x.print(pick(p), func(w io.Writer) { p.text(w, only) })
		}}
	}
	change := func(action, brief string, call func(x *adminRun, name string) error, did string) *adminCmd {
		return &adminCmd{area: s.area, action: action, args: one, brief: brief, run: func(x *adminRun) error {
			if err := call(x, x.args[0]); err != nil {
				return err
			}
			return x.done(did, x.args[0])
		}}
	}
	quotaTypeUsage := "  --type T                size (default) or age\n"
	return []*adminCmd{
		get("policies", "Show retention, message TTL, deduplication and backlog quotas.", func(p *policies) any { return p }, ""),
		get("retention", "Show the retention policy.", func(p *policies) any { return p.Retention }, "retention"),
		get("ttl", "Show the message time to live.", func(p *policies) any { return p.MessageTTL }, "messageTTL"),
		get("dedup", "Show whether messages are deduplicated.", func(p *policies) any { return p.Deduplication }, "deduplication"),
		get("backlog-quotas", "Show the backlog quotas.", func(p *policies) any { return p.BacklogQuotas }, "backlogQuotas"),
		{area: s.area, action: "set-retention", args: one, brief: "Set how long and how much of acknowledged messages is kept.",
			flags: "  --time D                how long (whole minutes; -1 no limit; default 0)\n" +
				"  --size MB               how many megabytes per topic (-1 no limit; default 0)\n",
			setup: func(fs *flag.FlagSet) {
				fs.StringVar(&retTime, "time", "0", "")
				fs.Int64Var(&retSize, "size", 0, "")
			},
			run: func(x *adminRun) error {
				d, err := parseLimit(retTime)
				if err != nil {
					return x.usageErr("--time %v", err)
				}
				if err := s.setRetention(x, x.args[0], admin.Retention{Time: d, SizeMB: retSize}); err != nil {
					return err
				}
				return x.done("set the retention of %s", x.args[0])
			}},
		change("remove-retention", "Remove the retention policy of its own (the default applies).", s.removeRetention, "removed the retention policy of %s"),
		{area: s.area, action: "set-ttl", args: []string{s.arg, "TTL"}, brief: "Set the message time to live (a duration, whole seconds; 0 never expires).", run: func(x *adminRun) error {
			d, err := time.ParseDuration(x.args[1])
			if err != nil {
				return x.usageErr("TTL %q: want a duration such as 1h", x.args[1])
			}
			if err := s.setTTL(x, x.args[0], d); err != nil {
				return err
			}
			return x.done("set the message TTL of %s to %s", x.args[0], d)
		}},
		change("remove-ttl", "Remove the message time to live of its own.", s.removeTTL, "removed the message TTL of %s"),
		{area: s.area, action: "set-dedup", args: []string{s.arg, "on|off"}, brief: "Turn message deduplication on or off.", run: func(x *adminRun) error {
			on, err := parseOnOff(x.args[1])
			if err != nil {
				return x.usageErr("%v", err)
			}
			if err := s.setDedup(x, x.args[0], on); err != nil {
				return err
			}
			return x.done("set deduplication of %s %s", x.args[0], x.args[1])
		}},
		change("remove-dedup", "Remove the deduplication setting of its own.", s.removeDedup, "removed the deduplication setting of %s"),
		{area: s.area, action: "set-backlog-quota", args: one, brief: "Set a backlog quota.",
			flags: quotaTypeUsage +
				"  --limit-size BYTES      backlog size limit, for --type size\n" +
				"  --limit-time D          backlog age limit (whole seconds), for --type age\n" +
				"  --policy P              hold (default), exception or eviction\n",
			setup: func(fs *flag.FlagSet) {
				fs.Var(quotaType, "type", "")
				fs.Int64Var(&limitSize, "limit-size", -1, "")
				fs.StringVar(&limitTime, "limit-time", "-1", "")
				fs.Var(quotaPolicy, "policy", "")
			},
			run: func(x *adminRun) error {
				d, err := parseLimit(limitTime)
				if err != nil {
					return x.usageErr("--limit-time %v", err)
				}
				q := admin.BacklogQuota{LimitSize: limitSize, LimitTime: d, Policy: quotaPolicies[quotaPolicy.val]}
				if err := s.setQuota(x, x.args[0], quotaTypes[quotaType.val], q); err != nil {
					return err
				}
				return x.done("set the %s backlog quota of %s", quotaType.val, x.args[0])
			}},
		{area: s.area, action: "remove-backlog-quota", args: one, brief: "Remove a backlog quota.",
			flags: quotaTypeUsage, setup: func(fs *flag.FlagSet) { fs.Var(quotaType, "type", "") },
			run: func(x *adminRun) error {
				if err := s.removeQuota(x, x.args[0], quotaTypes[quotaType.val]); err != nil {
					return err
				}
				return x.done("removed the %s backlog quota of %s", quotaType.val, x.args[0])
			}},
		{area: s.area, action: "permissions", args: one, brief: "Show the roles granted permissions and their actions.", run: func(x *adminRun) error {
			perms, err := s.permissions(x, x.args[0])
			if err != nil {
				return err
			}
			if perms == nil {
				perms = map[string][]admin.AuthAction{}
			}
			return x.print(perms, func(w io.Writer) {
				row(w, "ROLE", "ACTIONS")
				for _, role := range sortedKeys(perms) {
					as := make([]string, len(perms[role]))
					for i, a := range perms[role] {
						as[i] = string(a)
					}
					slices.Sort(as) // the broker keeps a set: its order varies
					row(w, role, strings.Join(as, ", "))
				}
			})
		}},
		{area: s.area, action: "grant", args: []string{s.arg, "ROLE"}, brief: "Grant a role permissions.",
			flags: "  --actions A1,A2         produce, consume, functions, sources, sinks, packages (default produce,consume)\n",
			setup: func(fs *flag.FlagSet) { fs.StringVar(&actions, "actions", "produce,consume", "") },
			run: func(x *adminRun) error {
				var as []admin.AuthAction
				for _, a := range splitList(actions) {
					as = append(as, admin.AuthAction(a))
				}
				if err := s.grant(x, x.args[0], x.args[1], as...); err != nil {
					return err
				}
				return x.done("granted %s %s on %s", x.args[1], actions, x.args[0])
			}},
		{area: s.area, action: "revoke", args: []string{s.arg, "ROLE"}, brief: "Revoke a role's permissions.", run: func(x *adminRun) error {
			if err := s.revoke(x, x.args[0], x.args[1]); err != nil {
				return err
			}
			return x.done("revoked the permissions of %s on %s", x.args[1], x.args[0])
		}},
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// load asks for what action shows ("policies": everything).
func (s policyScope) load(x *adminRun, action string) (*policies, error) {
	name, all := x.args[0], action == "policies"
	p := &policies{}
	if all || action == "retention" {
		r, set, err := s.retention(x, name)
		if err != nil {
			return nil, err
		}
		if set {
			p.Retention = &retentionOut{Time: limit(r.Time), SizeMB: r.SizeMB}
		}
	}
	if all || action == "ttl" {
		ttl, set, err := s.ttl(x, name)
		if err != nil {
			return nil, err
		}
		if set {
			v := ttl.String()
			p.MessageTTL = &v
		}
	}
	if all || action == "dedup" {
		on, set, err := s.dedup(x, name)
		if err != nil {
			return nil, err
		}
		if set {
			p.Deduplication = &on
		}
	}
	if all || action == "backlog-quotas" {
		qs, err := s.quotas(x, name)
		if err != nil {
			return nil, err
		}
		p.BacklogQuotas = map[string]backlogQuota{}
		for qname, typ := range quotaTypes {
			if q, ok := qs[typ]; ok {
				bq := backlogQuota{Policy: string(q.Policy)}
				if typ == admin.BacklogSize {
					bq.LimitSize = q.LimitSize
				} else {
					bq.LimitTime = limit(q.LimitTime)
				}
				p.BacklogQuotas[qname] = bq
			}
		}
	}
	return p, nil
}

func parseOnOff(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "true", "yes", "enable", "enabled":
		return true, nil
	case "off", "false", "no", "disable", "disabled":
		return false, nil
	}
	return false, fmt.Errorf("%q: want on or off", s)
}

// parseLimit parses a duration limit, "-1" meaning none.
func parseLimit(s string) (time.Duration, error) {
	if s == "-1" {
		return -1, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a duration such as 10m, or -1 for no limit", s)
	}
	return d, nil
}

// limit prints a duration limit; negative means none.
func limit(d time.Duration) string {
	if d < 0 {
		return "-1"
	}
	return d.String()
}

// text prints the policies for people; only is one field's JSON name, or
// "" for all.
func (p *policies) text(w io.Writer, only string) {
	def := "(default)"
	if only == "" || only == "retention" {
		v := def
		if r := p.Retention; r != nil {
			v = "time " + noLimit(r.Time) + ", size " + noLimit(strconv.FormatInt(r.SizeMB, 10)+" MB")
		}
		row(w, "retention", v)
	}
	if only == "" || only == "messageTTL" {
		v := def
		if p.MessageTTL != nil {
			v = *p.MessageTTL
		}
		row(w, "message TTL", v)
	}
	if only == "" || only == "deduplication" {
		v := def
		if p.Deduplication != nil {
			v = map[bool]string{true: "on", false: "off"}[*p.Deduplication]
		}
		row(w, "deduplication", v)
	}
	if only == "" || only == "backlogQuotas" {
		if len(p.BacklogQuotas) == 0 {
			row(w, "backlog quotas", "none")
		}
		for _, name := range []string{"size", "age"} {
			if q, ok := p.BacklogQuotas[name]; ok {
				lim := noLimit(q.LimitTime)
				if name == "size" {
					lim = humanBytes(q.LimitSize)
					if q.LimitSize < 0 {
						lim = "no limit"
					}
				}
				row(w, "backlog quota ("+name+")", lim+", "+q.Policy)
			}
		}
	}
}

func noLimit(s string) string {
	if strings.HasPrefix(s, "-1") {
		return "no limit"
	}
	return s
}
