//go:build !linux

package api

import (
	"context"
	"net"
)

type peerKey struct{}

// connContext: without peer credentials every peer only reads.
func connContext(ctx context.Context, c net.Conn) context.Context { return ctx }

// mayChange reports whether the request's peer may change things.
func mayChange(ctx context.Context) bool { return false }
