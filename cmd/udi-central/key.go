package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/sync/sign"
)

// keyFlag registers --signing-key: the centre's Ed25519 key file.
func keyFlag(fs *pflag.FlagSet, what string) *string {
	return fs.String("signing-key", "", "the centre's Ed25519 key file (PEM, mode 0600), which "+what+
		"\n(default: beside a file --store, its name with .key; required with a database --store)")
}

// keyPath returns the centre's key file: flag, or beside the store file.
func keyPath(flag, store string) (string, error) {
	switch {
	case flag != "":
		return flag, nil
	case isDatabaseURL(store):
		return "", usagef("--signing-key is required with a database --store: every instance of the service signs with the same key, so give each the same file")
	}
	return sign.KeyPath(store), nil
}

// loadKey loads the centre's key for a command that signs but must not
// make a key of its own: a new key would sign what no gateway accepts.
func loadKey(path string) (ed25519.PrivateKey, error) {
	k, err := sign.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("--signing-key %s: no such file: the service makes it at its first start (or run udi-central key)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("--signing-key: %w", err)
	}
	return k, nil
}

func keyCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "key", "[--config FILE | --store FILE | --signing-key FILE]",
		"Print the centre's public key, for the gateways' sync.centre_key: they refuse acks and\n"+
			"master data it did not sign. The key is made when there is none yet (mode 0600); every\n"+
			"instance of the service uses the same key file. Run this as the user the service runs as,\n"+
			"with the service's configuration: runuser -u udi-central -- udi-central key --config\n"+
			"/etc/udi-central/udi-central.json")
	config := configFlag(fs, "signing_key and store")
	key := keyFlag(fs, "signs acks and master data")
	store := fs.String("store", DefaultStore, "the service's store, to find the key beside it")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *config != "" {
		if err := applyConfigFile(fs, *config); err != nil {
			return err
		}
	}
	if fs.NArg() != 0 {
		return usagef("key takes no arguments, got %d", fs.NArg())
	}
	path, err := keyPath(*key, *store)
	if err != nil {
		return err
	}
	priv, made, err := sign.LoadOrCreate(path)
	if err != nil {
		return err
	}
	if made {
		fmt.Fprintf(env.Stderr, "made a new key at %s\n", path)
	}
	fmt.Fprintln(env.Stdout, sign.FormatPublic(sign.Public(priv)))
	return nil
}
