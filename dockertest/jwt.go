package dockertest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"
)

// mintHS256 signs a JWT the way Pulsar's `bin/pulsar tokens create --secret-key`
// does: HS256 over {"sub": subject}, with "exp" only when expiry != 0. A
// negative expiry yields a token that is already expired.
func mintHS256(secret []byte, subject string, expiry time.Duration) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims := map[string]any{"sub": subject}
	if expiry != 0 {
		claims["exp"] = time.Now().Add(expiry).Unix()
	}
	body, _ := json.Marshal(claims) // a map of string and int64 cannot fail
	signing := header + "." + enc.EncodeToString(body)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}
