package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

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
	rev, modified := "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	} else if modified {
		rev += "+modified"
	}
	fmt.Fprintf(env.Stdout, "udi-edge %s (%s, %s %s/%s)\n", edge.Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
