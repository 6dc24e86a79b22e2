package nationaldb

import (
	"bytes"
	"fmt"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/national"
	"github.com/udi-edge/udi-edge/agent/nhsa"
	bolt "go.etcd.io/bbolt"
)

// Lookup returns the catalogue entry of the product key or DI di
// (national.Key normalises it: a GTIN of 8 to 13 digits is padded): the
// entry national.Entries gives for it, of a sales unit, a unit of use or
// a package, with the NHSA rows that name it or its national code
// applied (national.ApplyNHSA). ok is false when the index holds no
// device with that DI.
func (db *DB) Lookup(di string) (e master.CatalogueEntry, ok bool, err error) {
	key := national.Key(di)
	err = db.db.View(func(tx *bolt.Tx) error {
		es, _, err := lookupTx(tx).device(key)
		for i := range es {
			if es[i].Product() == key {
				e, ok = es[i], true
			}
		}
		return err
	})
	return e, ok, err
}

// Product returns every catalogue entry of the device di belongs to, as
// Lookup gives each: its sales unit first, then its unit of use, then
// its packages (national.Entries' order). ok is false when the index
// holds no device with that DI.
func (db *DB) Product(di string) (es []master.CatalogueEntry, ok bool, err error) {
	err = db.db.View(func(tx *bolt.Tx) error {
		es, _, err = lookupTx(tx).device(national.Key(di))
		return err
	})
	return es, len(es) > 0, err
}

// CatalogueStats say how a hospital's catalogue was built.
type CatalogueStats struct {
	// Own is the number of entries of the hospital's catalogue, Found how
	// many of them the index holds (brought up to date by national.Merge).
	Own   int `json:"own"`
	Found int `json:"found"`
	// Stocked is the number of stocked product keys given, Unknown how
	// many of them neither the hospital's catalogue nor the index holds
	// (left out: nothing says what they are); UnknownKeys lists the first
	// MaxProblems.
	Stocked     int      `json:"stocked"`
	Unknown     int      `json:"unknown"`
	UnknownKeys []string `json:"unknown_keys,omitempty"`
	// Added is the number of entries added from the index: the stocked
	// products the hospital's catalogue lacks, and the packages and units
	// of use of every product found.
	Added int `json:"added"`
}

// Catalogue returns the catalogue of a hospital that stocks the products
// of its own catalogue own (its procurement list: charge codes, prices)
// and the products stocked (product keys or DIs, such as what its
// gateways have received), and only those: for each product the index
// holds, every entry of its device (sales unit, unit of use, packages,
// NHSA rows applied), each merged with the hospital's entry of the same
// key where there is one (national.Merge: the hospital's name, charge
// code and price stay, the national fields are the index's). An entry of
// own the index does not hold is kept as it is. The hospital's entries
// come first in their order, then the ones added, in the order met. It
// reads the index, never the whole of it.
func (db *DB) Catalogue(own []master.CatalogueEntry, stocked []string) ([]master.CatalogueEntry, CatalogueStats, error) {
	st := CatalogueStats{Own: len(own), Stocked: len(stocked)}
	out := make([]master.CatalogueEntry, 0, len(own))
	at := make(map[string]int, len(own))
	for _, e := range own {
		if _, dup := at[e.Product()]; !dup {
			at[e.Product()] = len(out)
			out = append(out, e)
		}
	}
	merged := make([]bool, len(out))
	seen := map[string]bool{} // device keys done
	err := db.db.View(func(tx *bolt.Tx) error {
		l := lookupTx(tx)
		// add adds the entries of the device key belongs to; it reports
		// whether the index holds one.
		add := func(key string) (bool, error) {
			dev, ok := l.deviceKey(key)
			if !ok {
				return false, nil
			}
			if seen[dev] {
				return true, nil
			}
			seen[dev] = true
			es, err := l.entries(dev)
			if err != nil {
				return false, err
			}
			for _, e := range es {
				k := e.Product()
				if i, ok := at[k]; ok {
					if i < len(merged) && !merged[i] {
						out[i], merged[i] = national.Merge(out[i], e), true
						st.Found++
					}
					continue
				}
				at[k] = len(out)
				out = append(out, e)
				st.Added++
			}
			return len(es) > 0, nil
		}
		for i := range merged {
			if _, err := add(out[i].Product()); err != nil {
				return err
			}
		}
		for _, di := range stocked {
			key := national.Key(di)
			found, err := add(key)
			if err != nil {
				return err
			}
			if _, held := at[key]; !found && !held {
				st.Unknown++
				if len(st.UnknownKeys) < MaxProblems {
					st.UnknownKeys = append(st.UnknownKeys, key)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, st, err
	}
	return out, st, nil
}

// reader reads the index in one transaction.
type reader struct {
	devices, keys, rows, di *bolt.Bucket
}

func lookupTx(tx *bolt.Tx) reader {
	return reader{devices: tx.Bucket(bucketDevices), keys: tx.Bucket(bucketKeys), rows: tx.Bucket(bucketNHSA), di: tx.Bucket(bucketNHSADI)}
}

// deviceKey returns the key of the device product key belongs to.
func (r reader) deviceKey(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	dev := r.keys.Get([]byte(key))
	return string(dev), dev != nil
}

// device returns the entries of the device key belongs to and its key.
func (r reader) device(key string) ([]master.CatalogueEntry, string, error) {
	dev, ok := r.deviceKey(key)
	if !ok {
		return nil, "", nil
	}
	es, err := r.entries(dev)
	return es, dev, err
}

// entries returns the entries of device dev, NHSA rows applied.
func (r reader) entries(dev string) ([]master.CatalogueEntry, error) {
	v := r.devices.Get([]byte(dev))
	if v == nil {
		return nil, fmt.Errorf("%w: key index names device %s, which the index lacks", ErrCorrupt, dev)
	}
	rec, err := decodeDevice(v)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", dev, err)
	}
	es, _ := national.Entries(rec.d)
	for i := range es {
		if err := r.applyRows(&es[i]); err != nil {
			return nil, err
		}
	}
	return es, nil
}

// applyRows applies to e the NHSA rows that name its DI, in the order of
// their codes, then the rows of its national code not yet applied: the
// code itself, and for a 20-character code the 27-character codes that
// extend it (as national.Join matches them).
func (r reader) applyRows(e *master.CatalogueEntry) error {
	var done []string
	// apply applies the row of code, if the index holds one; indexed
	// says that an index entry names it, so that it must.
	apply := func(code []byte, indexed bool) error {
		for _, c := range done {
			if c == string(code) {
				return nil
			}
		}
		v := r.rows.Get(code)
		if v == nil {
			if indexed {
				return fmt.Errorf("%w: DI index names NHSA row %s, which the index lacks", ErrCorrupt, code)
			}
			return nil
		}
		it, err := decodeRow(v)
		if err != nil {
			return fmt.Errorf("nhsa row %s: %w", code, err)
		}
		done = append(done, string(code))
		national.ApplyNHSA(e, it)
		return nil
	}
	prefix := pair(e.Product(), "")
	var byDI [][]byte
	c := r.di.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		byDI = append(byDI, bytes.Clone(k[len(prefix):]))
	}
	for _, code := range byDI {
		if err := apply(code, true); err != nil {
			return err
		}
	}
	code := []byte(e.InsuranceCode)
	switch len(code) {
	case nhsa.LongLen:
		return apply(code, false)
	case nhsa.ShortLen:
		var extend [][]byte
		c := r.rows.Cursor()
		for k, _ := c.Seek(code); k != nil && bytes.HasPrefix(k, code); k, _ = c.Next() {
			extend = append(extend, bytes.Clone(k))
		}
		for _, k := range extend {
			if err := apply(k, true); err != nil {
				return err
			}
		}
	}
	return nil
}
