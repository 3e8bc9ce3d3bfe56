package dockertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// PulsarVersion is the pinned Pulsar release: the newest 4.0.x LTS patch whose
// server tarball Maven Central serves to this project's machines.
const PulsarVersion = "4.0.8"

const distMarker = ".stargate-unpacked"

// CacheDir is where the distribution is downloaded and unpacked:
// $STARGATE_CACHE, else $HOME/.cache/stargate.
func CacheDir() string {
	if d := os.Getenv("STARGATE_CACHE"); d != "" {
		return d
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "stargate")
	}
	return filepath.Join(os.TempDir(), "stargate-cache")
}

// javaPath finds a java binary: $JAVA_HOME/bin/java, else java on PATH.
func javaPath() (string, error) {
	if jh := os.Getenv("JAVA_HOME"); jh != "" {
		p := filepath.Join(jh, "bin", "java")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", errors.New("java not found (need a JDK 17 on PATH or in JAVA_HOME)")
	}
	return p, nil
}

// EnsureDistribution returns the directory of the unpacked Pulsar server
// distribution (…/apache-pulsar-4.0.8), downloading it with Maven and
// unpacking it into cacheDir first when it is not there yet. Concurrent
// callers (parallel test binaries) serialise on a lock file.
func EnsureDistribution(ctx context.Context, cacheDir string, logf func(string, ...any)) (string, error) {
	if cacheDir == "" {
		cacheDir = CacheDir()
	}
	home := filepath.Join(cacheDir, "apache-pulsar-"+PulsarVersion)
	if fileExists(filepath.Join(home, distMarker)) {
		return home, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(cacheDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if fileExists(filepath.Join(home, distMarker)) {
		return home, nil
	}

	tarball := filepath.Join(cacheDir, "dl", fmt.Sprintf("pulsar-server-distribution-%s-bin.tar.gz", PulsarVersion))
	if !fileExists(tarball) {
		mvn, err := exec.LookPath("mvn")
		if err != nil {
			return "", errors.New("mvn not found on PATH (needed once to fetch the Pulsar " + PulsarVersion + " distribution into " + cacheDir + ")")
		}
		logf("fetching pulsar-server-distribution %s with Maven into %s", PulsarVersion, cacheDir)
		cmd := exec.CommandContext(ctx, mvn, "-B", "-q",
			"org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
			"-Dartifact=org.apache.pulsar:pulsar-server-distribution:"+PulsarVersion+":tar.gz:bin",
			"-DoutputDirectory="+filepath.Join(cacheDir, "dl"))
		cmd.Stdin = nil
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("mvn dependency:copy of pulsar-server-distribution %s failed: %v: %s", PulsarVersion, err, lastLines(string(out), 20))
		}
	}
	logf("unpacking %s", tarball)
	tmp, err := os.MkdirTemp(cacheDir, "unpack-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if out, err := exec.CommandContext(ctx, "tar", "-xzf", tarball, "-C", tmp).CombinedOutput(); err != nil {
		return "", fmt.Errorf("unpacking %s: %v: %s", tarball, err, out)
	}
	if !fileExists(filepath.Join(tmp, "apache-pulsar-"+PulsarVersion, "lib")) {
		return "", fmt.Errorf("unpacking %s: no apache-pulsar-%s/lib inside", tarball, PulsarVersion)
	}
	_ = os.RemoveAll(home) // a partial unpack from an interrupted run
	if err := os.Rename(filepath.Join(tmp, "apache-pulsar-"+PulsarVersion), home); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(home, distMarker), []byte(PulsarVersion+"\n"), 0o644); err != nil {
		return "", err
	}
	return home, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// lastLines returns at most n trailing lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tailFile returns the last n lines of the file at path (reading at most its last 256 KiB).
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	const max = 256 << 10
	off := int64(0)
	if st.Size() > max {
		off = st.Size() - max
	}
	buf := make([]byte, st.Size()-off)
	n2, _ := f.ReadAt(buf, off)
	return lastLines(string(buf[:n2]), n)
}
