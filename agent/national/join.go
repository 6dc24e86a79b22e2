package national

import (
	"errors"
	"fmt"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/nhsa"
	"github.com/udi-edge/udi-edge/agent/udid"
)

// DefaultMaxEntries bounds the catalogue a Join with All builds: a
// gateway holds what its hospital stocks; the whole national database
// (about three million devices) belongs on the centre, which publishes to
// each hospital its part.
const DefaultMaxEntries = 200_000

// ErrTooMany is returned when a Join with All would hold more than its
// MaxEntries products.
var ErrTooMany = errors.New("national: more products than a gateway's catalogue holds")

// MaxProblems bounds the problems a Join lists (it counts them all).
const MaxProblems = 20

// Join builds a catalogue from a hospital's own entries and the national
// files, read one record at a time (Device, NHSA): what the hospital's
// catalogue holds is brought up to date (Merge); with All, every product
// the files describe is added too. It holds the catalogue being built,
// never a file. A Join is not safe for concurrent use.
type Join struct {
	// All adds every product the files describe; without it only the
	// products of the hospital's catalogue are kept (a device is kept
	// when any of its DIs is in it, with all its DIs, so that its
	// packages and unit of use resolve).
	All bool
	// MaxEntries bounds the catalogue (0 means DefaultMaxEntries).
	MaxEntries int
	// Partial keeps going past a bad UDID record of a product the
	// hospital stocks (see Problem); by default such a record stops the
	// join.
	Partial bool

	entries map[string]int // product key → index in list
	list    []master.CatalogueEntry
	byCode  map[string][]int // national code (27 and its 20) → indexes
	stats   JoinStats
}

// JoinStats says what a Join did.
type JoinStats struct {
	// Devices and NHSARows are the records read; Kept the devices kept.
	Devices  int64 `json:"devices"`
	Kept     int64 `json:"kept"`
	NHSARows int64 `json:"nhsa_rows"`
	// Matched is the number of NHSA rows that matched a product.
	Matched int64 `json:"matched"`
	// Added and Updated count catalogue entries.
	Added   int `json:"added"`
	Updated int `json:"updated"`
	// Skipped counts DIs that cannot be product keys (a GTIN with a wrong
	// check digit); Bad the bad records passed over; Problems lists the
	// first MaxProblems of both.
	Skipped  int      `json:"skipped"`
	Bad      int64    `json:"bad"`
	Problems []string `json:"problems,omitempty"`
}

// NewJoin returns a Join that starts from the hospital's catalogue own.
func NewJoin(own []master.CatalogueEntry) *Join {
	j := &Join{entries: make(map[string]int, len(own)), list: make([]master.CatalogueEntry, 0, len(own))}
	for _, e := range own {
		j.entries[e.Product()] = len(j.list)
		j.list = append(j.list, e)
	}
	return j
}

func (j *Join) note(s string) {
	if len(j.stats.Problems) < MaxProblems {
		j.stats.Problems = append(j.stats.Problems, s)
	}
}

// Stats returns what the join did so far.
func (j *Join) Stats() JoinStats { return j.stats }

// Entries returns the catalogue built: the hospital's entries in their
// order, then the ones added, in the order met.
func (j *Join) Entries() []master.CatalogueEntry { return j.list }

// Device takes one UDID device (the record function of a udid.Reader).
func (j *Join) Device(d udid.Device) error {
	j.stats.Devices++
	es, skipped := Entries(d)
	for _, di := range skipped {
		j.stats.Skipped++
		j.note(fmt.Sprintf("device %s: DI %q cannot be a product key (a GTIN's check digit is wrong, or a kind of code the catalogue does not key)", d.DI, di))
	}
	keep := j.All
	for i := 0; i < len(es) && !keep; i++ {
		_, keep = j.entries[es[i].Product()]
	}
	if !keep {
		return nil
	}
	j.stats.Kept++
	for _, e := range es {
		if i, ok := j.entries[e.Product()]; ok {
			j.list[i] = Merge(j.list[i], e)
			j.stats.Updated++
			continue
		}
		if max := j.max(); len(j.list) >= max {
			return fmt.Errorf("%w: more than %d (import the files at the centre, which publishes each hospital its part)", ErrTooMany, max)
		}
		j.entries[e.Product()] = len(j.list)
		j.list = append(j.list, e)
		j.stats.Added++
	}
	j.byCode = nil
	return nil
}

func (j *Join) max() int {
	if j.MaxEntries > 0 {
		return j.MaxEntries
	}
	return DefaultMaxEntries
}

// Problem is a udid.Reader's Problem function: a bad record of a product
// the hospital stocks stops the join (unless Partial), since that product
// would be left out of date; any other bad record, and a part of the
// export that cannot be read, is counted and listed, and reading goes on.
func (j *Join) Problem(err error) error {
	var re *udid.RecordError
	if errors.As(err, &re) && re.Device != nil && !j.Partial {
		es, _ := Entries(*re.Device)
		for _, e := range es {
			if _, ok := j.entries[e.Product()]; ok {
				return err
			}
		}
	}
	j.stats.Bad++
	j.note(err.Error())
	return nil
}

// NHSA takes one row of the NHSA consumables catalogue (the row function
// of nhsa.ReadCatalogue): it applies to the products it names by DI and
// to those that carry its national code (ApplyNHSA).
func (j *Join) NHSA(it nhsa.Item) error {
	j.stats.NHSARows++
	if j.byCode == nil {
		j.byCode = map[string][]int{}
		for i := range j.list {
			if c := j.list[i].InsuranceCode; c != "" {
				j.byCode[c] = append(j.byCode[c], i)
			}
		}
	}
	hit := map[int]bool{}
	for _, di := range it.UDIDI {
		if i, ok := j.entries[Key(di)]; ok {
			hit[i] = true
		}
	}
	for _, i := range j.byCode[string(it.Code)] {
		hit[i] = true
	}
	if it.Code.Len() == nhsa.LongLen {
		for _, i := range j.byCode[string(it.Code.Short())] {
			hit[i] = true
		}
	}
	if len(hit) > 0 {
		j.stats.Matched++
	}
	for i := range hit {
		ApplyNHSA(&j.list[i], it)
		j.stats.Updated++
	}
	return nil
}

// Spec takes one row of an NHSA code release workbook (the row function
// of nhsa.ReadSpecs): the products it names by DI, and those carrying the
// code it replaces or its 20-character code, take its 27-character code
// (an old code mapped to its new one).
func (j *Join) Spec(sp nhsa.Spec) error {
	j.stats.NHSARows++
	hit := map[int]bool{}
	for _, di := range sp.UDIDI {
		if i, ok := j.entries[Key(di)]; ok {
			hit[i] = true
		}
	}
	for i := range j.list {
		switch c := j.list[i].InsuranceCode; {
		case c == "":
		case sp.OldCode != "" && c == string(sp.OldCode), c == string(sp.Code.Short()):
			hit[i] = true
		}
	}
	if len(hit) > 0 {
		j.stats.Matched++
	}
	for i := range hit {
		j.list[i].InsuranceCode = string(sp.Code)
		if j.list[i].Registration == "" {
			j.list[i].Registration = sp.Registration
		}
		j.stats.Updated++
	}
	j.byCode = nil
	return nil
}
