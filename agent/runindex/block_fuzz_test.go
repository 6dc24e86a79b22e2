package runindex

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// encodeBlock is a block of entries as blockWriter.flush stores it.
func encodeBlock(entries ...string) []byte {
	v := binary.BigEndian.AppendUint32(nil, uint32(len(entries)))
	end := 0
	for _, e := range entries {
		end += len(e)
		v = binary.BigEndian.AppendUint32(v, uint32(end))
	}
	for _, e := range entries {
		v = append(v, e...)
	}
	return binary.BigEndian.AppendUint32(v, crc32.Checksum(v, castagnoli))
}

// FuzzParseBlock parses any key and stored value as a run's block, its
// checksum taken as stored or made right (so that the fuzzer reaches
// past it): a damaged block is an error wrapping ErrCorrupt, never a
// panic; a block that parses has its key as first entry, and every
// entry reads within the block or is an error wrapping ErrCorrupt, and
// searching it for any entry never panics and lands within it.
func FuzzParseBlock(f *testing.F) {
	for _, entries := range [][]string{
		{"a"}, {"(01)09520123456788(21)S001", "(01)09520123456788(21)S002", "(01)09520123456788(21)S003"},
		{"k1\x00\x00\x00\x01", "k1\x00\x00\x00\x02", "k2"}, {"x", "y", "z", "zz"},
	} {
		v := encodeBlock(entries...)
		f.Add([]byte(entries[0]), v, false, entries[len(entries)/2])
		f.Add([]byte(entries[0]), v[:len(v)/2], true, entries[0])
		bad := bytes.Clone(v)
		bad[4+3] ^= 0x10
		f.Add([]byte(entries[0]), bad, true, "")
	}
	f.Fuzz(func(t *testing.T, k, v []byte, fixCRC bool, probe string) {
		if fixCRC && len(v) >= 4 {
			v = bytes.Clone(v)
			binary.BigEndian.PutUint32(v[len(v)-4:], crc32.Checksum(v[:len(v)-4], castagnoli))
		}
		b, err := parseBlock(k, v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		if first, err := b.entry(0); err != nil || !bytes.Equal(first, k) {
			t.Fatalf("first entry %q, %v; key %q", first, err, k)
		}
		for i := range b.n {
			e, err := b.entry(i)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("entry %d: %v", i, err)
				}
				continue
			}
			if len(e) == 0 || len(e) > len(b.entries) {
				t.Fatalf("entry %d of %d bytes in %d", i, len(e), len(b.entries))
			}
		}
		for _, strict := range []bool{false, true} {
			if i, err := b.search([]byte(probe), strict); err == nil && (i < 0 || i > b.n) {
				t.Fatalf("search %q lands at %d of %d", probe, i, b.n)
			} else if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("search: %v", err)
			}
		}
	})
}
