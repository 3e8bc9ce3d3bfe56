package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate/internal/msgcrypto"
)

// TestMsgCryptoJava checks internal/msgcrypto live against the Java client's
// own MessageCryptoBc (pulsar-client-messagecrypto-bc 4.0.8 from Maven
// Central, built from internal/msgcrypto/testdata/javavectors): Java
// encrypts for every key pair of pairs.txt and Go decrypts; Go encrypts and
// Java decrypts. It needs no broker, only a JDK and Maven (like
// scripts/test-all); without them it is skipped, or fails under CI=true.
func TestMsgCryptoJava(t *testing.T) {
	java, mvn := lookTool(t, "java"), lookTool(t, "mvn")
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()

	keyDir, err := filepath.Abs(filepath.Join("..", "internal", "msgcrypto", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	tool := buildJavaVectors(ctx, t, mvn, filepath.Join(keyDir, "javavectors"))
	pairs := readKeyPairs(t, filepath.Join(keyDir, "javavectors", "pairs.txt"))
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, java, append([]string{"-cp", tool, "stargate.JavaVectors"}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	t.Run("JavaToGo", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "java.json")
		args := []string{"generate", keyDir, out}
		for _, p := range pairs {
			args = append(args, p.name+":"+p.pub+":"+p.priv)
		}
		if o, err := run(args...); err != nil {
			t.Fatalf("JavaVectors generate: %v\n%s", err, o)
		}
		vf := readVectorFile(t, out)
		t.Logf("%d vectors by %s", len(vf.Vectors), vf.Generator)
		if want := 7 * len(pairs); len(vf.Vectors) != want {
			t.Fatalf("Java made %d vectors, want %d", len(vf.Vectors), want)
		}
		for _, v := range vf.Vectors {
			priv := parsePrivate(t, filepath.Join(keyDir, v.PrivateKey))
			dk, err := msgcrypto.UnwrapKey(priv, v.EncryptedDataKey)
			if err != nil {
				t.Errorf("%s: UnwrapKey: %v", v.Name, err)
				continue
			}
			if !bytes.Equal(dk, v.DataKey) {
				t.Errorf("%s: unwrapped %x, Java wrapped %x", v.Name, dk, v.DataKey)
				continue
			}
			pt, err := msgcrypto.Open(dk, v.IV, v.Ciphertext)
			if err != nil || !bytes.Equal(pt, v.Plaintext) {
				t.Errorf("%s: Open: %v (plaintext equal: %v)", v.Name, err, bytes.Equal(pt, v.Plaintext))
			}
		}
	})

	t.Run("GoToJava", func(t *testing.T) {
		vf := goVectors(t, keyDir, pairs)
		in := writeVectorFile(t, vf)
		o, err := run("check", keyDir, in)
		if err != nil {
			t.Fatalf("MessageCryptoBc could not decrypt Go's vectors: %v\n%s", err, o)
		}
		if got := strings.Count(o, "\nok   "); got != len(vf.Vectors) || !strings.Contains(o, fmt.Sprintf("PASS %d vectors", len(vf.Vectors))) {
			t.Fatalf("Java checked %d of %d vectors:\n%s", got, len(vf.Vectors), o)
		}
		t.Logf("MessageCryptoBc decrypted all %d Go vectors (%d key pairs)", len(vf.Vectors), len(pairs))

		// The check can fail: Java must reject a flipped ciphertext bit and a
		// flipped wrapped-key bit.
		bad := vectorFile{Vectors: []javaVector{vf.Vectors[0], vf.Vectors[len(vf.Vectors)-1]}}
		bad.Vectors[0].Ciphertext = flip(bad.Vectors[0].Ciphertext)
		bad.Vectors[1].EncryptedDataKey = flip(bad.Vectors[1].EncryptedDataKey)
		o, err = run("check", keyDir, writeVectorFile(t, bad))
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || strings.Count(o, "FAIL ") != 2 {
			t.Fatalf("Java check of two tampered vectors: %v, want exit 1 with two FAILs:\n%s", err, o)
		}
	})
}

func lookTool(t *testing.T, name string) string {
	t.Helper()
	if name == "java" {
		if jh := os.Getenv("JAVA_HOME"); jh != "" {
			if p := filepath.Join(jh, "bin", "java"); fileIsExec(p) {
				return p
			}
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: needed for the Java known-answer check (JDK 17+, Maven 3.8+)", name)
		}
		t.Skipf("%s not found: skipping the Java known-answer check", name)
	}
	return p
}

func fileIsExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// buildJavaVectors compiles a copy of the Maven project (so that parallel
// runs do not share target/) and returns its class path.
func buildJavaVectors(ctx context.Context, t *testing.T, mvn, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	_ = os.RemoveAll(filepath.Join(dir, "target"))
	cpFile := filepath.Join(dir, "classpath.txt")
	cmd := exec.CommandContext(ctx, mvn, "-q", "-B", "compile", "dependency:build-classpath", "-Dmdep.outputFile="+cpFile)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mvn compile of %s: %v\n%s", src, err, lastOutputLines(string(out), 30))
	}
	cp, err := os.ReadFile(cpFile)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "target", "classes") + string(os.PathListSeparator) + strings.TrimSpace(string(cp))
}

func lastOutputLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type keyPair struct{ name, pub, priv string }

func readKeyPairs(t *testing.T, path string) []keyPair {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []keyPair
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && !strings.HasPrefix(f[0], "#") {
			out = append(out, keyPair{f[0], f[1], f[2]})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s lists no key pairs", path)
	}
	return out
}

// vectorFile and javaVector are the JSON of the Java tool (see
// internal/msgcrypto/vectors_test.go).
type vectorFile struct {
	Generator string       `json:"generator"`
	Vectors   []javaVector `json:"vectors"`
}

type javaVector struct {
	Name             string `json:"name"`
	KeyName          string `json:"keyName"`
	PublicKey        string `json:"publicKey"`
	PrivateKey       string `json:"privateKey"`
	DataKey          []byte `json:"dataKey"`
	EncryptedDataKey []byte `json:"encryptedDataKey"`
	IV               []byte `json:"iv"`
	Plaintext        []byte `json:"plaintext"`
	Ciphertext       []byte `json:"ciphertext"`
}

func readVectorFile(t *testing.T, path string) vectorFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	return vf
}

func writeVectorFile(t *testing.T, vf vectorFile) string {
	t.Helper()
	b, err := json.Marshal(vf)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "go.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// goVectors wraps fresh data keys with WrapKey and encrypts payloads with
// Seal for every key pair.
func goVectors(t *testing.T, keyDir string, pairs []keyPair) vectorFile {
	t.Helper()
	vf := vectorFile{Generator: "stargate internal/msgcrypto"}
	for _, p := range pairs {
		pubPEM, err := os.ReadFile(filepath.Join(keyDir, p.pub))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := msgcrypto.ParsePublicKey(pubPEM)
		if err != nil {
			t.Fatalf("%s: %v", p.pub, err)
		}
		for i, size := range []int{0, 1, 16, 33, 1000, 5000} {
			dk, err := msgcrypto.NewDataKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			iv, err := msgcrypto.NewIV(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			pt := make([]byte, size)
			rand.Read(pt)
			ct, err := msgcrypto.Seal(dk, iv, pt)
			if err != nil {
				t.Fatal(err)
			}
			w, err := msgcrypto.WrapKey(rand.Reader, pub, dk)
			if err != nil {
				t.Fatalf("%s: WrapKey: %v", p.name, err)
			}
			vf.Vectors = append(vf.Vectors, javaVector{
				Name: fmt.Sprintf("%s/%d", p.name, i), KeyName: "key-" + p.name,
				PublicKey: p.pub, PrivateKey: p.priv,
				DataKey: dk, EncryptedDataKey: w, IV: iv, Plaintext: pt, Ciphertext: ct,
			})
		}
	}
	return vf
}

func parsePrivate(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := msgcrypto.ParsePrivateKey(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return k
}

func flip(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)/2] ^= 0x40
	return c
}
