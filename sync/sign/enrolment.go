package sign

import (
	"bufio"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/udi-edge/udi-edge/sync/wire"
)

// maxEnrolmentLine bounds one line of an enrolment file.
const maxEnrolmentLine = 4096

// Enrolment is the centre's list of the gateways it accepts movements
// from, each with the public key that signs its batches. It is read-only
// once parsed and safe for concurrent use.
type Enrolment struct {
	keys map[gatewayKey]ed25519.PublicKey
}

type gatewayKey struct{ site, gateway string }

// NewEnrolment returns an empty enrolment.
func NewEnrolment() *Enrolment { return &Enrolment{keys: map[gatewayKey]ed25519.PublicKey{}} }

// Add enrols gateway of site under pub. It returns an error for an invalid
// id or a gateway already enrolled (under any key: a gateway has one key).
func (e *Enrolment) Add(site, gateway string, pub ed25519.PublicKey) error {
	if err := wire.ValidID(site); err != nil {
		return fmt.Errorf("%w: %v", ErrEnrolment, err)
	}
	if err := wire.ValidGateway(gateway); err != nil {
		return fmt.Errorf("%w: %v", ErrEnrolment, err)
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: %s/%s: key of %d bytes, want %d", ErrEnrolment, site, gateway, len(pub), ed25519.PublicKeySize)
	}
	k := gatewayKey{site, gateway}
	if _, dup := e.keys[k]; dup {
		return fmt.Errorf("%w: %s/%s enrolled twice", ErrEnrolment, site, gateway)
	}
	e.keys[k] = slices.Clone(pub)
	return nil
}

// Key returns the key gateway of site is enrolled under.
func (e *Enrolment) Key(site, gateway string) (ed25519.PublicKey, bool) {
	if e == nil {
		return nil, false
	}
	k, ok := e.keys[gatewayKey{site, gateway}]
	return k, ok
}

// Enrolled reports whether gateway of site is enrolled.
func (e *Enrolment) Enrolled(site, gateway string) bool {
	_, ok := e.Key(site, gateway)
	return ok
}

// Gateways returns the enrolled gateways of site, sorted.
func (e *Enrolment) Gateways(site string) []string {
	if e == nil {
		return nil
	}
	var out []string
	for k := range e.keys {
		if k.site == site {
			out = append(out, k.gateway)
		}
	}
	slices.Sort(out)
	return out
}

// Len returns the number of enrolled gateways.
func (e *Enrolment) Len() int {
	if e == nil {
		return 0
	}
	return len(e.keys)
}

// ParseEnrolment reads an enrolment file: one gateway per line, three
// fields separated by spaces or tabs,
//
//	site gateway ed25519:BASE64
//
// as `udi-edge key` prints them. Blank lines and lines starting with # are
// ignored, and so is anything after a # that follows the key. name names
// the file in errors, which give the line number and what is wrong. A
// gateway listed twice is an error, as is a key listed for two gateways:
// each gateway signs with its own key.
func ParseEnrolment(r io.Reader, name string) (*Enrolment, error) {
	e := NewEnrolment()
	owner := map[string]gatewayKey{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxEnrolmentLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if i := strings.Index(text, "#"); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		f := strings.Fields(text)
		if len(f) != 3 {
			return nil, fmt.Errorf("%w %s:%d: %d fields, want 3: site gateway %sKEY", ErrEnrolment, name, line, len(f), PublicPrefix)
		}
		pub, err := ParsePublic(f[2])
		if err != nil {
			return nil, fmt.Errorf("%w %s:%d: %v", ErrEnrolment, name, line, err)
		}
		if prev, dup := owner[string(pub)]; dup {
			return nil, fmt.Errorf("%w %s:%d: the key of %s/%s again for %s/%s; every gateway has its own", ErrEnrolment, name, line, prev.site, prev.gateway, f[0], f[1])
		}
		if err := e.Add(f[0], f[1], pub); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		owner[string(pub)] = gatewayKey{f[0], f[1]}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w %s: line %d: %v", ErrEnrolment, name, line+1, err)
	}
	return e, nil
}

// LoadEnrolment reads the enrolment file at path (see ParseEnrolment).
func LoadEnrolment(path string) (*Enrolment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnrolment, err)
	}
	defer f.Close()
	return ParseEnrolment(f, path)
}

// Line returns the enrolment line of gateway of site with key pub.
func Line(site, gateway string, pub ed25519.PublicKey) string {
	return site + " " + gateway + " " + FormatPublic(pub)
}
