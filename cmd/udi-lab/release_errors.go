package main

import (
	"errors"
	"fmt"
)

// Errors of `udi-lab release`.
var (
	// ErrBadVersion is a release version that is not MAJOR.MINOR.PATCH
	// with an optional pre-release and build metadata.
	ErrBadVersion = errors.New("want MAJOR.MINOR.PATCH, a pre-release after - and metadata after + (1.4.0, v1.4.0, 1.4.0-rc.1)")
	// ErrBadArch is a target that release does not build.
	ErrBadArch = errors.New("want amd64, arm64 or armv7")
	// ErrNoModule is a source directory that is not udi-edge's module.
	ErrNoModule = errors.New("not the udi-edge module (no go.mod of github.com/udi-edge/udi-edge above it)")
)

// UdevError is a line of a udev rules file that udev would refuse or
// misread: File and Line say where, Err what.
type UdevError struct {
	File string
	Line int
	Err  error
}

func (e *UdevError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns what is wrong with the line.
func (e *UdevError) Unwrap() error { return e.Err }
