package dockertest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// State is the JSON file written by `go run ./cmd/pulsar up` and read by
// Start when STARGATE_PULSAR_STATE names it. Example:
//
//	{
//	  "version": 1,
//	  "pulsarVersion": "4.0.8",
//	  "root": "/tmp/stargate-up-123",
//	  "createdAt": "2026-11-28T02:10:00Z",
//	  "brokers": {
//	    "plain": {"node": "plain", "pid": 4711, "wsURL": "ws://127.0.0.1:40001", "wssURL": "wss://127.0.0.1:40004", ...},
//	    "tls":   {"node": "plain", ...},
//	    "token": {"node": "token", "tokenSecret": "<base64>", "token": "<admin JWT>", "requireClientCert": true, ...}
//	  }
//	}
type State struct {
	Version       int                    `json:"version"`
	PulsarVersion string                 `json:"pulsarVersion"`
	Root          string                 `json:"root"` // run directory; `down` removes it
	CreatedAt     time.Time              `json:"createdAt"`
	Brokers       map[Variant]BrokerInfo `json:"brokers"`
	// Cluster is the cluster variant (`up --variants cluster`), nil without it.
	Cluster *ClusterInfo `json:"cluster,omitempty"`
}

// BrokerInfo describes how to reach one variant.
type BrokerInfo struct {
	Node              string `json:"node"` // JVM serving it ("plain" or "token")
	PID               int    `json:"pid"`
	Dir               string `json:"dir"`
	Log               string `json:"log"`
	ReadyAfterMillis  int64  `json:"readyAfterMillis,omitempty"`
	WSURL             string `json:"wsURL"`
	WSSURL            string `json:"wssURL,omitempty"`
	AdminURL          string `json:"adminURL"`
	AdminTLSURL       string `json:"adminTLSURL,omitempty"`
	ServiceURL        string `json:"serviceURL,omitempty"`
	TokenSecret       string `json:"tokenSecret,omitempty"` // base64 (standard) HMAC-SHA256 key
	Token             string `json:"token,omitempty"`       // superuser ("admin") JWT, no expiry
	CAFile            string `json:"caFile,omitempty"`
	ClientCertFile    string `json:"clientCertFile,omitempty"`
	ClientKeyFile     string `json:"clientKeyFile,omitempty"`
	RequireClientCert bool   `json:"requireClientCert,omitempty"` // on WSSURL
}

// ReadState reads a state file.
func ReadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	if s.Version != 1 {
		return nil, fmt.Errorf("state file %s: version %d, want 1", path, s.Version)
	}
	return &s, nil
}

// WriteState writes a state file atomically.
func WriteState(path string, s *State) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func fromStateFile(ctx context.Context, path string, v Variant) (*Broker, error) {
	s, err := ReadState(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", EnvState, err)
	}
	info, ok := s.Brokers[v]
	if !ok {
		return nil, fmt.Errorf("%s=%s has no %s broker (started with --variants without it?)", EnvState, path, v)
	}
	if info.PID > 0 && !pidAlive(info.PID) {
		return nil, fmt.Errorf("%s=%s: the %s broker (pid %d) is not running; run `go run ./dockertest/cmd/pulsar up` again", EnvState, path, v, info.PID)
	}
	return brokerFromInfo(v, "state", info)
}

func brokerFromInfo(v Variant, provider string, info BrokerInfo) (*Broker, error) {
	b := &Broker{
		Variant: v, Provider: provider,
		WSURL: info.WSURL, WSSURL: info.WSSURL, AdminURL: info.AdminURL, AdminTLSURL: info.AdminTLSURL,
		ServiceURL: info.ServiceURL, RequireClientCert: info.RequireClientCert, token: info.Token,
		LogPath: info.Log,
	}
	if info.TokenSecret != "" {
		sec, err := base64.StdEncoding.DecodeString(info.TokenSecret)
		if err != nil {
			return nil, fmt.Errorf("tokenSecret: %w", err)
		}
		b.secret = sec
	}
	for _, f := range []struct {
		path string
		dst  *[]byte
	}{{info.CAFile, &b.CAPEM}, {info.ClientCertFile, &b.ClientCertPEM}, {info.ClientKeyFile, &b.ClientKeyPEM}} {
		if f.path == "" {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			return nil, err
		}
		*f.dst = data
	}
	return b, nil
}

// pidAlive reports whether pid is a live (non-zombie) process.
func pidAlive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no procfs: trust kill(0)
	}
	// "pid (comm) S …": the state follows the last ')'.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

// UpOptions configure Up.
type UpOptions struct {
	Variants     []Variant // default: all
	StatePath    string    // required
	CacheDir     string
	StartTimeout time.Duration
	Logf         func(string, ...any)
}

// Up starts detached brokers (one JVM for Plain+TLS, one for Token; only the
// ones the variants need) that outlive the calling process, waits until
// they are ready, and writes the state file. Both JVMs start concurrently.
func Up(ctx context.Context, o UpOptions) (*State, error) {
	if o.StatePath == "" {
		return nil, errors.New("Up: no state path")
	}
	if len(o.Variants) == 0 {
		o.Variants = Variants
	}
	wantCluster := slices.Contains(o.Variants, Cluster)
	o.Variants = slices.DeleteFunc(slices.Clone(o.Variants), func(v Variant) bool { return v == Cluster })
	opts := Options{CacheDir: o.CacheDir, StartTimeout: o.StartTimeout, Logf: o.Logf}
	opts.defaults()
	if old, err := ReadState(o.StatePath); err == nil {
		for v, bi := range old.Brokers {
			if pidAlive(bi.PID) {
				return nil, fmt.Errorf("%s already describes a running %s broker (pid %d); run `down --state %s` first", o.StatePath, v, bi.PID, o.StatePath)
			}
		}
		if old.Cluster != nil {
			for _, n := range old.Cluster.nodes() {
				if pidAlive(n.pid()) {
					return nil, fmt.Errorf("%s already describes a running cluster (%s, pid %d); run `down --state %s` first", o.StatePath, n.Name, n.pid(), o.StatePath)
				}
			}
		}
	}
	// Fetch the distribution once before the parallel starts.
	if _, err := javaPath(); err != nil {
		return nil, err
	}
	if _, err := EnsureDistribution(ctx, opts.CacheDir, opts.Logf); err != nil {
		return nil, err
	}
	root, pki, err := newRunRoot("stargate-up-*")
	if err != nil {
		return nil, err
	}
	var kinds []nodeKind
	for _, v := range o.Variants {
		if k := nodeFor(v); !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	nodes := make(map[nodeKind]*localNode)
	errs := make([]error, len(kinds))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, k := range kinds {
		wg.Go(func() {
			n, err := launch(ctx, k, filepath.Join(root, string(k)), pki, opts, true)
			if err != nil {
				errs[i] = err
				return
			}
			mu.Lock()
			nodes[k] = n
			mu.Unlock()
		})
	}
	wg.Wait()
	var ci *ClusterInfo
	if err := errors.Join(errs...); err == nil && wantCluster {
		// After the standalone brokers, not beside them: five more JVMs
		// starting at once on two cores would only slow every start.
		ci, err = upCluster(ctx, filepath.Join(root, "cluster"), opts)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		for _, n := range nodes {
			n.stop(15 * time.Second)
		}
		os.RemoveAll(root)
		return nil, err
	}
	s := &State{Version: 1, PulsarVersion: PulsarVersion, Root: root, CreatedAt: time.Now().UTC(), Brokers: map[Variant]BrokerInfo{}, Cluster: ci}
	for _, v := range o.Variants {
		n := nodes[nodeFor(v)]
		info := n.info(v)
		info.ReadyAfterMillis = n.readyAfter.Milliseconds()
		s.Brokers[v] = info
	}
	if err := WriteState(o.StatePath, s); err != nil {
		for _, n := range nodes {
			n.stop(15 * time.Second)
		}
		if ci != nil {
			downCluster(ci, 15*time.Second, opts.Logf)
		}
		os.RemoveAll(root)
		return nil, err
	}
	return s, nil
}

// Down stops the brokers a state file describes (SIGTERM to each process
// group, SIGKILL after grace), removes their run directory and the state file.
func Down(statePath string, grace time.Duration, logf func(string, ...any)) error {
	s, err := ReadState(statePath)
	if err != nil {
		return err
	}
	pids := map[int]bool{}
	for _, bi := range s.Brokers {
		if bi.PID > 0 {
			pids[bi.PID] = true
		}
	}
	var wg sync.WaitGroup
	for pid := range pids {
		wg.Go(func() {
			if !pidAlive(pid) {
				return
			}
			logf("stopping pid %d (SIGTERM)", pid)
			_ = syscall.Kill(-pid, syscall.SIGTERM)
			deadline := time.Now().Add(grace)
			for pidAlive(pid) && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
			}
			if pidAlive(pid) {
				logf("pid %d still running after %s: SIGKILL", pid, grace)
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				for i := 0; i < 50 && pidAlive(pid); i++ {
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	if s.Cluster != nil {
		downCluster(s.Cluster, grace, logf)
	}
	if s.Root != "" && strings.Contains(filepath.Base(s.Root), "stargate-up-") {
		if err := os.RemoveAll(s.Root); err != nil {
			return err
		}
	}
	return os.Remove(statePath)
}

// Status checks each broker of a state file: process alive and admin API ready.
func Status(ctx context.Context, statePath string) (map[Variant]error, error) {
	s, err := ReadState(statePath)
	if err != nil {
		return nil, err
	}
	out := map[Variant]error{}
	for v, bi := range s.Brokers {
		if !pidAlive(bi.PID) {
			out[v] = fmt.Errorf("pid %d not running", bi.PID)
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		out[v] = readyOnce(cctx, NewAdmin(bi.AdminURL, bi.Token))
		cancel()
	}
	if s.Cluster != nil {
		out[Cluster] = clusterStatus(ctx, s.Cluster)
	}
	return out, nil
}
