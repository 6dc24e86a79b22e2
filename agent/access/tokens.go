package access

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MinTokenLength is the shortest token a tokens file may hold: 32
// characters, such as `openssl rand -hex 32` gives twice over.
const MinTokenLength = 32

// MaxNameLength is the longest NAME a tokens file may give a token.
const MaxNameLength = 64

// Principal is who a credential names.
type Principal[R ~string] struct {
	// Name names the user or client in the log and as the actor of what
	// they record: the token's name, the certificate rule that matched
	// ("cn:or3-screen"), or a caller's own name such as "local". It is
	// never a secret.
	Name string
	// Role is what the principal may do, in the caller's vocabulary.
	Role R
}

// Tokens are the bearer tokens a server accepts, each with a role and a
// name. Only their SHA-256 sums are held, and a token is looked up in
// constant time whatever it is and whichever entry it matches.
type Tokens[R ~string] struct {
	entries []tokenEntry[R]
}

type tokenEntry[R ~string] struct {
	sum [sha256.Size]byte
	who Principal[R]
}

// LoadTokens reads the tokens file at path (ParseTokens) giving the
// roles listed. The file must be a regular file that neither its group
// nor others may read, write or execute (mode 0600 or 0400): it holds
// secrets. Errors other than the file's own I/O errors are
// *CredentialsError.
func LoadTokens[R ~string](path string, roles ...R) (*Tokens[R], error) {
	f, err := OpenSecret(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseTokens(path, f, roles...)
}

// OpenSecret opens path, a file of secrets: a regular file that only its
// owner may use (mode 0600 or 0400), checked on the file opened. Errors
// other than the file's own I/O errors are *CredentialsError.
func OpenSecret(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &CredentialsError{Path: path, Reason: "not a regular file"}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		f.Close()
		return nil, &CredentialsError{Path: path, Reason: fmt.Sprintf("mode %04o: it holds secrets, so only its owner may read it (chmod 600 %s)", perm, path)}
	}
	return f, nil
}

// ParseTokens reads bearer tokens from r, one a line:
//
//	# TOKEN                                                   ROLE      NAME
//	6f1c0d58b7e94a0e3f5d2c71a8b94e06d3f2a1c5b7e8d9f0a1b2c3d4e5f60718  auditor   audit-office
//	sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  operator  pharmacy
//
// TOKEN is the token itself (at least MinTokenLength visible ASCII
// characters), or "sha256:" and the hex SHA-256 of it, so that the file
// need not hold the token; ROLE is one of roles; NAME (letters, digits,
// . _ @ -, at most MaxNameLength) names the user or client. Blank lines
// and lines starting with # are skipped. A token or a name given twice is
// an error, and so is a file without a token. name names r in errors,
// which name the line and never hold a token.
func ParseTokens[R ~string](name string, r io.Reader, roles ...R) (*Tokens[R], error) {
	t := &Tokens[R]{}
	tokenLine, nameLine := map[[sha256.Size]byte]int{}, map[string]int{}
	err := eachLine(name, r, func(n int, fields []string) error {
		if len(fields) != 3 {
			return fmt.Errorf("want TOKEN ROLE NAME, found %d fields", len(fields))
		}
		sum, err := tokenSum(fields[0])
		if err != nil {
			return err
		}
		role, err := parseRole(fields[1], roles)
		if err != nil {
			return err
		}
		who := fields[2]
		if err := validName(who); err != nil {
			return err
		}
		if prev, ok := tokenLine[sum]; ok {
			return fmt.Errorf("the same token as line %d", prev)
		}
		if prev, ok := nameLine[who]; ok {
			return fmt.Errorf("name %s already given on line %d", shown(who), prev)
		}
		tokenLine[sum], nameLine[who] = n, n
		t.entries = append(t.entries, tokenEntry[R]{sum: sum, who: Principal[R]{Name: who, Role: role}})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(t.entries) == 0 {
		return nil, &CredentialsError{Path: name, Reason: "no token in it"}
	}
	return t, nil
}

// tokenSum reads a tokens file's TOKEN field: the SHA-256 sum of the
// token, or the sum a sha256: field gives.
func tokenSum(s string) (sum [sha256.Size]byte, err error) {
	if h, ok := strings.CutPrefix(s, "sha256:"); ok {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != sha256.Size {
			return sum, fmt.Errorf("sha256: wants the %d hex digits of a SHA-256 sum", 2*sha256.Size)
		}
		copy(sum[:], b)
		return sum, nil
	}
	if len(s) < MinTokenLength {
		return sum, fmt.Errorf("the token has %d characters; use at least %d (openssl rand -hex 32)", len(s), MinTokenLength)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return sum, errors.New("the token holds a character other than visible ASCII")
		}
	}
	return sha256.Sum256([]byte(s)), nil
}

// parseRole reads a ROLE field: one of roles.
func parseRole[R ~string](s string, roles []R) (R, error) {
	for _, r := range roles {
		if string(r) == s {
			return r, nil
		}
	}
	var none R
	return none, fmt.Errorf("unknown role %s: want %s", shown(s), oneOf(roles))
}

// oneOf lists roles as "a", "a or b", "a, b or c".
func oneOf[R ~string](roles []R) string {
	var b strings.Builder
	for i, r := range roles {
		switch {
		case i == 0:
		case i == len(roles)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(r))
	}
	if b.Len() == 0 {
		return "no role (none is given out)"
	}
	return b.String()
}

// validName checks a NAME field: it goes into log lines and the ledger.
func validName(s string) error {
	if s == "" || len(s) > MaxNameLength {
		return fmt.Errorf("name %s: want 1 to %d characters", shown(s), MaxNameLength)
	}
	for _, c := range s {
		if !(c == '.' || c == '_' || c == '@' || c == '-' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return fmt.Errorf("name %s: only letters, digits, . _ @ and - are allowed", shown(s))
		}
	}
	return nil
}

// shown is field s as an error shows it: quoted, unless it is long
// enough to be a token (a line whose fields were swapped, a tokens file
// given as a roles file), when only its length is told.
func shown(s string) string {
	if len(s) >= MinTokenLength {
		return fmt.Sprintf("(%d characters, not shown)", len(s))
	}
	return fmt.Sprintf("%q", s)
}

// eachLine calls fn with the number and the fields of every line of r
// that is neither blank nor a comment; fn's error is returned as the
// *CredentialsError of name and the line, and so is a line too long to
// read.
func eachLine(name string, r io.Reader, fn func(n int, fields []string) error) error {
	sc := bufio.NewScanner(r)
	n := 1
	for ; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := fn(n, strings.Fields(line)); err != nil {
			return &CredentialsError{Path: name, Line: n, Reason: err.Error()}
		}
	}
	err := sc.Err()
	if errors.Is(err, bufio.ErrTooLong) {
		return &CredentialsError{Path: name, Line: n, Reason: fmt.Sprintf("the line is longer than %d bytes", bufio.MaxScanTokenSize)}
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return nil
}

// Len returns the number of tokens.
func (t *Tokens[R]) Len() int { return len(t.entries) }

// Lookup returns the principal of token; false when no entry holds it.
// It compares the token's SHA-256 sum with every entry's, in constant
// time, so that neither the time taken nor the log tells anything of the
// tokens held.
func (t *Tokens[R]) Lookup(token string) (Principal[R], bool) {
	sum := sha256.Sum256([]byte(token))
	found, at := 0, 0
	for i := range t.entries {
		eq := subtle.ConstantTimeCompare(sum[:], t.entries[i].sum[:])
		at = subtle.ConstantTimeSelect(eq, i, at)
		found |= eq
	}
	if found == 0 {
		return Principal[R]{}, false
	}
	return t.entries[at].who, true
}

// ReadTokenFile reads a client's bearer token from path: its first line,
// without surrounding spaces. Like a tokens file, the file must be a
// regular file only its owner may use (mode 0600 or 0400). Errors other
// than the file's own I/O errors are *CredentialsError.
func ReadTokenFile(path string) (string, error) {
	f, err := OpenSecret(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 4<<10)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	token := strings.TrimSpace(line)
	if token == "" {
		return "", &CredentialsError{Path: path, Line: 1, Reason: "no token on the first line"}
	}
	return token, nil
}
