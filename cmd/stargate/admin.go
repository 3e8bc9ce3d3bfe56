package main

import "context"

// adminError is a refusal by the admin REST API.
type adminError struct{ error }

var adminCommand = &command{
	name:  "admin",
	brief: "administer tenants, namespaces, clusters, topics and subscriptions",
	usage: "Usage: stargate admin AREA ACTION [flags] [arguments]\n",
	run: func(a *app, ctx context.Context, args []string) error {
		return usageErr("admin: not yet")
	},
}

func adminHelp(a *app, args []string) error { return nil }

// adminCommandLines lists the admin command lines with their own flags.
func adminCommandLines() [][]string { return nil }
