package dockertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestDeleteNamespaceRetries: a 409 or 500 from the broker is retried; a 404
// after a failed attempt is that attempt's deletion; a first 404 is an error.
func TestDeleteNamespaceRetries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []int
		wantErr bool
	}{
		{"conflict then server error then deleted", []int{409, 500, 204}, false},
		{"server error then gone", []int{500, 404}, false},
		{"not found at once", []int{404}, true},
		{"forbidden is final", []int{403, 204}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				if r.Method != http.MethodDelete || i >= len(tc.answers) {
					t.Errorf("unexpected call %d: %s %s", i, r.Method, r.URL)
					w.WriteHeader(http.StatusTeapot)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.answers[i])
				if tc.answers[i] >= 300 {
					_, _ = w.Write([]byte(`{"reason":"test"}`))
				}
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := NewAdmin(srv.URL, "").DeleteNamespace(ctx, "t/ns")
			if (err != nil) != tc.wantErr {
				t.Errorf("DeleteNamespace = %v; want error %v", err, tc.wantErr)
			}
			if got := int(n.Load()); got != len(tc.answers) && !tc.wantErr {
				t.Errorf("%d calls; want %d", got, len(tc.answers))
			}
		})
	}
}
