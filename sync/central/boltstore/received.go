package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
)

// The index of received products is the bucket received, one key per
// product a site's gateways received (central.Stored.Received), with an
// empty value:
//
//	site 0x00 product
//
// Append adds the keys of the receives it stores, in its transaction,
// each only when it is missing (a receive of a product the site holds
// already writes nothing). A file of format 3 or before has no such
// bucket: opened for writing, it is built from the movements held, once,
// and the file brought to format 4 in the same transaction; opened
// read-only, ReceivedProducts reads the movements instead.

// receivedKey is the key of product in the index of site.
func receivedKey(site, product string) []byte {
	k := make([]byte, 0, len(site)+1+len(product))
	k = append(k, site...)
	k = append(k, 0)
	return append(k, product...)
}

// putReceived adds to b, the index of received products, the products
// that recs, movements stored under site, received: one seek per
// product, and a put for a product the site had not received before.
func putReceived(b *bolt.Bucket, site string, recs []central.Stored) error {
	c := b.Cursor()
	for _, p := range central.ReceivedBy(recs) {
		k := receivedKey(site, p)
		if held, _ := c.Seek(k); bytes.Equal(held, k) {
			continue
		}
		if err := b.Put(k, []byte{}); err != nil {
			return fmt.Errorf("boltstore: put a received product: %w", err)
		}
	}
	return nil
}

// scanReceived returns the index keys of the products received by the
// movements in tx of the sites want accepts, read from every movement
// held: every batch value of every branch, each movement once.
func scanReceived(ctx context.Context, tx *bolt.Tx, want func(site string) bool) (map[string]struct{}, error) {
	out := map[string]struct{}{}
	lb := tx.Bucket(bucketLedgers)
	var (
		lastLk []byte
		site   string
		skip   bool
	)
	c := tx.Bucket(bucketMovements).Cursor()
	n := 0
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n++; n%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if len(k) < 8+1+8 || v == nil {
			return nil, fmt.Errorf("%w: movements: key of %d bytes or nested bucket", ErrCorrupt, len(k))
		}
		lk, first := k[:len(k)-8], binary.BigEndian.Uint64(k[len(k)-8:])
		if !bytes.Equal(lk, lastLk) {
			gateway, created, _, err := parseLedgerKey(lk)
			if err != nil {
				return nil, err
			}
			h, err := decodeHead(gateway, created, lb.Get(lk))
			if err != nil {
				return nil, err
			}
			lastLk, site = lk, h.Site
			skip = want != nil && !want(site)
		}
		if skip {
			continue
		}
		b, err := parseBatch(lk, first, v)
		if err == nil {
			err = b.check()
		}
		if err != nil {
			return nil, err
		}
		for seq := b.First; seq <= b.Last(); seq++ {
			rec, err := b.record(seq)
			if err != nil {
				return nil, err
			}
			m, err := record.Decode(seq, rec)
			if err != nil {
				return nil, fmt.Errorf("boltstore: ledger %x: %w", lk, err)
			}
			if p := central.ReceivedProduct(&m); p != "" {
				out[string(receivedKey(site, p))] = struct{}{}
			}
		}
	}
	return out, nil
}

// buildReceived makes the index of received products in tx anew from the
// movements held.
func buildReceived(tx *bolt.Tx) error {
	if tx.Bucket(bucketReceived) != nil {
		if err := tx.DeleteBucket(bucketReceived); err != nil {
			return fmt.Errorf("boltstore: delete bucket %s: %w", bucketReceived, err)
		}
	}
	b, err := tx.CreateBucket(bucketReceived)
	if err != nil {
		return fmt.Errorf("boltstore: create bucket %s: %w", bucketReceived, err)
	}
	keys, err := scanReceived(context.Background(), tx, nil)
	if err != nil {
		return fmt.Errorf("boltstore: build the index of received products: %w", err)
	}
	b.FillPercent = 1.0 // put in order of key
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if err := b.Put([]byte(k), []byte{}); err != nil {
			return fmt.Errorf("boltstore: put a received product: %w", err)
		}
	}
	return nil
}

// ReceivedProducts implements central.Store: a seek in the index of
// received products. A file of format 3 or before opened read-only has
// none: its movements are read instead.
func (s *Store) ReceivedProducts(ctx context.Context, site string) ([]string, error) {
	out := []string{}
	prefix := receivedKey(site, "")
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReceived)
		if b == nil { // format 3 or before, read-only
			keys, err := scanReceived(ctx, tx, func(s string) bool { return s == site })
			for _, k := range slices.Sorted(maps.Keys(keys)) {
				out = append(out, k[len(prefix):])
			}
			return err
		}
		c := b.Cursor()
		for k, _ := c.Seek(prefix); bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			out = append(out, string(k[len(prefix):]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
