package stargate_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stargate-go/stargate"
	"github.com/stargate-go/stargate/stargatetest"
)

func writeToken(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func wantToken(t *testing.T, tp func(context.Context) (string, error), want string) {
	t.Helper()
	got, err := tp(context.Background())
	if err != nil || got != want {
		t.Fatalf("token = %q, %v; want %q", got, err, want)
	}
}

func TestTokenFromFileRereadsOnChange(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	writeToken(t, path, "  Bearer tok-aaaa\n", old)
	tp := stargate.TokenFromFile(path)
	wantToken(t, tp, "tok-aaaa")

	// Same file, size and time: not read again.
	writeToken(t, path, "  Bearer tok-bbbb\n", old)
	wantToken(t, tp, "tok-aaaa")
	// A new modification time: read again.
	writeToken(t, path, "tok-cccc", old.Add(time.Minute))
	wantToken(t, tp, "tok-cccc")
	// A fresh write keeps being re-read, whatever the time resolution.
	writeToken(t, path, "tok-dddd", time.Time{})
	wantToken(t, tp, "tok-dddd")
	writeToken(t, path, "tok-eeee", time.Time{})
	wantToken(t, tp, "tok-eeee")

	// The kubelet's way: a symlink swapped to a new file with the same size
	// and time.
	for _, v := range []string{"v1", "v2"} {
		_ = os.Mkdir(filepath.Join(dir, v), 0o700)
		writeToken(t, filepath.Join(dir, v, "token"), "tok-"+v, old)
	}
	link := filepath.Join(dir, "projected")
	if err := os.Symlink(filepath.Join(dir, "v1", "token"), link); err != nil {
		t.Fatal(err)
	}
	tp = stargate.TokenFromFile(link)
	wantToken(t, tp, "tok-v1")
	tmp := link + ".tmp"
	if err := os.Symlink(filepath.Join(dir, "v2", "token"), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	wantToken(t, tp, "tok-v2")
}

func TestTokenFromFileErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	tp := stargate.TokenFromFile(path)
	_, err := tp(context.Background())
	var fe *stargate.TokenFileError
	if !errors.As(err, &fe) || fe.Path != path || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if strings.Count(err.Error(), path) != 1 {
		t.Errorf("error %q should name the file once", err)
	}
	for content, why := range map[string]string{" \n": "empty", "two words": "more than one word"} {
		writeToken(t, path, content, time.Time{})
		_, err := tp(context.Background())
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: %v", content, err)
		}
		if strings.Contains(err.Error(), "two words") {
			t.Errorf("error shows the contents: %v", err)
		}
	}
}

// A rotated file is sent at the next reconnect; a revoked token then ends
// the handle with a typed error, and the provider error reaches the user
// wrapped.
func TestTokenFromFileAtReconnect(t *testing.T) {
	srv := stargatetest.New(t, &stargatetest.Options{Tokens: map[string]string{"first-token": "app", "second-token": "app"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, "first-token\n", time.Time{})
	opts := fastReconnect
	opts.TokenProvider = stargate.TokenFromFile(path)
	client, _ := stargate.NewClient(srv.URL(), &opts)
	p, err := client.NewProducer(ctx, "rotating", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	writeToken(t, path, "second-token\n", time.Time{})
	srv.DropConnections("")
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("x")}).Wait(ctx); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	writeToken(t, path, "revoked-token\n", time.Time{})
	srv.DropConnections("")
	if _, err := p.Send(ctx, stargate.Message{Payload: []byte("y")}).Wait(ctx); !errors.Is(err, stargate.ErrUnauthorized) {
		t.Fatalf("after revocation: %v, want ErrUnauthorized", err)
	}

	_ = os.Remove(path)
	_, err = client.NewProducer(ctx, "rotating", nil)
	var fe *stargate.TokenFileError
	if !errors.As(err, &fe) {
		t.Fatalf("missing file at dial: %v", err)
	}
}
