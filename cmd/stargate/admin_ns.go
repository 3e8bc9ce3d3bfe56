package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-go/stargate/admin"
)

func tenantCommands() []*adminCmd {
	var force bool
	forceUsage, forceSetup := deleteFlag(&force)
	var clusters, roles string
	infoUsage := "  --clusters C1,C2        allowed clusters (create: default every cluster)\n" +
		"  --admin-roles R1,R2     roles that administer the tenant\n"
	infoSetup := func(fs *flag.FlagSet) {
		fs.StringVar(&clusters, "clusters", "", "")
		fs.StringVar(&roles, "admin-roles", "", "")
	}
	info := func(x *adminRun) (admin.TenantInfo, error) {
		ti := admin.TenantInfo{AdminRoles: splitList(roles), AllowedClusters: splitList(clusters)}
		if len(ti.AllowedClusters) == 0 {
			cl, err := x.c.Clusters(x.ctx)
			if err != nil {
				return ti, err
			}
			ti.AllowedClusters = cl
		}
		return ti, nil
	}
	return []*adminCmd{
		{area: "tenants", action: "list", brief: "List the tenants.", run: func(x *adminRun) error {
			ts, err := x.c.Tenants(x.ctx)
			if err != nil {
				return err
			}
			return x.list(ts)
		}},
		{area: "tenants", action: "get", args: []string{"TENANT"}, brief: "Show a tenant's admin roles and allowed clusters.", run: func(x *adminRun) error {
			ti, err := x.c.Tenant(x.ctx, x.args[0])
			if err != nil {
				return err
			}
			return x.print(ti, func(w io.Writer) {
				row(w, "admin roles", strings.Join(ti.AdminRoles, ", "))
				row(w, "allowed clusters", strings.Join(ti.AllowedClusters, ", "))
			})
		}},
		{area: "tenants", action: "create", args: []string{"TENANT"}, brief: "Create a tenant.", flags: infoUsage, setup: infoSetup, run: func(x *adminRun) error {
			ti, err := info(x)
			if err != nil {
				return err
			}
			if err := x.c.CreateTenant(x.ctx, x.args[0], ti); err != nil {
				return err
			}
			return x.done("created tenant %s (clusters %s)", x.args[0], strings.Join(ti.AllowedClusters, ", "))
		}},
		{area: "tenants", action: "update", args: []string{"TENANT"}, brief: "Replace a tenant's configuration.", flags: infoUsage, setup: infoSetup, run: func(x *adminRun) error {
			ti, err := info(x)
			if err != nil {
				return err
			}
			if err := x.c.UpdateTenant(x.ctx, x.args[0], ti); err != nil {
				return err
			}
			return x.done("updated tenant %s", x.args[0])
		}},
		{area: "tenants", action: "delete", args: []string{"TENANT"}, brief: "Delete a tenant (it must be empty unless --force).", flags: forceUsage, setup: forceSetup, run: func(x *adminRun) error {
			if err := x.c.DeleteTenant(x.ctx, x.args[0], &admin.DeleteOptions{Force: force}); err != nil {
				return err
			}
			return x.done("deleted tenant %s", x.args[0])
		}},
	}
}

func clusterCommands() []*adminCmd {
	return []*adminCmd{{area: "clusters", action: "list", brief: "List the clusters.", run: func(x *adminRun) error {
		cl, err := x.c.Clusters(x.ctx)
		if err != nil {
			return err
		}
		return x.list(cl)
	}}}
}

// policies are a namespace's policies as shown by namespaces policies.
type policies struct {
	Retention     *retentionOut           `json:"retention"` // null: the broker's default
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

func namespaceCommands() []*adminCmd {
	var force bool
	forceUsage, forceSetup := deleteFlag(&force)
	var retTime string
	var retSize int64
	quotaType := newChoice("size", "size", "age")
	quotaPolicy := newChoice("hold", "hold", "exception", "eviction")
	var limitSize int64
	var limitTime string
	ns := []string{"NAMESPACE"}
	get := func(action, brief string, show func(x *adminRun, p *policies) error) *adminCmd {
		return &adminCmd{area: "namespaces", action: action, args: ns, brief: brief, run: func(x *adminRun) error {
			p, err := namespacePolicies(x, action)
			if err != nil {
				return err
			}
			return show(x, p)
		}}
	}
	change := func(action, brief string, call func(x *adminRun, ns string) error, did string) *adminCmd {
		return &adminCmd{area: "namespaces", action: action, args: ns, brief: brief, run: func(x *adminRun) error {
			if err := call(x, x.args[0]); err != nil {
				return err
			}
			return x.done(did, x.args[0])
		}}
	}
	cmds := []*adminCmd{
		{area: "namespaces", action: "list", args: []string{"TENANT"}, brief: "List the namespaces of a tenant.", run: func(x *adminRun) error {
			l, err := x.c.Namespaces(x.ctx, x.args[0])
			if err != nil {
				return err
			}
			return x.list(l)
		}},
		change("create", "Create a namespace, tenant/namespace.", func(x *adminRun, ns string) error { return x.c.CreateNamespace(x.ctx, ns) }, "created namespace %s"),
		{area: "namespaces", action: "delete", args: ns, brief: "Delete a namespace (it must be empty unless --force).", flags: forceUsage, setup: forceSetup, run: func(x *adminRun) error {
			if err := x.c.DeleteNamespace(x.ctx, x.args[0], &admin.DeleteOptions{Force: force}); err != nil {
				return err
			}
			return x.done("deleted namespace %s", x.args[0])
		}},
		get("policies", "Show retention, message TTL, deduplication and backlog quotas.", func(x *adminRun, p *policies) error {
			return x.print(p, func(w io.Writer) { p.text(w, "") })
		}),
		get("retention", "Show the retention policy.", func(x *adminRun, p *policies) error {
			return x.print(p.Retention, func(w io.Writer) { p.text(w, "retention") })
		}),
		get("ttl", "Show the message time to live.", func(x *adminRun, p *policies) error {
			return x.print(p.MessageTTL, func(w io.Writer) { p.text(w, "messageTTL") })
		}),
		get("dedup", "Show whether messages are deduplicated.", func(x *adminRun, p *policies) error {
			return x.print(p.Deduplication, func(w io.Writer) { p.text(w, "deduplication") })
		}),
		get("backlog-quotas", "Show the backlog quotas.", func(x *adminRun, p *policies) error {
			return x.print(p.BacklogQuotas, func(w io.Writer) { p.text(w, "backlogQuotas") })
		}),
		{area: "namespaces", action: "set-retention", args: ns, brief: "Set how long and how much of acknowledged messages is kept.",
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
				if err := x.c.SetRetention(x.ctx, x.args[0], admin.Retention{Time: d, SizeMB: retSize}); err != nil {
					return err
				}
				return x.done("set the retention of %s", x.args[0])
			}},
		change("remove-retention", "Remove the namespace's retention policy (the broker's default applies).", func(x *adminRun, ns string) error { return x.c.RemoveRetention(x.ctx, ns) }, "removed the retention policy of %s"),
		{area: "namespaces", action: "set-ttl", args: []string{"NAMESPACE", "TTL"}, brief: "Set the message time to live (a duration, whole seconds; 0 never expires).", run: func(x *adminRun) error {
			d, err := time.ParseDuration(x.args[1])
			if err != nil {
				return x.usageErr("TTL %q: want a duration such as 1h", x.args[1])
			}
			if err := x.c.SetMessageTTL(x.ctx, x.args[0], d); err != nil {
				return err
			}
			return x.done("set the message TTL of %s to %s", x.args[0], d)
		}},
		change("remove-ttl", "Remove the namespace's message time to live.", func(x *adminRun, ns string) error { return x.c.RemoveMessageTTL(x.ctx, ns) }, "removed the message TTL of %s"),
		{area: "namespaces", action: "set-dedup", args: []string{"NAMESPACE", "on|off"}, brief: "Turn message deduplication on or off.", run: func(x *adminRun) error {
			on, err := parseOnOff(x.args[1])
			if err != nil {
				return x.usageErr("%v", err)
			}
			if err := x.c.SetDeduplication(x.ctx, x.args[0], on); err != nil {
				return err
			}
			return x.done("set deduplication of %s %s", x.args[0], x.args[1])
		}},
		change("remove-dedup", "Remove the namespace's deduplication setting.", func(x *adminRun, ns string) error { return x.c.RemoveDeduplication(x.ctx, ns) }, "removed the deduplication setting of %s"),
		{area: "namespaces", action: "set-backlog-quota", args: ns, brief: "Set a backlog quota.",
			flags: "  --type T                size (default) or age\n" +
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
				if err := x.c.SetBacklogQuota(x.ctx, x.args[0], quotaTypes[quotaType.val], q); err != nil {
					return err
				}
				return x.done("set the %s backlog quota of %s", quotaType.val, x.args[0])
			}},
		{area: "namespaces", action: "remove-backlog-quota", args: ns, brief: "Remove a backlog quota.",
			flags: "  --type T                size (default) or age\n",
			setup: func(fs *flag.FlagSet) { fs.Var(quotaType, "type", "") },
			run: func(x *adminRun) error {
				if err := x.c.RemoveBacklogQuota(x.ctx, x.args[0], quotaTypes[quotaType.val]); err != nil {
					return err
				}
				return x.done("removed the %s backlog quota of %s", quotaType.val, x.args[0])
			}},
	}
	return cmds
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

// namespacePolicies asks for what action shows ("policies": everything).
func namespacePolicies(x *adminRun, action string) (*policies, error) {
	ns, all := x.args[0], action == "policies"
	p := &policies{}
	if all || action == "retention" {
		r, set, err := x.c.Retention(x.ctx, ns)
		if err != nil {
			return nil, err
		}
		if set {
			p.Retention = &retentionOut{Time: limit(r.Time), SizeMB: r.SizeMB}
		}
	}
	if all || action == "ttl" {
		ttl, set, err := x.c.MessageTTL(x.ctx, ns)
		if err != nil {
			return nil, err
		}
		if set {
			s := ttl.String()
			p.MessageTTL = &s
		}
	}
	if all || action == "dedup" {
		on, set, err := x.c.Deduplication(x.ctx, ns)
		if err != nil {
			return nil, err
		}
		if set {
			p.Deduplication = &on
		}
	}
	if all || action == "backlog-quotas" {
		qs, err := x.c.BacklogQuotas(x.ctx, ns)
		if err != nil {
			return nil, err
		}
		p.BacklogQuotas = map[string]backlogQuota{}
		for name, typ := range quotaTypes {
			if q, ok := qs[typ]; ok {
				bq := backlogQuota{Policy: string(q.Policy)}
				if typ == admin.BacklogSize {
					bq.LimitSize = q.LimitSize
				} else {
					bq.LimitTime = limit(q.LimitTime)
				}
				p.BacklogQuotas[name] = bq
			}
		}
	}
	return p, nil
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
	def := "(broker default)"
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
					lim = noLimit(humanBytes(q.LimitSize))
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
