package master

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
)

// Data is one complete, indexed set of master data. It is immutable once
// built: every method is safe for any number of concurrent readers, and a
// new set replaces it as a whole (see Store). The zero Data is an empty
// set.
type Data struct {
	// Version names the set, as given to NewData (for example the import
	// time or the central service's revision).
	Version string

	sets
	versions map[string]uint64

	product      map[string]uint32 // GTIN or HIBC product → offset of its entry in cat
	recallAll    map[string]int32  // product → recalls, whole-product recalls
	recallLot    map[pair]int32    // product, lot → recalls
	recallSerial map[pair]int32    // product, serial → recalls
	lotStatus    map[pair]int32    // product, lot → lots
	byCase       map[string][]int32
	byItem       map[string][]int32
	byRoom       map[string][]int32  // room → schedules
	par          map[pair]int32      // location, product → pars
	parsOf       map[string][]int32  // product → its pars
	codeRel      map[string]int32    // national code → codes
	selected     map[string][]string // generic name → products selected in procurement

	// dups are the duplicates met when each set was indexed, by set
	// name.
	dups map[string][]Duplicate

	// damaged names the sets whose stored value was damaged when the
	// Data was loaded (LoadSets); they are empty here.
	damaged []string
	// legacy: the Data was loaded from the single value older ledgers
	// stored, which MarshalSets replaces.
	legacy bool
}

// sets are the sets as a Data holds them: the catalogue in its stored
// form, the others as slices.
type sets struct {
	cat         catalogue
	recalls     []Recall
	lots        []LotStatus
	settlements []Settlement
	schedules   []Schedule
	pars        []ParLevel
	codes       []CodeRelease
}

// pair is a product key with a lot or serial.
type pair struct{ product, sub string }

// Duplicate reports that two entries of a set had the same key: the later
// one (Index) replaced the earlier one (Previous) for that key.
type Duplicate struct {
	// Set is "catalogue", "recalls", "lot statuses" or "settlements".
	Set string
	// Key is the key both entries had: a product key, a product key and
	// "lot "/"serial " and the number, or a settlement id.
	Key string
	// Index and Previous are the positions of the two entries in the
	// slice given to NewData.
	Index, Previous int
}

// String formats d as `catalogue: 06901234100019: entry 7 replaces entry 2`.
func (d Duplicate) String() string {
	return fmt.Sprintf("%s: %s: entry %d replaces entry %d", d.Set, d.Key, d.Index, d.Previous)
}

// Counts sizes a Data.
type Counts struct {
	// Catalogue, Recalls, LotStatuses and Settlements count the entries
	// kept (an entry all of whose keys were taken by later duplicates is
	// dropped).
	Catalogue   int `json:"catalogue"`
	Recalls     int `json:"recalls"`
	LotStatuses int `json:"lots"`
	Settlements int `json:"settlements"`
	Schedules   int `json:"schedules"`
	ParLevels   int `json:"par"`
	// Codes counts the code releases (replaced and withdrawn codes).
	Codes int `json:"codes"`
	// RecalledLots, RecalledSerials and RecalledProducts count the
	// indexed recall keys.
	RecalledLots     int `json:"recalled_lots"`
	RecalledSerials  int `json:"recalled_serials"`
	RecalledProducts int `json:"recalled_products"`
}

// Sets are the master data sets, as NewData and Build take them.
type Sets struct {
	Catalogue   []CatalogueEntry
	Recalls     []Recall
	Lots        []LotStatus
	Settlements []Settlement
	Schedules   []Schedule
	ParLevels   []ParLevel
	// Versions are the central service's version numbers of the sets it
	// published, by set name (SetNames); a set imported from a file has
	// none.
	Versions map[string]uint64
}

// SetNames are the names of the master data sets, as the import command
// and the sync protocol give them.
var SetNames = []string{"catalogue", "recalls", "lots", "settlements", "schedules", "par", "codes"}

// legacySets are the sets the single value of older ledgers holds
// (MarshalBinary), in order.
var legacySets = SetNames[:6]

// NewData is Build with the first four sets.
func NewData(version string, cat []CatalogueEntry, recalls []Recall, lots []LotStatus, settlements []Settlement) (*Data, error) {
	return Build(version, Sets{Catalogue: cat, Recalls: recalls, Lots: lots, Settlements: settlements})
}

// Build checks the given sets and builds the indexes over them. The
// slices are copied; the caller may reuse them.
//
// Every entry must meet the rules the parsers enforce; the first entry
// that does not makes Build fail with an error wrapping ErrInvalid, and
// nothing is built. GTINs are padded to 14 digits. When two entries share
// a key (a product, a recalled lot or serial, a product and lot, a
// settlement id, a case, a location and product) the later one wins;
// Duplicates lists each case.
func Build(version string, in Sets) (*Data, error) {
	d := &Data{
		Version: version,
		sets: sets{
			recalls:     slices.Clone(in.Recalls),
			lots:        slices.Clone(in.Lots),
			settlements: slices.Clone(in.Settlements),
			schedules:   slices.Clone(in.Schedules),
			pars:        slices.Clone(in.ParLevels),
		},
		versions: maps.Clone(in.Versions),
	}
	var first error
	check := func(set string, i int) reporter {
		return func(col, reason string) {
			if first == nil {
				first = fmt.Errorf("master: %w: %s entry %d: %s: %s", ErrInvalid, set, i, col, reason)
			}
		}
	}
	w := newCatalogueWriter(entrySize(in.Catalogue), len(in.Catalogue))
	for i := range in.Catalogue {
		e := in.Catalogue[i]
		e.normalize(check("catalogue", i))
		w.add(&e)
	}
	for i := range d.recalls {
		r := &d.recalls[i]
		r.Lots, r.Serials = slices.Clone(r.Lots), slices.Clone(r.Serials)
		r.normalize(check("recalls", i))
	}
	for i := range d.lots {
		d.lots[i].normalize(check("lot statuses", i))
	}
	for i := range d.settlements {
		d.settlements[i].normalize(check("settlements", i))
	}
	for i := range d.schedules {
		d.schedules[i].normalize(check("schedules", i))
	}
	for i := range d.pars {
		d.pars[i].normalize(check("par levels", i))
	}
	for name := range d.versions {
		if !slices.Contains(SetNames, name) {
			check("versions", 0)(name, "not a master data set")
		}
	}
	if first != nil {
		return nil, first
	}
	if n := max(len(in.Catalogue), len(d.recalls), len(d.lots), len(d.settlements), len(d.schedules), len(d.pars)); n > 1<<31-1 {
		return nil, fmt.Errorf("master: %w: %d entries in one set", ErrInvalid, n)
	}
	var err error
	if d.cat, err = w.finish(d.versions["catalogue"]); err != nil {
		return nil, err
	}
	d.index()
	return d, nil
}

// Sets returns copies of d's sets (the Lots and Serials of recalls are
// shared and must not be changed).
func (d *Data) Sets() Sets {
	if d == nil {
		return Sets{}
	}
	s := d.sets.export()
	s.Recalls, s.Lots, s.Settlements = slices.Clone(s.Recalls), slices.Clone(s.Lots), slices.Clone(s.Settlements)
	s.Schedules, s.ParLevels, s.Versions = slices.Clone(s.Schedules), slices.Clone(s.ParLevels), maps.Clone(d.versions)
	return s
}

// export returns s as Sets, sharing its slices; the catalogue's entries
// are decoded.
func (s *sets) export() Sets {
	return Sets{
		Catalogue: s.cat.entries(), Recalls: s.recalls, Lots: s.lots, Settlements: s.settlements,
		Schedules: s.schedules, ParLevels: s.pars,
	}
}

// fromSets builds a Data over s, which it keeps, without checking the
// entries (they were checked before they were stored).
func fromSets(version string, s sets, versions map[string]uint64) *Data {
	d := &Data{Version: version, sets: s, versions: versions}
	d.index()
	return d
}

// with returns a new Data: d with the set name taken from s, with
// central version version (0 for none), no longer damaged, indexed anew;
// d's other sets and their indexes are shared, not copied.
func (d *Data) with(name string, s *sets, version uint64) *Data {
	n := &Data{}
	if d != nil {
		*n = *d
	}
	n.dups = maps.Clone(n.dups)
	n.versions = maps.Clone(n.versions)
	n.damaged = slices.DeleteFunc(slices.Clone(n.damaged), func(x string) bool { return x == name })
	def := setDefs[name]
	def.take(&n.sets, s)
	if version == 0 {
		delete(n.versions, name)
	} else {
		if n.versions == nil {
			n.versions = map[string]uint64{}
		}
		n.versions[name] = version
	}
	n.indexSet(name)
	return n
}

// SetVersion returns the central service's version of a set, 0 when the
// set did not come from it.
func (d *Data) SetVersion(set string) uint64 {
	if d == nil {
		return 0
	}
	return d.versions[set]
}

// index builds the indexes of every set.
func (d *Data) index() {
	for _, name := range SetNames {
		d.indexSet(name)
	}
}

// indexSet builds the indexes of one set, records its duplicates and
// drops its entries that no key leads to any more.
func (d *Data) indexSet(name string) {
	dups := setDefs[name].index(d)
	if len(dups) == 0 {
		delete(d.dups, name)
		return
	}
	if d.dups == nil {
		d.dups = map[string][]Duplicate{}
	}
	d.dups[name] = dups
}

// dupList collects the duplicates of one set while it is indexed.
type dupList struct {
	set  string
	list []Duplicate
}

// key records that entry i has key in m, noting a duplicate.
func (l *dupList) key(key string, i int, m map[string]int32) {
	if p, ok := m[key]; ok && int(p) != i {
		l.list = append(l.list, Duplicate{Set: l.set, Key: key, Index: i, Previous: int(p)})
	}
	m[key] = int32(i)
}

// pair records that entry i has key k in m, noting a duplicate.
func (l *dupList) pair(what string, k pair, i int, m map[pair]int32) {
	if p, ok := m[k]; ok && int(p) != i {
		l.list = append(l.list, Duplicate{Set: l.set, Key: k.product + " " + what + " " + k.sub, Index: i, Previous: int(p)})
	}
	m[k] = int32(i)
}

// indexCatalogue indexes the catalogue by product, and drops the
// entries whose every key a later entry took (the value is written anew
// without them). The keys are copied together, in the order of the
// entries, so that a lookup compares its key in a small region (1.4 MB
// for 100,000 GTINs) and reads the catalogue's value only at the entry
// it found: the keys inside the value lie as far apart as the entries.
func (d *Data) indexCatalogue() []Duplicate {
	dups := d.indexProducts()
	d.indexSelected()
	return dups
}

// indexSelected indexes the products selected in volume-based
// procurement by generic name (Selected).
func (d *Data) indexSelected() {
	d.selected = nil
	for _, off := range d.cat.at {
		if e := d.cat.entry(off); e.Procurement && e.GenericName != "" && e.PackageOf == "" {
			if d.selected == nil {
				d.selected = map[string][]string{}
			}
			d.selected[e.GenericName] = append(d.selected[e.GenericName], e.Product())
		}
	}
}

// Selected returns the products of generic name generic selected in
// volume-based procurement, in catalogue order.
func (d *Data) Selected(generic string) []string {
	if d == nil {
		return nil
	}
	return d.selected[generic]
}

// indexProducts indexes the catalogue's entries by product key.
func (d *Data) indexProducts() []Duplicate {
	c := &d.cat
	n, size := 0, 0
	for _, off := range c.at {
		gtin, hibc := c.keys(off)
		n += min(len(gtin), 1) + min(len(hibc), 1)
		size += len(gtin) + len(hibc)
	}
	var keys strings.Builder
	keys.Grow(size) // exactly: the keys taken from it stay valid
	d.product = make(map[string]uint32, n)
	var dups []Duplicate
	refs := make([]uint8, c.len()) // keys leading to each entry
	put := func(key string, i int, off uint32) {
		start := keys.Len()
		keys.WriteString(key)
		key = keys.String()[start:]
		if p, ok := d.product[key]; ok && p != off {
			j := c.index(p)
			dups = append(dups, Duplicate{Set: "catalogue", Key: key, Index: i, Previous: j})
			refs[j]--
		}
		d.product[key] = off
		refs[i]++
	}
	for i, off := range c.at {
		gtin, hibc := c.keys(off)
		if gtin != "" {
			put(gtin, i, off)
		}
		if hibc != "" {
			put(hibc, i, off)
		}
	}
	if !slices.Contains(refs, 0) {
		return dups
	}
	w := newCatalogueWriter(len(c.body()), c.len())
	for i, off := range c.at {
		if refs[i] > 0 {
			e := c.entry(off)
			w.add(&e)
		}
	}
	// The offsets of the entries kept are no longer valid, the value not
	// larger: it cannot fail.
	*c, _ = w.finish(c.version)
	d.indexProducts() // no duplicate left without a key
	return dups
}

func (d *Data) indexRecalls() []Duplicate {
	l := dupList{set: "recalls"}
	d.recallAll = make(map[string]int32)
	d.recallLot = make(map[pair]int32)
	d.recallSerial = make(map[pair]int32)
	for i := range d.recalls {
		r := &d.recalls[i]
		p := r.Product()
		if r.Whole() {
			l.key(p, i, d.recallAll)
		}
		for _, x := range r.Lots {
			l.pair("lot", pair{p, x}, i, d.recallLot)
		}
		for _, s := range r.Serials {
			l.pair("serial", pair{p, s}, i, d.recallSerial)
		}
	}
	d.recalls = keep(d.recalls, d.recallAll, d.recallLot, d.recallSerial)
	return l.list
}

func (d *Data) indexLots() []Duplicate {
	l := dupList{set: "lot statuses"}
	d.lotStatus = make(map[pair]int32, len(d.lots))
	for i := range d.lots {
		s := &d.lots[i]
		l.pair("lot", pair{s.Product(), s.Lot}, i, d.lotStatus)
	}
	d.lots = keep(d.lots, d.lotStatus)
	return l.list
}

func (d *Data) indexSettlements() []Duplicate {
	l := dupList{set: "settlements"}
	ids := make(map[string]int32, len(d.settlements))
	for i := range d.settlements {
		l.key(d.settlements[i].ID, i, ids)
	}
	d.settlements = keep(d.settlements, ids)
	d.byCase = make(map[string][]int32)
	d.byItem = make(map[string][]int32)
	for i := range d.settlements {
		s := &d.settlements[i]
		d.byCase[s.Case] = append(d.byCase[s.Case], int32(i))
		if s.Item != "" {
			d.byItem[s.Item] = append(d.byItem[s.Item], int32(i))
		}
	}
	return l.list
}

func (d *Data) indexSchedules() []Duplicate {
	l := dupList{set: "schedules"}
	cases := make(map[string]int32, len(d.schedules))
	for i := range d.schedules {
		l.key(d.schedules[i].Case, i, cases)
	}
	d.schedules = keep(d.schedules, cases)
	d.byRoom = make(map[string][]int32)
	for i := range d.schedules {
		r := d.schedules[i].Room
		d.byRoom[r] = append(d.byRoom[r], int32(i))
	}
	return l.list
}

func (d *Data) indexPars() []Duplicate {
	l := dupList{set: "par levels"}
	d.par = make(map[pair]int32, len(d.pars))
	for i := range d.pars {
		p := &d.pars[i]
		l.pair("at", pair{p.Product(), p.Location}, i, d.par)
	}
	d.pars = keep(d.pars, d.par)
	d.parsOf = make(map[string][]int32)
	for i := range d.pars {
		p := d.pars[i].Product()
		d.parsOf[p] = append(d.parsOf[p], int32(i))
	}
	return l.list
}

// keep returns the entries of s that one of the maps (map[string]int32 or
// map[pair]int32) leads to, in their order, and rewrites the maps'
// positions to match.
func keep[T any](s []T, maps ...any) []T {
	used := make([]bool, len(s))
	each := func(f func(p *int32)) {
		for _, m := range maps {
			switch m := m.(type) {
			case map[string]int32:
				for k, v := range m {
					f(&v)
					m[k] = v
				}
			case map[pair]int32:
				for k, v := range m {
					f(&v)
					m[k] = v
				}
			}
		}
	}
	each(func(p *int32) { used[*p] = true })
	if !slices.Contains(used, false) {
		return s
	}
	to := make([]int32, len(s))
	out := make([]T, 0, len(s))
	for i := range s {
		if used[i] {
			to[i] = int32(len(out))
			out = append(out, s[i])
		}
	}
	each(func(p *int32) { *p = to[*p] })
	return out
}

// Duplicates lists the keys that more than one entry had, in the order
// met; the later entry won each time.
func (d *Data) Duplicates() []Duplicate {
	if d == nil {
		return nil
	}
	var out []Duplicate
	for _, name := range SetNames {
		out = append(out, d.dups[name]...)
	}
	return out
}

// DuplicatesOf lists the duplicates of one set (as Import names it:
// "catalogue", "lots", "par"...).
func (d *Data) DuplicatesOf(set string) []Duplicate {
	if d == nil {
		return nil
	}
	return d.dups[set]
}

// Counts returns the sizes of d.
func (d *Data) Counts() Counts {
	if d == nil {
		return Counts{}
	}
	return Counts{
		Catalogue: d.cat.len(), Recalls: len(d.recalls), LotStatuses: len(d.lots), Settlements: len(d.settlements),
		Schedules: len(d.schedules), ParLevels: len(d.pars), Codes: len(d.codes),
		RecalledLots: len(d.recallLot), RecalledSerials: len(d.recallSerial), RecalledProducts: len(d.recallAll),
	}
}

// Lookup returns the catalogue entry of a product: a 14-digit GTIN (as
// code.Code.GTIN holds it) or an HIBC product key (see ProductKey).
func (d *Data) Lookup(product string) (CatalogueEntry, bool) {
	if d == nil {
		return CatalogueEntry{}, false
	}
	off, ok := d.product[product]
	if !ok {
		return CatalogueEntry{}, false
	}
	return d.cat.entry(off), true
}

// maxPackageDepth bounds the levels Resolve follows (a pallet of cases of
// boxes of units is three).
const maxPackageDepth = 8

// Resolve returns the catalogue entry of the product a scanned DI stands
// for and how many of its units the DI holds: for a package DI
// (CatalogueEntry.PackageOf) the unit it packs, through every level, and
// the product of the quantities; for any other DI its own entry and 1.
// A package whose unit is not in the catalogue resolves to the package's
// own entry, quantity 1, with ok true; a chain of packages that loops or
// is deeper than 8 levels the same way.
func (d *Data) Resolve(product string) (e CatalogueEntry, quantity int, ok bool) {
	e, ok = d.Lookup(product)
	if !ok {
		return CatalogueEntry{}, 0, false
	}
	e, quantity = d.Unit(e)
	return e, quantity, true
}

// Unit returns what the catalogue entry e stands for, as Resolve: for a
// package the entry of the unit it packs, through every level, and the
// product of the quantities; for any other entry e itself and 1.
func (d *Data) Unit(e CatalogueEntry) (CatalogueEntry, int) {
	q, cur := 1, e
	for range maxPackageDepth {
		if cur.PackageOf == "" {
			return cur, q
		}
		next, found := d.Lookup(cur.PackageOf)
		if !found {
			break
		}
		q *= max(cur.PackageQuantity, 1)
		cur = next
	}
	return e, 1
}

// LookupHIBC returns the catalogue entry of an HIBC product, given as the
// fields of code.HIBC: labeler code, product number, unit-of-measure digit.
func (d *Data) LookupHIBC(labeler, product string, uom byte) (CatalogueEntry, bool) {
	if d == nil {
		return CatalogueEntry{}, false
	}
	var buf [32]byte
	b := append(buf[:0], '+')
	b = append(b, labeler...)
	b = append(b, product...)
	b = append(b, uom)
	off, ok := d.product[string(b)]
	if !ok {
		return CatalogueEntry{}, false
	}
	return d.cat.entry(off), true
}

// Recalled reports whether an item is recalled: by its serial number,
// else by its lot, else because its whole product is. product is a GTIN or
// HIBC product key; lot and serial may be "". It returns the recall that
// applies.
func (d *Data) Recalled(product, lot, serial string) (Recall, bool) {
	if d == nil {
		return Recall{}, false
	}
	if serial != "" {
		if i, ok := d.recallSerial[pair{product, serial}]; ok {
			return d.recalls[i], true
		}
	}
	if lot != "" {
		if i, ok := d.recallLot[pair{product, lot}]; ok {
			return d.recalls[i], true
		}
	}
	if i, ok := d.recallAll[product]; ok {
		return d.recalls[i], true
	}
	return Recall{}, false
}

// LotStatus returns the status of a lot of a product, if the set has one.
func (d *Data) LotStatus(product, lot string) (LotStatus, bool) {
	if d == nil {
		return LotStatus{}, false
	}
	i, ok := d.lotStatus[pair{product, lot}]
	if !ok {
		return LotStatus{}, false
	}
	return d.lots[i], true
}

// SettlementsFor returns the settlement lines of a case, in the order of
// the set; nil if there are none.
func (d *Data) SettlementsFor(caseID string) []Settlement {
	if d == nil {
		return nil
	}
	return d.pick(d.byCase[caseID])
}

// SettlementsForItem returns the settlement lines that bill the item with
// the given item key (code.Code.Key); more than one means it was billed
// more than once, or billed and reversed.
func (d *Data) SettlementsForItem(item string) []Settlement {
	if d == nil {
		return nil
	}
	return d.pick(d.byItem[item])
}

func (d *Data) pick(ix []int32) []Settlement {
	if len(ix) == 0 {
		return nil
	}
	out := make([]Settlement, len(ix))
	for j, i := range ix {
		out[j] = d.settlements[i]
	}
	return out
}

// Catalogue returns a copy of the catalogue entries.
func (d *Data) Catalogue() []CatalogueEntry {
	if d == nil {
		return nil
	}
	return d.cat.entries()
}

// Recalls returns a copy of the recalls (their Lots and Serials are
// shared and must not be changed).
func (d *Data) Recalls() []Recall {
	if d == nil {
		return nil
	}
	return slices.Clone(d.recalls)
}

// LotStatuses returns a copy of the lot statuses.
func (d *Data) LotStatuses() []LotStatus {
	if d == nil {
		return nil
	}
	return slices.Clone(d.lots)
}

// Settlements returns a copy of the settlement lines.
func (d *Data) Settlements() []Settlement {
	if d == nil {
		return nil
	}
	return slices.Clone(d.settlements)
}

// Store holds the current Data. Load and Replace may be called from any
// goroutines; a reader keeps using the Data it loaded, whole, while a new
// one is put in place. The zero Store holds an empty Data.
type Store struct {
	p atomic.Pointer[Data]
}

// empty is the Data of a Store that was never given one.
var empty = &Data{}

// Load returns the current Data, never nil.
func (s *Store) Load() *Data {
	if d := s.p.Load(); d != nil {
		return d
	}
	return empty
}

// Replace makes d the current Data and returns the one it replaced
// (an empty Data if none was set). A nil d sets an empty Data.
func (s *Store) Replace(d *Data) *Data {
	if d == nil {
		d = empty
	}
	if old := s.p.Swap(d); old != nil {
		return old
	}
	return empty
}
