package access

import (
	"errors"
	"fmt"
)

// ErrCredentials is wrapped by the *CredentialsError for a tokens file, a
// certificate-roles file, a CA file or a token file that cannot be used.
var ErrCredentials = errors.New("access: bad credentials file")

// CredentialsError reports a credentials file that cannot be used: the
// file, the line (0 for the whole file) and why. Its text never holds a
// token. Callers that have an error type of their own for it copy the
// three fields.
type CredentialsError struct {
	Path   string
	Line   int
	Reason string
}

// Error implements error.
func (e *CredentialsError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("access: %s line %d: %s", e.Path, e.Line, e.Reason)
	}
	return fmt.Sprintf("access: %s: %s", e.Path, e.Reason)
}

// Unwrap returns ErrCredentials.
func (e *CredentialsError) Unwrap() error { return ErrCredentials }
