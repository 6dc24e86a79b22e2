package api

import (
	"context"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

type peerKey struct{}

// connContext notes in the context of every request on c whether its
// peer may change things: a unix socket peer running as the agent's user
// or as root. A TCP peer, or one whose credentials cannot be read, only
// reads.
func connContext(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return context.WithValue(ctx, peerKey{}, false)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return context.WithValue(ctx, peerKey{}, false)
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return context.WithValue(ctx, peerKey{}, false)
	}
	return context.WithValue(ctx, peerKey{}, cred.Uid == 0 || int(cred.Uid) == os.Getuid())
}

// mayChange reports whether the request's peer may change things.
func mayChange(ctx context.Context) bool {
	ok, _ := ctx.Value(peerKey{}).(bool)
	return ok
}
