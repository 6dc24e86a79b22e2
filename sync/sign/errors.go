package sign

import "errors"

// Sentinel errors, matched with errors.Is.
var (
	// ErrKeyFile is returned for a private key file that cannot be used:
	// unreadable, not a PEM Ed25519 key, or readable by others.
	ErrKeyFile = errors.New("key file")
	// ErrPublicKey is returned for a public key that is not in the form
	// "ed25519:" followed by the base64 of 32 bytes.
	ErrPublicKey = errors.New("public key")
	// ErrEnrolment is returned for an enrolment file that does not parse.
	ErrEnrolment = errors.New("enrolment")
)
