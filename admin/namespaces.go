package admin

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Namespaces lists the namespaces of a tenant, as "tenant/namespace".
func (c *Client) Namespaces(ctx context.Context, tenant string) ([]string, error) {
	if !namedEntity(tenant) {
		_, err := tenantPath(tenant)
		return nil, err
	}
	var out []string
	err := c.do(ctx, request{Op: "Namespaces", Name: tenant, Method: http.MethodGet, Path: v2 + "/namespaces/" + tenant}, &out)
	return out, err
}

// CreateNamespace creates a namespace, "tenant/namespace", with the
// broker's default policies. An existing namespace is an error matching
// ErrConflict; a missing tenant one matching ErrNotFound.
func (c *Client) CreateNamespace(ctx context.Context, namespace string) error {
	return c.nsCall(ctx, "CreateNamespace", namespace, http.MethodPut, "", nil, nil, nil)
}

// DeleteNamespace deletes a namespace, which must hold no topics unless
// opts.Force is set (an error matching ErrConflict otherwise). Right
// after its topics were deleted the broker may still answer 409 for a
// moment.
func (c *Client) DeleteNamespace(ctx context.Context, namespace string, opts *DeleteOptions) error {
	return c.nsCall(ctx, "DeleteNamespace", namespace, http.MethodDelete, "", opts.query(), nil, nil)
}

// nsCall runs one call on namespace + suffix.
func (c *Client) nsCall(ctx context.Context, op, ns, method, suffix string, q url.Values, body, out any) error {
	p, err := namespacePath(ns)
	if err != nil {
		return err
	}
	return c.do(ctx, request{Op: op, Name: ns, Method: method, Path: p + suffix, Query: q, Body: body}, out)
}

func itoa(n int) string { return strconv.Itoa(n) }

// UnloadNamespace unloads every bundle of a namespace from its broker:
// its topics' producers and consumers reconnect, possibly elsewhere.
func (c *Client) UnloadNamespace(ctx context.Context, namespace string) error {
	return c.nsCall(ctx, "UnloadNamespace", namespace, http.MethodPut, "/unload", nil, nil, nil)
}

// ClearNamespaceBacklog acknowledges every message of every subscription
// of every topic of a namespace.
func (c *Client) ClearNamespaceBacklog(ctx context.Context, namespace string) error {
	return c.nsCall(ctx, "ClearNamespaceBacklog", namespace, http.MethodPost, "/clearBacklog", nil, nil, nil)
}

// ReplicationClusters returns the clusters a namespace is replicated to.
func (c *Client) ReplicationClusters(ctx context.Context, namespace string) ([]string, error) {
	var out []string
	err := c.nsCall(ctx, "ReplicationClusters", namespace, http.MethodGet, "/replication", nil, nil, &out)
	return out, err
}

// SetReplicationClusters sets the clusters a namespace is replicated to;
// each must be allowed for its tenant (ErrForbidden or
// ErrPreconditionFailed otherwise).
func (c *Client) SetReplicationClusters(ctx context.Context, namespace string, clusters []string) error {
	if len(clusters) == 0 {
		return argErr("clusters", "", "name at least one cluster")
	}
	return c.nsCall(ctx, "SetReplicationClusters", namespace, http.MethodPost, "/replication", nil, clusters, nil)
}

// NamespacePermissions returns the roles granted on a namespace and their
// actions.
func (c *Client) NamespacePermissions(ctx context.Context, namespace string) (map[string][]AuthAction, error) {
	var out map[string][]AuthAction
	err := c.nsCall(ctx, "NamespacePermissions", namespace, http.MethodGet, "/permissions", nil, nil, &out)
	return out, err
}

// GrantNamespacePermission grants role the actions on every topic of a
// namespace, replacing what it was granted on the namespace before.
func (c *Client) GrantNamespacePermission(ctx context.Context, namespace, role string, actions ...AuthAction) error {
	r, err := rolePath(role)
	if err != nil {
		return err
	}
	if err := checkActions(actions); err != nil {
		return err
	}
	return c.nsCall(ctx, "GrantNamespacePermission", namespace, http.MethodPost, "/permissions/"+r, nil, actions, nil)
}

// RevokeNamespacePermission revokes what role was granted on a namespace.
func (c *Client) RevokeNamespacePermission(ctx context.Context, namespace, role string) error {
	r, err := rolePath(role)
	if err != nil {
		return err
	}
	return c.nsCall(ctx, "RevokeNamespacePermission", namespace, http.MethodDelete, "/permissions/"+r, nil, nil, nil)
}
