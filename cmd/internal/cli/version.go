package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// VersionLine returns what a program's version command prints:
// "NAME VERSION (REVISION, GOVERSION OS/ARCH)". REVISION is the source
// revision the Go toolchain recorded in the build (vcs.revision, with
// "+modified" for a tree with uncommitted changes), "unknown" when the
// build recorded none (go build -buildvcs=false, or outside a checkout).
func VersionLine(name, version string) string {
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
	return fmt.Sprintf("%s %s (%s, %s %s/%s)", name, version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
