package dockertest

import (
	"context"
	"os"
	"sync"
	"time"

	odt "github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
)

// The Docker provider runs apachepulsar/pulsar:<PulsarVersion> with
// `bin/pulsar standalone` (whose shipped standalone.conf enables the
// WebSocket service). It only serves the Plain variant; Token and TLS need
// generated config and certificates, which the local provider handles.

var sharedDocker struct {
	mu    sync.Mutex
	b     *Broker
	close func() error
}

// fromDocker returns a broker, or nil and the reason Docker was not used.
func fromDocker(ctx context.Context, opts Options) (*Broker, string) {
	if os.Getenv(EnvNoDocker) != "" {
		return nil, EnvNoDocker + " set"
	}
	if opts.Variant != Plain {
		return nil, "only serves the plain variant"
	}
	sharedDocker.mu.Lock()
	defer sharedDocker.mu.Unlock()
	if sharedDocker.b != nil {
		return sharedDocker.b, ""
	}
	pool, err := odt.NewPool("")
	if err != nil {
		return nil, err.Error()
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = pool.Client.PingWithContext(pctx)
	cancel()
	if err != nil {
		return nil, "no daemon answered a ping within 3 s"
	}
	opts.Logf("starting apachepulsar/pulsar:%s in Docker", PulsarVersion)
	res, err := pool.RunWithOptions(&odt.RunOptions{
		Repository:   "apachepulsar/pulsar",
		Tag:          PulsarVersion,
		Cmd:          []string{"bin/pulsar", "standalone", "-nfw", "-nss"},
		Env:          []string{"PULSAR_MEM=-Xms256m -Xmx1g -XX:MaxDirectMemorySize=1g"},
		ExposedPorts: []string{"6650/tcp", "8080/tcp"},
	}, func(hc *dc.HostConfig) { hc.AutoRemove = true })
	if err != nil {
		return nil, "run: " + err.Error()
	}
	_ = res.Expire(3600) // net for killed test binaries
	admin := "http://" + res.GetHostPort("8080/tcp")
	if err := waitReady(ctx, admin, "", opts.StartTimeout, nil); err != nil {
		_ = pool.Purge(res)
		return nil, "container not ready: " + err.Error()
	}
	b := &Broker{
		Variant: Plain, Provider: "docker",
		WSURL:      "ws://" + res.GetHostPort("8080/tcp"),
		AdminURL:   admin,
		ServiceURL: "pulsar://" + res.GetHostPort("6650/tcp"),
	}
	sharedDocker.b = b
	sharedDocker.close = func() error { return pool.Purge(res) }
	return b, ""
}
