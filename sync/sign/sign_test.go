package sign

import (
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestCreateLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.key")
	priv, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", st.Mode().Perm())
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Equal(got) {
		t.Error("loaded key differs from the created one")
	}
	msg := []byte("head")
	if !ed25519.Verify(Public(got), msg, ed25519.Sign(priv, msg)) {
		t.Error("signature of the created key does not verify under the loaded one")
	}
	if _, err := Create(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over an existing key: %v, want fs.ErrExist", err)
	}
	again, _ := Load(path)
	if !priv.Equal(again) {
		t.Error("a second Create replaced the key")
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.key")
	if _, err := Create(good); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	write := func(name string, b []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	for _, c := range []struct {
		name, path, want string
	}{
		{"readable by others", write("open.key", data, 0o644), "mode 0644"},
		{"group writable", write("group.key", data, 0o620), "mode 0620"},
		{"empty", write("empty.key", nil, 0o600), "empty"},
		{"not PEM", write("text.key", []byte("secret\n"), 0o600), "no PEM block"},
		{"wrong block", write("cert.key", []byte(strings.Replace(string(data), "PRIVATE KEY", "CERTIFICATE", 2)), 0o600), `"CERTIFICATE"`},
		{"trailing data", write("tail.key", append(append([]byte{}, data...), "more"...), 0o600), "data after the key"},
		{"truncated", write("cut.key", data[:len(data)/2], 0o600), "no PEM block"},
		{"a directory", dir, "not a regular file"},
	} {
		_, err := Load(c.path)
		if !errors.Is(err, ErrKeyFile) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrKeyFile saying %q", c.name, err, c.want)
		}
	}
	if _, err := Load(filepath.Join(dir, "none.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	var wg sync.WaitGroup
	keys := make([]ed25519.PrivateKey, 8)
	made := make([]bool, 8)
	for i := range keys {
		wg.Go(func() {
			k, c, err := LoadOrCreate(path)
			if err != nil {
				t.Error(err)
			}
			keys[i], made[i] = k, c
		})
	}
	wg.Wait()
	n := 0
	for i, k := range keys {
		if !k.Equal(keys[0]) {
			t.Errorf("caller %d got another key", i)
		}
		if made[i] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d callers say they created the key, want 1", n)
	}
	// A broken file is reported, never replaced.
	os.WriteFile(path, []byte("junk"), 0o600)
	if _, _, err := LoadOrCreate(path); !errors.Is(err, ErrKeyFile) {
		t.Errorf("broken key: %v, want ErrKeyFile", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "junk" {
		t.Error("LoadOrCreate replaced a broken key file")
	}
}

// TestOpenSSLKey checks that a key made by OpenSSL loads, and that ours is
// what OpenSSL reads as an Ed25519 key.
func TestOpenSSLKey(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl")
	}
	dir := t.TempDir()
	theirs := filepath.Join(dir, "theirs.key")
	if out, err := exec.Command(openssl, "genpkey", "-algorithm", "ed25519", "-out", theirs).CombinedOutput(); err != nil {
		t.Skipf("openssl genpkey: %v: %s", err, out)
	}
	os.Chmod(theirs, 0o600)
	if _, err := Load(theirs); err != nil {
		t.Errorf("OpenSSL's key: %v", err)
	}
	ours := filepath.Join(dir, "ours.key")
	priv, _ := Create(ours)
	out, err := exec.Command(openssl, "pkey", "-in", ours, "-pubout", "-outform", "DER").Output()
	if err != nil {
		t.Fatalf("openssl pkey: %v", err)
	}
	// The DER SubjectPublicKeyInfo of an Ed25519 key ends with the key.
	if pub := Public(priv); len(out) < len(pub) || string(out[len(out)-len(pub):]) != string(pub) {
		t.Errorf("OpenSSL reads another public key: % x", out)
	}
}

func TestParsePublic(t *testing.T) {
	priv, _ := Create(filepath.Join(t.TempDir(), "k"))
	pub := Public(priv)
	text := FormatPublic(pub)
	got, err := ParsePublic(text)
	if err != nil || !got.Equal(pub) {
		t.Fatalf("round trip of %s: %v", text, err)
	}
	for _, c := range []struct{ in, want string }{
		{"", "want \"ed25519:\""},
		{strings.TrimPrefix(text, PublicPrefix), "want \"ed25519:\""},
		{"ed25519:!!!", "not base64"},
		{"ed25519:AAAA", "3 bytes, want 32"},
		{text[:len(text)-1], "not base64"},
		{"ED25519:" + text[len(PublicPrefix):], "want \"ed25519:\""},
	} {
		if _, err := ParsePublic(c.in); !errors.Is(err, ErrPublicKey) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParsePublic(%q) = %v, want an error saying %q", c.in, err, c.want)
		}
	}
}

func TestKeyPath(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/udi-edge/ledger.db": "/var/lib/udi-edge/ledger.key",
		"data/store":                  "data/store.key",
		"a.b/c.bolt":                  "a.b/c.key",
	} {
		if got := KeyPath(in); got != want {
			t.Errorf("KeyPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnrolment(t *testing.T) {
	dir := t.TempDir()
	var pubs []string
	for i := range 3 {
		k, _ := Create(filepath.Join(dir, string(rune('a'+i))))
		pubs = append(pubs, FormatPublic(Public(k)))
	}
	good := "# st-marys\n\nst-marys or-3 " + pubs[0] + "\n" +
		"st-marys\twh-1\t" + pubs[1] + "   # warehouse\n" +
		"north or-3 " + pubs[2] + "\n"
	e, err := ParseEnrolment(strings.NewReader(good), "gw.txt")
	if err != nil {
		t.Fatal(err)
	}
	if e.Len() != 3 {
		t.Errorf("Len %d, want 3", e.Len())
	}
	if got := e.Gateways("st-marys"); strings.Join(got, ",") != "or-3,wh-1" {
		t.Errorf("Gateways(st-marys) = %v", got)
	}
	if k, ok := e.Key("north", "or-3"); !ok || FormatPublic(k) != pubs[2] {
		t.Error("north/or-3 has the wrong key")
	}
	if e.Enrolled("north", "wh-1") || e.Enrolled("st-marys", "or-4") {
		t.Error("a gateway nobody enrolled is enrolled")
	}
	for _, c := range []struct{ in, want string }{
		{"st-marys or-3\n", "gw.txt:1: 2 fields"},
		{"\n\nst-marys or-3 " + pubs[0] + " extra\n", "gw.txt:3: 4 fields"},
		{"st-marys or-3 ed25519:AAAA\n", "gw.txt:1:"},
		{"st/marys or-3 " + pubs[0] + "\n", "gw.txt:1:"},
		{"st-marys master " + pubs[0] + "\n", "gw.txt:1:"},
		{"s g " + pubs[0] + "\ns g " + pubs[1] + "\n", "gw.txt:2: enrolment: s/g enrolled twice"},
		{"s g " + pubs[0] + "\ns h " + pubs[0] + "\n", "gw.txt:2: the key of s/g again for s/h"},
		{"s g " + strings.Repeat("x", maxEnrolmentLine) + "\n", "line 1"},
	} {
		_, err := ParseEnrolment(strings.NewReader(c.in), "gw.txt")
		if !errors.Is(err, ErrEnrolment) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseEnrolment(%.40q) = %v, want an error saying %q", c.in, err, c.want)
		}
	}
	var nilE *Enrolment
	if nilE.Enrolled("s", "g") || nilE.Len() != 0 || nilE.Gateways("s") != nil {
		t.Error("a nil enrolment enrols someone")
	}
}
