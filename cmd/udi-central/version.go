package main

import (
	"context"
	"fmt"

	"github.com/udi-edge/udi-edge/cmd/internal/cli"
)

// Version is the release version of udi-central, set when building a
// release:
//
//	go build -ldflags "-X main.Version=v1.2.3" ./cmd/udi-central
var Version = "dev"

func versionCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "version", "", "Print the version, the build's source revision, and the Go version and platform.")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintln(env.Stdout, cli.VersionLine("udi-central", Version))
	return nil
}
