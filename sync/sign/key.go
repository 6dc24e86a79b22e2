package sign

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// PublicPrefix starts the text form of a public key.
const PublicPrefix = "ed25519:"

// pemType is the PEM block type of a PKCS #8 private key (RFC 7468).
const pemType = "PRIVATE KEY"

// maxKeyFile bounds what Load reads: a PEM PKCS #8 Ed25519 key is 119
// bytes.
const maxKeyFile = 4096

// FormatPublic returns the text form of pub: "ed25519:" and the standard
// base64 of its 32 bytes.
func FormatPublic(pub ed25519.PublicKey) string {
	return PublicPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublic parses the text form of a public key. It returns an error
// wrapping ErrPublicKey that says what is wrong.
func ParsePublic(s string) (ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(s, PublicPrefix)
	if !ok {
		return nil, fmt.Errorf("%w %q: want %q followed by base64", ErrPublicKey, clip(s), PublicPrefix)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w %q: not base64: %v", ErrPublicKey, clip(s), err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w %q: %d bytes, want %d", ErrPublicKey, clip(s), len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Load reads the private key at path: a PEM "PRIVATE KEY" block holding a
// PKCS #8 Ed25519 key, as Create writes and as `openssl genpkey -algorithm
// ed25519` makes. It refuses a file that its group or others may read or
// write: whoever can read the key can sign as its owner. Errors wrap
// ErrKeyFile, or fs.ErrNotExist when there is no file.
func Load(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("%w %s: %v", ErrKeyFile, path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrKeyFile, path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w %s: not a regular file", ErrKeyFile, path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w %s: mode %04o lets others read or change the key; want 0600 (chmod 600 %s)", ErrKeyFile, path, perm, path)
	}
	buf := make([]byte, maxKeyFile+1)
	n, err := f.Read(buf)
	if err != nil && n == 0 {
		return nil, fmt.Errorf("%w %s: empty or unreadable: %v", ErrKeyFile, path, err)
	}
	if n > maxKeyFile {
		return nil, fmt.Errorf("%w %s: over %d bytes, not a key", ErrKeyFile, path, maxKeyFile)
	}
	return parsePrivate(path, buf[:n])
}

func parsePrivate(path string, b []byte) (ed25519.PrivateKey, error) {
	blk, rest := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w %s: no PEM block", ErrKeyFile, path)
	}
	if blk.Type != pemType {
		return nil, fmt.Errorf("%w %s: PEM block %q, want %q", ErrKeyFile, path, blk.Type, pemType)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("%w %s: data after the key", ErrKeyFile, path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrKeyFile, path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w %s: a %T, want an Ed25519 key", ErrKeyFile, path, k)
	}
	return priv, nil
}

// Create makes a new key at path, mode 0600, and returns it. It never
// replaces a file: when path exists it returns an error wrapping
// fs.ErrExist. The key is written and synced before it is linked into
// place, so that a crash leaves either no key or a whole one; where the
// file system can (Linux, O_TMPFILE) it is written to a file without a
// name, so that a crash leaves nothing else either.
func Create(path string) (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrKeyFile, path, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrKeyFile, path, err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})
	err = linkUnnamed(path, data)
	if errors.Is(err, errNoUnnamed) {
		err = linkTemporary(path, data)
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("%s: %w", path, fs.ErrExist)
	case err != nil:
		return nil, fmt.Errorf("%w %s: %v", ErrKeyFile, path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return priv, nil
}

// errNoUnnamed says the file system cannot make a file without a name.
var errNoUnnamed = errors.New("no unnamed files here")

// beforeLink, when set (by a test), is called when a new key file is
// written and synced, before it is linked into place.
var beforeLink func()

// writeSynced writes data to f, mode 0600, and syncs it.
func writeSynced(f *os.File, data []byte) error {
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if beforeLink != nil {
		beforeLink()
	}
	return nil
}

// linkTemporary writes data to a temporary file beside path and links it
// to path. A crash before it returns leaves the temporary behind.
func linkTemporary(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = writeSynced(tmp, data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}

// LoadOrCreate returns the key at path, making it when there is none yet;
// created says whether it did. A file that exists but cannot be used is an
// error, never replaced: a gateway whose key changed would be refused by
// the centre.
func LoadOrCreate(path string) (priv ed25519.PrivateKey, created bool, err error) {
	priv, err = Load(path)
	if err == nil {
		return priv, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	priv, err = Create(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process made it first.
		priv, err = Load(path)
		return priv, false, err
	}
	return priv, err == nil, err
}

// Public returns the public half of priv.
func Public(priv ed25519.PrivateKey) ed25519.PublicKey {
	return priv.Public().(ed25519.PublicKey)
}

// KeyPath returns the path of the key file beside the file at path (a
// ledger or a store): the same name with ".key" in place of its extension.
func KeyPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".key"
}
