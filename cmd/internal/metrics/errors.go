package metrics

import "errors"

// ErrNotLoopback is returned by CheckListen for an address beyond
// loopback when remote scraping was not allowed.
var ErrNotLoopback = errors.New("not a loopback address")

// ErrNoNotifySocket is returned by Notifier.Notify when the notifier has
// no socket to send to.
var ErrNoNotifySocket = errors.New("no NOTIFY_SOCKET")
