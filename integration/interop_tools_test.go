package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/dockertest"
)

// The official clients the interop tests talk to: Pulsar's Java client
// (testdata/javaclient, built with Maven from Maven Central) and its Python
// client (testdata/pyclient, PyPI's pulsar-client in a venv). Both are built
// or installed once per machine into the cache (STARGATE_CACHE, default
// ~/.cache/stargate), keyed by what they are made from. Under CI=true a
// missing java, mvn, python3 or openssl fails the test; elsewhere it skips.

// pythonPulsarClient is the PyPI release the venv gets.
const pythonPulsarClient = "pulsar-client==3.13.0"

// need fails (CI) or skips the test when a tool it needs is missing.
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s: %v (CI=true: a missing tool is a failure)", what, err)
	}
	t.Skipf("%s: %v", what, err)
}

func cacheDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("STARGATE_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(home, ".cache", "stargate")
}

// run runs a command and returns its stdout; a non-zero exit is an error
// carrying stderr.
func run(ctx context.Context, dir string, argv ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("%s: %w\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// treeHash hashes the files under dir (names and contents), skipping target/.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "target" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, n)
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// copyTree copies the regular files under src (but target/) to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "target" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}

var javaJar struct {
	once sync.Once
	path string
	err  error
}

// javaClient returns the official Java client tool, building its jar with
// Maven on first use (cached by the hash of testdata/javaclient).
func javaClient(t *testing.T) officialClient {
	t.Helper()
	_, err := exec.LookPath("java")
	need(t, "java (JDK 17) for the Java client", err)
	_, err = exec.LookPath("mvn")
	need(t, "mvn (Maven 3.8+) for the Java client", err)
	javaJar.once.Do(func() {
		src, err := filepath.Abs(filepath.Join("testdata", "javaclient"))
		if err != nil {
			javaJar.err = err
			return
		}
		dir := cacheDir(t)
		jar := filepath.Join(dir, "javaclient-"+treeHash(t, src)+".jar")
		if _, err := os.Stat(jar); err == nil {
			javaJar.path = jar
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			javaJar.err = err
			return
		}
		build, err := os.MkdirTemp(dir, "javaclient-build-")
		if err != nil {
			javaJar.err = err
			return
		}
		defer os.RemoveAll(build)
		if err := copyTree(src, build); err != nil {
			javaJar.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		if _, err := run(ctx, build, "mvn", "-q", "-B", "package", "-DskipTests"); err != nil {
			javaJar.err = fmt.Errorf("building the Java client: %w", err)
			return
		}
		if err := os.Rename(filepath.Join(build, "target", "javaclient.jar"), jar); err != nil {
			javaJar.err = err
			return
		}
		javaJar.path = jar
	})
	if javaJar.err != nil {
		t.Fatal(javaJar.err)
	}
	return officialClient{name: "java", srv: startJavaServer(t, javaJar.path), ec: true, versions: true}
}

// javaServer is the Java tool's serve mode: one JVM and PulsarClient for
// all the commands of a test (a JVM start costs seconds on a loaded machine).
type javaServer struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr string // file
}

// startJavaServer starts the server for the plain broker; t's cleanup stops it.
func startJavaServer(t *testing.T, jar string) *javaServer {
	t.Helper()
	b := dockertest.Require(t, dockertest.Plain)
	stderr, err := os.Create(filepath.Join(t.TempDir(), "javaclient.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	s := &javaServer{stderr: stderr.Name()}
	s.cmd = exec.Command("java", "-XX:TieredStopAtLevel=1", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-jar", jar, "serve", "--url", b.ServiceURL)
	s.cmd.Stderr = stderr
	if s.in, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.out = bufio.NewReaderSize(out, 1<<20)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.in.Close() // serve ends at EOF
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("java client server: %v", err)
			}
		case <-time.After(time.Minute):
			_ = s.cmd.Process.Kill()
			<-done
			t.Errorf("java client server did not end at EOF")
		}
		stderr.Close()
	})
	return s
}

// call runs one command in the server and returns its output lines; ctx
// ending kills the server.
func (s *javaServer) call(ctx context.Context, args []string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { _ = s.cmd.Process.Kill() })
	defer stop()
	line, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	if _, err := s.in.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("java client server: %w", err)
	}
	var out bytes.Buffer
	for {
		l, err := s.out.ReadString('\n')
		if err != nil {
			log, _ := os.ReadFile(s.stderr)
			return out.Bytes(), fmt.Errorf("java client server: %w (ctx: %v); stderr:\n%s", err, ctx.Err(), log)
		}
		switch {
		case strings.HasPrefix(l, "OUT "):
			out.WriteString(l[len("OUT "):])
		case strings.HasPrefix(l, "END "):
			var end struct {
				Exit  int    `json:"exit"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(l[len("END "):]), &end); err != nil {
				return out.Bytes(), fmt.Errorf("java client server: %q: %w", l, err)
			}
			if end.Exit != 0 {
				log, _ := os.ReadFile(s.stderr)
				if len(log) > 8000 {
					log = log[len(log)-8000:]
				}
				return out.Bytes(), fmt.Errorf("java client %v: exit %d: %s\noutput:\n%s\nstderr (end):\n%s", args, end.Exit, end.Error, out.Bytes(), log)
			}
			return out.Bytes(), nil
		}
	}
}

var pyVenv struct {
	once   sync.Once
	python string
	err    error
}

// pythonClient returns the official Python client tool, creating its venv
// with pip on first use.
func pythonClient(t *testing.T) officialClient {
	t.Helper()
	py3, err := exec.LookPath("python3")
	need(t, "python3 for the Python client", err)
	pyVenv.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		venv := filepath.Join(cacheDir(t), "pyvenv-"+strings.ReplaceAll(pythonPulsarClient, "==", "-"))
		python := filepath.Join(venv, "bin", "python")
		if _, err := run(ctx, "", python, "-c", "import pulsar"); err == nil {
			pyVenv.python = python
			return
		}
		_ = os.RemoveAll(venv) // a half-made venv from an interrupted run
		if _, err := run(ctx, "", py3, "-m", "venv", venv); err != nil {
			pyVenv.err = fmt.Errorf("creating the venv: %w", err)
			return
		}
		if _, err := run(ctx, "", python, "-m", "pip", "install", "-q", "--disable-pip-version-check", pythonPulsarClient); err != nil {
			pyVenv.err = fmt.Errorf("installing %s: %w", pythonPulsarClient, err)
			return
		}
		pyVenv.python = python
	})
	if pyVenv.err != nil {
		t.Fatal(pyVenv.err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "pyclient", "crypto.py"))
	if err != nil {
		t.Fatal(err)
	}
	// The C++ client under pulsar-client encrypts data keys with RSA only
	// (EC keys fail with CryptoError on both sides), and its key reader
	// is file based: one key pair, no versions.
	return officialClient{name: "python", argv: []string{pyVenv.python, script}, ec: false, versions: false}
}

// officialClient runs one of the official clients' tools.
type officialClient struct {
	name     string
	argv     []string    // the command, when srv is nil
	srv      *javaServer // the Java client's server
	ec       bool        // supports EC keys
	versions bool        // its key reader picks private keys by the producer's "version" metadata
}

// interopKeys is a PEM key pair generated by openssl; version is the metadata
// the tests attach to its public key ("" for none).
type interopKeys struct {
	kind, version, pub, priv string
}

// spec is the Java tool's NAME[@VERSION]=PATH for one of k's files.
func (k interopKeys) spec(path string) string {
	if k.version == "" {
		return keyName + "=" + path
	}
	return keyName + "@" + k.version + "=" + path
}

// genKeys makes an RSA or EC key pair with openssl as Pulsar's documentation
// shows. OpenSSL 3 no longer takes `-outform pkcs8` for `openssl rsa -pubout`;
// its PEM output is the same SubjectPublicKeyInfo ("BEGIN PUBLIC KEY").
func genKeys(t *testing.T, kind, version string) interopKeys {
	t.Helper()
	_, err := exec.LookPath("openssl")
	need(t, "openssl to generate keys", err)
	dir := t.TempDir()
	k := interopKeys{kind: kind, version: version, pub: filepath.Join(dir, kind+"_pub.pem"), priv: filepath.Join(dir, kind+"_priv.pem")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var cmds [][]string
	switch kind {
	case "rsa":
		cmds = [][]string{
			{"openssl", "genrsa", "-out", k.priv, "2048"},
			{"openssl", "rsa", "-in", k.priv, "-pubout", "-outform", "PEM", "-out", k.pub},
		}
	case "ec":
		cmds = [][]string{
			{"openssl", "ecparam", "-name", "secp521r1", "-genkey", "-param_enc", "explicit", "-out", k.priv},
			{"openssl", "ec", "-in", k.priv, "-pubout", "-outform", "pem", "-out", k.pub},
		}
	default:
		t.Fatalf("key kind %q", kind)
	}
	for _, c := range cmds {
		if _, err := run(ctx, "", c...); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// versionedKeys is a CryptoKeyReader over key pairs by version, as the
// Java tool's: PublicKey gives the current version's key with the metadata
// {"version": v}; PrivateKey picks the key by the metadata the message
// carries (or the pair with version "" when it carries none).
type versionedKeys struct {
	mu      sync.Mutex
	current string
	pairs   map[string]interopKeys
	publics int // PublicKey calls
}

func newVersionedKeys(pairs ...interopKeys) *versionedKeys {
	v := &versionedKeys{pairs: map[string]interopKeys{}}
	for _, p := range pairs {
		v.pairs[p.version] = p
	}
	v.current = pairs[0].version
	return v
}

func (v *versionedKeys) use(version string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.current = version
}

func (v *versionedKeys) PublicKey(string, map[string]string) (stargate.EncryptionKeyInfo, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.publics++
	p := v.pairs[v.current]
	b, err := os.ReadFile(p.pub)
	if err != nil {
		return stargate.EncryptionKeyInfo{}, err
	}
	var md map[string]string
	if p.version != "" {
		md = map[string]string{"version": p.version}
	}
	return stargate.EncryptionKeyInfo{Key: b, Metadata: md}, nil
}

func (v *versionedKeys) PrivateKey(_ string, md map[string]string) (stargate.EncryptionKeyInfo, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	version, ok := md["version"]
	if !ok {
		version = v.current // a producer that attached no metadata
	}
	p, ok := v.pairs[version]
	if !ok {
		return stargate.EncryptionKeyInfo{}, fmt.Errorf("no private key of version %q", md["version"])
	}
	b, err := os.ReadFile(p.priv)
	if err != nil {
		return stargate.EncryptionKeyInfo{}, err
	}
	return stargate.EncryptionKeyInfo{Key: b, Metadata: md}, nil
}

// officialMessage is one line of a tool's consume output.
type officialMessage struct {
	Payload    []byte            `json:"payload"`
	Key        *string           `json:"key"`
	Properties map[string]string `json:"properties"`
	EventTime  int64             `json:"eventTime"`
	MessageID  string            `json:"messageId"`
}

// keyName is the name every interop key is used under.
const keyName = "interop"

func (c officialClient) exec(ctx context.Context, args []string) ([]byte, error) {
	if c.srv != nil {
		return c.srv.call(ctx, args)
	}
	return run(ctx, "", append(c.argv, args...)...)
}

// produce sends msgs with the tool's producer, encrypted for key k.
func (c officialClient) produce(t *testing.T, ctx context.Context, serviceURL, topic string, k interopKeys,
	codec stargate.CompressionType, batching bool, msgs []stargate.Message) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.jsonl")
	var buf bytes.Buffer
	for _, m := range msgs {
		line := map[string]any{"payload": base64.StdEncoding.EncodeToString(m.Payload), "properties": m.Properties}
		if m.Key != "" {
			line["key"] = m.Key
		}
		if !m.EventTime.IsZero() {
			line["eventTime"] = m.EventTime.UnixMilli()
		}
		b, err := json.Marshal(line)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(append(b, '\n'))
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"produce", "--url", serviceURL, "--topic", topic, "--key", keyName,
		"--compression", codec.String(), "--batching", fmt.Sprint(batching), "--input", in}
	if c.versions {
		args = append(args, "--public-key", k.spec(k.pub), "--key-version", k.version)
	} else {
		args = append(args, "--public-key", k.pub)
	}
	out, err := c.exec(ctx, args)
	if err != nil {
		t.Fatalf("%s produce: %v", c.name, err)
	}
	if n := len(jsonObjects(t, out)); n != len(msgs) {
		t.Fatalf("%s produce: %d message ids for %d messages:\n%s", c.name, n, len(msgs), out)
	}
}

// consume subscribes from the earliest message and takes want messages,
// decrypting with the private keys of pairs, then waits linger for more,
// so a count above want shows.
func (c officialClient) consume(t *testing.T, ctx context.Context, serviceURL, topic, sub string, want int,
	linger time.Duration, pairs ...interopKeys) []officialMessage {
	t.Helper()
	args := []string{"consume", "--url", serviceURL, "--topic", topic, "--subscription", sub,
		"--count", fmt.Sprint(want), "--timeout-seconds", "60", "--linger-millis", fmt.Sprint(linger.Milliseconds())}
	for _, p := range pairs {
		if c.versions {
			args = append(args, "--private-key", p.spec(p.priv))
		} else {
			args = append(args, "--private-key", p.priv)
		}
	}
	out, err := c.exec(ctx, args)
	if err != nil {
		t.Fatalf("%s consume: %v", c.name, err)
	}
	var got []officialMessage
	for _, o := range jsonObjects(t, out) {
		var m officialMessage
		if err := json.Unmarshal(o, &m); err != nil {
			t.Fatalf("%s consume: %v in %s", c.name, err, o)
		}
		got = append(got, m)
	}
	return got
}

// jsonObjects returns the lines of out that are JSON objects (the Python
// client's C++ logger may write other lines).
func jsonObjects(t *testing.T, out []byte) [][]byte {
	t.Helper()
	var objs [][]byte
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 && l[0] == '{' {
			objs = append(objs, append([]byte(nil), l...))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return objs
}

// errMismatch marks a field that differs.
var errMismatch = errors.New("differs")

// sameMessage compares what an official client received with what was sent.
func sameOfficial(got officialMessage, want stargate.Message) error {
	key := ""
	if got.Key != nil {
		key = *got.Key
	}
	var wantEvent int64
	if !want.EventTime.IsZero() {
		wantEvent = want.EventTime.UnixMilli()
	}
	switch {
	case !bytes.Equal(got.Payload, want.Payload):
		return fmt.Errorf("payload %w: %q, want %q", errMismatch, got.Payload, want.Payload)
	case key != want.Key:
		return fmt.Errorf("key %w: %q, want %q", errMismatch, key, want.Key)
	case !sameProps(got.Properties, want.Properties):
		return fmt.Errorf("properties %w: %v, want %v", errMismatch, got.Properties, want.Properties)
	case got.EventTime != wantEvent:
		return fmt.Errorf("eventTime %w: %d, want %d", errMismatch, got.EventTime, wantEvent)
	}
	return nil
}

// sameStargate compares what a stargate consumer received with what was sent.
func sameStargate(got, want stargate.Message) error {
	switch {
	case !bytes.Equal(got.Payload, want.Payload):
		return fmt.Errorf("payload %w: %q, want %q", errMismatch, got.Payload, want.Payload)
	case got.Key != want.Key:
		return fmt.Errorf("key %w: %q, want %q", errMismatch, got.Key, want.Key)
	case !sameProps(got.Properties, want.Properties):
		return fmt.Errorf("properties %w: %v, want %v", errMismatch, got.Properties, want.Properties)
	case !got.EventTime.Equal(want.EventTime):
		return fmt.Errorf("eventTime %w: %v, want %v", errMismatch, got.EventTime, want.EventTime)
	case got.Encryption != nil:
		return fmt.Errorf("still encrypted: %+v", got.Encryption)
	}
	return nil
}

func sameProps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
