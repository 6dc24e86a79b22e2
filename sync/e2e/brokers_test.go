package e2e_test

// Helpers of the tests that run the shipped broker configurations:
// credentials, a gateway's state at the centre, a master data file.

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// passwordFiles writes each user's password to a file of its own, as the
// gateways' password_file and udi-central's --password-file read it, and
// returns a function giving a user's file.
func passwordFiles(t testing.TB, users map[string]string) func(user string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	for user, pw := range users {
		files[user] = filepath.Join(dir, user+".pw")
		if err := os.WriteFile(files[user], []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return func(user string) string {
		t.Helper()
		f, ok := files[user]
		if !ok {
			t.Fatalf("no password for user %q", user)
		}
		return f
	}
}

// gatewayState returns a condition for waitFor: the centre shows gateway
// id in state want ("online", "offline").
func gatewayState(c *centre, id, want string) func() error {
	return func() error {
		gws, err := c.gateways()
		if err != nil {
			return err
		}
		if got := gws[id].State; got != want {
			return fmt.Errorf("state %q", got)
		}
		return nil
	}
}

// recalls is a recalls file of one good row.
const recalls = "gtin,lots,reason,date\n06901234200010,B1;B2,sterile barrier,2026-11-01\n"
