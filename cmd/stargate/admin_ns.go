package main

import (
	"flag"
	"io"
	"strings"

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

func namespaceCommands() []*adminCmd {
	var force bool
	forceUsage, forceSetup := deleteFlag(&force)
	ns := []string{"NAMESPACE"}
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
		change("unload", "Unload every topic of a namespace from its broker (clients reconnect).", func(x *adminRun, ns string) error { return x.c.UnloadNamespace(x.ctx, ns) }, "unloaded namespace %s"),
		change("clear-backlog", "Acknowledge the backlog of every subscription of every topic of a namespace.", func(x *adminRun, ns string) error { return x.c.ClearNamespaceBacklog(x.ctx, ns) }, "cleared the backlogs of namespace %s"),
		{area: "namespaces", action: "replication-clusters", args: ns, brief: "List the clusters a namespace is replicated to.", run: func(x *adminRun) error {
			l, err := x.c.ReplicationClusters(x.ctx, x.args[0])
			if err != nil {
				return err
			}
			return x.list(l)
		}},
		{area: "namespaces", action: "set-replication-clusters", args: []string{"NAMESPACE", "C1,C2"}, brief: "Set the clusters a namespace is replicated to.", run: func(x *adminRun) error {
			cl := splitList(x.args[1])
			if len(cl) == 0 {
				return x.usageErr("no cluster in %q", x.args[1])
			}
			if err := x.c.SetReplicationClusters(x.ctx, x.args[0], cl); err != nil {
				return err
			}
			return x.done("namespace %s is replicated to %s", x.args[0], strings.Join(cl, ", "))
		}},
	}
	return append(cmds, policyCommands(namespaceScope())...)
}
