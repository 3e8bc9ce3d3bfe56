package msgcrypto_test

import (
	"crypto/rand"
	"fmt"
	"os"

	"github.com/stargate-go/stargate/internal/msgcrypto"
)

// A producer encrypts a payload with a fresh data key and wraps the data key
// for a consumer's public key (as a Java producer does); the consumer
// unwraps it with the private key and decrypts.
func Example() {
	pubPEM, _ := os.ReadFile("testdata/ec521_pub.pem") // openssl ec -pubout of an explicit secp521r1 key
	privPEM, _ := os.ReadFile("testdata/ec521_priv.pem")

	// Producer.
	pub, err := msgcrypto.ParsePublicKey(pubPEM)
	if err != nil {
		fmt.Println(err)
		return
	}
	dataKey, _ := msgcrypto.NewDataKey(rand.Reader)
	iv, _ := msgcrypto.NewIV(rand.Reader)
	ciphertext, _ := msgcrypto.Seal(dataKey, iv, []byte("hello"))
	wrapped, _ := msgcrypto.WrapKey(rand.Reader, pub, dataKey) // sent with the message, with iv

	// Consumer.
	priv, err := msgcrypto.ParsePrivateKey(privPEM)
	if err != nil {
		fmt.Println(err)
		return
	}
	key, err := msgcrypto.UnwrapKey(priv, wrapped)
	if err != nil {
		fmt.Println(err)
		return
	}
	plaintext, err := msgcrypto.Open(key, iv, ciphertext)
	fmt.Printf("%s %v (wrapped key %d bytes, ciphertext %d bytes)\n", plaintext, err, len(wrapped), len(ciphertext))
	// Output: hello <nil> (wrapped key 185 bytes, ciphertext 21 bytes)
}
