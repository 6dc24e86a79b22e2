package access

import (
	"cmp"
	"errors"
	"fmt"
)

// ErrCredentials is wrapped by the *CredentialsError for a tokens file, a
// certificate-roles file, a CA file or a token file that cannot be used.
var ErrCredentials = errors.New("access: bad credentials file")

// CredentialsError reports a credentials file that cannot be used: the
// file, the line (0 for the whole file) and why. Its text never holds a
// token. A reader of the files for its own users (the station page, the
// centre's API) names itself in the text (Who: "page", "central";
// "access" when empty) and has the error wrap its own sentinel (Err;
// ErrCredentials when nil).
type CredentialsError struct {
	Path   string
	Line   int
	Reason string
	Who    string
	Err    error
}

// Error implements error.
func (e *CredentialsError) Error() string {
	who := cmp.Or(e.Who, "access")
	if e.Line > 0 {
		return fmt.Sprintf("%s: %s line %d: %s", who, e.Path, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", who, e.Path, e.Reason)
}

// Unwrap returns Err, or ErrCredentials.
func (e *CredentialsError) Unwrap() error { return cmp.Or(e.Err, ErrCredentials) }

// As returns err with the *CredentialsError it may hold made who's: its
// text names who, and it wraps sentinel.
func As(err error, who string, sentinel error) error {
	if ce := (*CredentialsError)(nil); errors.As(err, &ce) {
		c := *ce
		c.Who, c.Err = who, sentinel
		return &c
	}
	return err
}
