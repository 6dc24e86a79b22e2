module github.com/udi-edge/udi-edge

go 1.26

require (
	github.com/creack/pty v1.1.24
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	github.com/spf13/pflag v1.1.0
	go.bug.st/serial v1.8.0
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sys v0.45.0
)

require golang.org/x/text v0.14.0 // indirect
