module github.com/stargate-go/stargate

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/lxzan/gws v1.9.1
	github.com/sourcegraph/conc v0.3.0
	go.uber.org/goleak v1.3.0
	golang.org/x/sync v0.25.0
)

require (
	github.com/klauspost/compress v1.17.9 // indirect
	github.com/pierrec/lz4/v4 v4.1.33 // indirect
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.9.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
