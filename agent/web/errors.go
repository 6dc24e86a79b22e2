package web

import (
	"errors"

	"github.com/udi-edge/udi-edge/agent/access"
)

// Sentinel errors of the station page; test for them with errors.Is.
var (
	// ErrCredentials is wrapped by the *CredentialsError for a tokens
	// file or a client certificate roles file that cannot be used.
	ErrCredentials = errors.New("page: bad credentials file")
	// ErrNoTLS is returned for a page that would be served over plain
	// HTTP beyond loopback: a token crossing the ward's network in clear
	// would be anyone's.
	ErrNoTLS = errors.New("page: plain HTTP beyond loopback")
	// ErrNoCredentials is returned for a page that would be served beyond
	// loopback with no token and no client certificate configured.
	ErrNoCredentials = errors.New("page: no credentials configured")
	// ErrInvalid is wrapped by the error for a configuration that cannot
	// be served (an unknown language, a reason given twice).
	ErrInvalid = errors.New("page: invalid configuration")
	// ErrForbidden is wrapped by the error answering a request whose role
	// may not do what it asks.
	ErrForbidden = errors.New("page: forbidden")
	// ErrBadRequest is wrapped by the error answering a request that
	// cannot be understood (a missing item, an unknown reason).
	ErrBadRequest = errors.New("page: bad request")
)

// CredentialsError reports a credentials file the page cannot use: the
// file, the line (0 for the whole file) and why, in a text that never
// holds a token; it wraps ErrCredentials (access.As).
type CredentialsError = access.CredentialsError
