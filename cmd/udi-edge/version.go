package main

import (
	"context"
	"fmt"

	"github.com/udi-edge/udi-edge/cmd/internal/cli"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

func versionCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "version", "", "Print the version, the Go version and the build's source revision.")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintln(env.Stdout, cli.VersionLine("udi-edge", edge.Version))
	return nil
}
