package admin

import (
	"context"
	"net/http"
	"net/url"
)

// DeleteOptions modify a delete. The zero value (or nil) deletes only what
// is unused.
type DeleteOptions struct {
	// Force deletes even what is in use: a topic with producers, consumers
	// or subscriptions (they are disconnected), a subscription with
	// consumers, a namespace with topics, a tenant with namespaces.
	// Deleting a namespace or tenant by force needs the broker settings
	// forceDeleteNamespaceAllowed or forceDeleteTenantAllowed.
	Force bool
}

func (o *DeleteOptions) query() url.Values {
	if o == nil || !o.Force {
		return nil
	}
	return url.Values{"force": {"true"}}
}

// Clusters lists the names of the clusters of the Pulsar instance.
func (c *Client) Clusters(ctx context.Context) ([]string, error) {
	var out []string
	err := c.do(ctx, request{Op: "Clusters", Method: http.MethodGet, Path: v2 + "/clusters"}, &out)
	return out, err
}

// TenantInfo is a tenant's configuration.
type TenantInfo struct {
	// AdminRoles are the roles that administer the tenant.
	AdminRoles []string `json:"adminRoles"`
	// AllowedClusters are the clusters the tenant's namespaces may use; the
	// broker refuses an empty list with 412 (ErrPreconditionFailed).
	AllowedClusters []string `json:"allowedClusters"`
}

// Tenants lists the names of the tenants.
func (c *Client) Tenants(ctx context.Context) ([]string, error) {
	var out []string
	err := c.do(ctx, request{Op: "Tenants", Method: http.MethodGet, Path: v2 + "/tenants"}, &out)
	return out, err
}

// Tenant returns a tenant's configuration.
func (c *Client) Tenant(ctx context.Context, tenant string) (TenantInfo, error) {
	var out TenantInfo
	p, err := tenantPath(tenant)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, request{Op: "Tenant", Name: tenant, Method: http.MethodGet, Path: p}, &out)
	return out, err
}

// CreateTenant creates a tenant. An existing tenant is an error matching
// ErrConflict.
func (c *Client) CreateTenant(ctx context.Context, tenant string, info TenantInfo) error {
	p, err := tenantPath(tenant)
	if err != nil {
		return err
	}
	info = normalTenantInfo(info)
	return c.do(ctx, request{Op: "CreateTenant", Name: tenant, Method: http.MethodPut, Path: p, Body: info}, nil)
}

// UpdateTenant replaces a tenant's configuration.
func (c *Client) UpdateTenant(ctx context.Context, tenant string, info TenantInfo) error {
	p, err := tenantPath(tenant)
	if err != nil {
		return err
	}
	info = normalTenantInfo(info)
	return c.do(ctx, request{Op: "UpdateTenant", Name: tenant, Method: http.MethodPost, Path: p, Body: info}, nil)
}

// normalTenantInfo sends empty lists as [] rather than null.
func normalTenantInfo(info TenantInfo) TenantInfo {
	if info.AdminRoles == nil {
		info.AdminRoles = []string{}
	}
	if info.AllowedClusters == nil {
		info.AllowedClusters = []string{}
	}
	return info
}

// DeleteTenant deletes a tenant, which must hold no namespaces unless
// opts.Force is set (an error matching ErrConflict otherwise).
func (c *Client) DeleteTenant(ctx context.Context, tenant string, opts *DeleteOptions) error {
	p, err := tenantPath(tenant)
	if err != nil {
		return err
	}
	return c.do(ctx, request{Op: "DeleteTenant", Name: tenant, Method: http.MethodDelete, Path: p, Query: opts.query()}, nil)
}
