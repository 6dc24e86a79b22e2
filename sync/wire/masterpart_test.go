package wire

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/udi-edge/udi-edge/agent/master"
)

// catalogueText returns n bytes of a CSV catalogue, with Chinese names
// so that parts are cut inside characters.
func catalogueText(n int) []byte {
	var b bytes.Buffer
	b.WriteString("gtin,name,unit_price\n")
	for b.Len() < n {
		b.WriteString("06901234100013,髋关节假体 股骨柄,6850.00\n")
	}
	out := b.Bytes()[:n]
	for len(out) > 0 && !utf8.Valid(out) {
		out = out[:len(out)-1]
	}
	return append(out, bytes.Repeat([]byte("x"), n-len(out))...)
}

// encodeParts splits data and encodes every part.
func encodeParts(t testing.TB, set string, version uint64, data []byte, chunk int) [][]byte {
	t.Helper()
	parts, err := SplitMaster(set, version, FormatCSV, data, chunk)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(parts))
	for i := range parts {
		if out[i], err = AppendMasterPart(nil, &parts[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// assemble decodes and adds payloads in order, and returns the sets
// completed.
func assemble(t testing.TB, a *MasterAssembler, payloads ...[]byte) []*MasterSet {
	t.Helper()
	var done []*MasterSet
	for _, p := range payloads {
		part, err := DecodeMasterPart(p)
		if err != nil {
			t.Fatal(err)
		}
		s, err := a.Add(part)
		if err != nil {
			t.Fatalf("part %d of version %d: %v", part.Index, part.Version, err)
		}
		if s != nil {
			done = append(done, s)
		}
	}
	return done
}

// TestSplitMasterFitsAndReassembles: for sizes around the chunk, every
// part encodes within the payload bound MasterChunk was given, and the
// parts reassemble to the data in any order, with repeats.
func TestSplitMasterFitsAndReassembles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const maxPayload = 4096
	chunk := MasterChunk(maxPayload, SetSettlements, FormatJSON)
	if chunk < maxPayload-200 || chunk >= maxPayload { // the header, a signature and the CRC
		t.Fatalf("chunk %d for payloads of %d", chunk, maxPayload)
	}
	for _, size := range []int{0, 1, chunk - 1, chunk, chunk + 1, 5*chunk + 7, 12 * chunk} {
		data := catalogueText(size)
		payloads := encodeParts(t, SetCatalogue, 1_764_028_800_000, data, chunk)
		if want := max(1, (len(data)+chunk-1)/chunk); len(payloads) != want {
			t.Fatalf("%d bytes: %d parts, want %d", len(data), len(payloads), want)
		}
		for i, p := range payloads {
			if len(p) > maxPayload {
				t.Fatalf("%d bytes: part %d is %d bytes, over %d", len(data), i, len(p), maxPayload)
			}
		}
		// Shuffled, with one part twice before the last one (a part
		// repeated after the last starts the version anew).
		order := append([][]byte{}, payloads...)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		if n := len(order); n > 1 {
			order = slices.Insert(order, rng.IntN(n), order[rng.IntN(n-1)])
		}
		var a MasterAssembler
		done := assemble(t, &a, order...)
		if len(done) != 1 || !bytes.Equal(done[0].Data, data) || done[0].Version != 1_764_028_800_000 || done[0].Set != SetCatalogue || done[0].Format != FormatCSV {
			t.Fatalf("%d bytes: reassembled %d sets", len(data), len(done))
		}
		if v, _, _ := a.Assembling(SetCatalogue); v != 0 {
			t.Fatalf("still assembling version %d after completion", v)
		}
	}
}

// TestAssemblerNewerVersionWins: parts of two versions interleaved: the
// newer one's first part drops the older's assembly, the older's later
// parts are refused, and only the newer is returned, whole.
func TestAssemblerNewerVersionWins(t *testing.T) {
	old := encodeParts(t, SetCatalogue, 10, catalogueText(5000), 1000)
	newer := encodeParts(t, SetCatalogue, 11, catalogueText(3000), 1000)
	var a MasterAssembler
	if done := assemble(t, &a, old[0], old[1], old[2]); len(done) != 0 {
		t.Fatal("incomplete version returned")
	}
	if v, held, n := a.Assembling(SetCatalogue); v != 10 || held != 3 || n != len(old) {
		t.Fatalf("assembling %d (%d of %d)", v, held, n)
	}
	var got []*MasterSet
	for i, p := range [][]byte{newer[0], old[3], newer[1], old[4], newer[2]} {
		part, _ := DecodeMasterPart(p)
		s, err := a.Add(part)
		if part.Version == 10 && !errors.Is(err, ErrSuperseded) {
			t.Fatalf("step %d: old part taken: %v", i, err)
		}
		if part.Version == 11 && err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if s != nil {
			got = append(got, s)
		}
	}
	if len(got) != 1 || got[0].Version != 11 || !bytes.Equal(got[0].Data, catalogueText(3000)) {
		t.Fatalf("completed %v", got)
	}
	// Other sets are assembled independently.
	rec := encodeParts(t, SetRecalls, 3, []byte("gtin,reason\n"), 1000)
	if done := assemble(t, &a, rec...); len(done) != 1 || done[0].Set != SetRecalls {
		t.Fatal("recalls not assembled")
	}
}

// TestAssemblerNeverReturnsBadData: a part whose bytes were changed and
// its CRC recomputed completes the assembly, but the digest of the whole
// does not match: nothing is returned, and the version can be assembled
// again from good parts; parts that disagree on their header drop the
// version.
func TestAssemblerNeverReturnsBadData(t *testing.T) {
	data := catalogueText(3000)
	good := encodeParts(t, SetCatalogue, 7, data, 1000)
	parts, _ := SplitMaster(SetCatalogue, 7, FormatCSV, data, 1000)
	forged := parts[1]
	forged.Data = bytes.Clone(forged.Data)
	forged.Data[10] ^= 1
	var a MasterAssembler
	assemble(t, &a, good[0], good[2])
	if s, err := a.Add(&forged); s != nil || !errors.Is(err, ErrChecksum) {
		t.Fatalf("forged part: %v, %v", s, err)
	}
	if done := assemble(t, &a, good...); len(done) != 1 || !bytes.Equal(done[0].Data, data) {
		t.Fatal("the good parts did not assemble after a forged one")
	}
	other := encodeParts(t, SetCatalogue, 7, catalogueText(4000), 1000)
	assemble(t, &a, good[0])
	p, _ := DecodeMasterPart(other[1])
	if s, err := a.Add(p); s != nil || !errors.Is(err, ErrMalformed) {
		t.Fatalf("a part of another publication of the same version: %v, %v", s, err)
	}
	if v, _, _ := a.Assembling(SetCatalogue); v != 0 {
		t.Fatalf("version %d still assembling after a disagreement", v)
	}
	assemble(t, &a, good[0])
	a.Drop(SetCatalogue, 6)
	if v, _, _ := a.Assembling(SetCatalogue); v != 7 {
		t.Fatal("Drop dropped a newer version")
	}
	a.Drop(SetCatalogue, 7)
	if v, _, _ := a.Assembling(SetCatalogue); v != 0 {
		t.Fatal("Drop kept the version")
	}
}

// rawPart builds a part field by field; crc appends the checksum.
func rawPart(set, format string, version, size, chunk, count, index uint64, sum [32]byte, data string) raw {
	return raw(MasterPartMagic).bytes(MasterPartVersion).str(set).str(format).uv(version).uv(size).uv(chunk).uv(count).uv(index).bytes(sum[:]...).bytes([]byte(data)...)
}

// TestDecodeMasterPartRejects: every kind of bad part is refused with the
// sentinel and field it is about.
func TestDecodeMasterPartRejects(t *testing.T) {
	sum := sha256.Sum256([]byte("abcdef"))
	good := rawPart(SetPar, FormatCSV, 5, 6, 4, 2, 1, sum, "ef").crc()
	if p, err := DecodeMasterPart(good); err != nil || string(p.Data) != "ef" || p.Index != 1 || p.Count != 2 || p.Size != 6 || p.Chunk != 4 {
		t.Fatalf("good part: %+v, %v", p, err)
	}
	flipped := bytes.Clone(good)
	flipped[20] ^= 4
	v3 := bytes.Clone(good)
	v3[4] = 3
	for name, c := range map[string]struct {
		p     []byte
		err   error
		field string
	}{
		"empty":        {nil, ErrMalformed, "magic"},
		"batch":        {raw(BatchMagic).bytes(1).crc(), ErrMalformed, "magic"},
		"version 3":    {v3, ErrVersion, "version"},
		"flipped":      {flipped, ErrChecksum, "crc"},
		"truncated":    {good[:len(good)-6], ErrChecksum, "crc"},
		"set":          {rawPart("stock", FormatCSV, 5, 6, 4, 2, 1, sum, "ef").crc(), ErrMalformed, "set"},
		"format":       {rawPart(SetPar, "xml", 5, 6, 4, 2, 1, sum, "ef").crc(), ErrMalformed, "format"},
		"version 0":    {rawPart(SetPar, FormatCSV, 0, 6, 4, 2, 1, sum, "ef").crc(), ErrMalformed, "version"},
		"too large":    {rawPart(SetPar, FormatCSV, 5, MaxMasterSize+1, 1<<20, 65, 1, sum, "ef").crc(), ErrTooLarge, "size"},
		"chunk 0":      {rawPart(SetPar, FormatCSV, 5, 6, 0, 2, 1, sum, "ef").crc(), ErrMalformed, "chunk"},
		"count wrong":  {rawPart(SetPar, FormatCSV, 5, 6, 4, 3, 1, sum, "ef").crc(), ErrMalformed, "count"},
		"count huge":   {rawPart(SetPar, FormatCSV, 5, 6, 4, MaxMasterParts+1, 1, sum, "ef").crc(), ErrTooLarge, "count"},
		"many parts":   {rawPart(SetPar, FormatCSV, 5, MaxMasterParts+1, 1, MaxMasterParts+1, 1, sum, "e").crc(), ErrTooLarge, "count"},
		"index":        {rawPart(SetPar, FormatCSV, 5, 6, 4, 2, 2, sum, "ef").crc(), ErrMalformed, "index"},
		"short data":   {rawPart(SetPar, FormatCSV, 5, 6, 4, 2, 0, sum, "abc").crc(), ErrMalformed, "data"},
		"long data":    {rawPart(SetPar, FormatCSV, 5, 6, 4, 2, 1, sum, "efg").crc(), ErrMalformed, "data"},
		"no sha256":    {raw(MasterPartMagic).bytes(MasterPartVersion).str(SetPar).str(FormatCSV).uv(5).uv(0).uv(1).uv(1).uv(0).bytes(1, 2).crc(), ErrMalformed, "sha256"},
		"non-minimal":  {raw(MasterPartMagic).bytes(MasterPartVersion).str(SetPar).str(FormatCSV).bytes(0x85, 0x00).uv(6).uv(4).uv(2).uv(1).bytes(sum[:]...).bytes('e', 'f').crc(), ErrMalformed, "mversion"},
		"long set":     {raw(MasterPartMagic).bytes(MasterPartVersion).str("settlementsx").crc(), ErrMalformed, "set"},
		"cut in count": {raw(MasterPartMagic).bytes(MasterPartVersion).str(SetPar).str(FormatCSV).uv(5).uv(6).uv(4).crc(), ErrMalformed, "count"},
	} {
		p, err := DecodeMasterPart(c.p)
		var fe *FieldError
		if p != nil || !errors.Is(err, c.err) || !errors.As(err, &fe) || fe.Field != c.field || fe.Payload != "master part" {
			t.Errorf("%s: %v, %v; want %v in field %s", name, p, err, c.err, c.field)
		}
	}
}

// TestSplitMasterRefuses: data the gateway could not take, or a chunk too
// small for the parts allowed, is refused before anything is published.
func TestSplitMasterRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		set, format string
		version     uint64
		data        []byte
		chunk       int
		err         error
	}{
		"chunk 0":     {SetPar, FormatCSV, 1, []byte("x"), 0, ErrMalformed},
		"many parts":  {SetPar, FormatCSV, 1, make([]byte, MaxMasterParts+1), 1, ErrTooLarge},
		"too large":   {SetPar, FormatCSV, 1, make([]byte, MaxMasterSize+1), 1 << 20, ErrTooLarge},
		"not UTF-8":   {SetPar, FormatCSV, 1, []byte("\xff"), 10, ErrMalformed},
		"version 0":   {SetPar, FormatCSV, 0, []byte("x"), 10, ErrMalformed},
		"unknown set": {"stock", FormatCSV, 1, []byte("x"), 10, ErrMalformed},
		"format":      {SetPar, "xlsx", 1, []byte("x"), 10, ErrMalformed},
	} {
		if _, err := SplitMaster(c.set, c.version, c.format, c.data, c.chunk); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", name, err, c.err)
		}
	}
	bad := MasterPart{Set: SetPar, Format: FormatCSV, Version: 1, Size: 3, Chunk: 2, Count: 2, Data: []byte("a")}
	if out, err := AppendMasterPart([]byte("x"), &bad); !errors.Is(err, ErrMalformed) || string(out) != "x" {
		t.Fatalf("inconsistent part encoded: %q, %v", out, err)
	}
}

func TestParseMasterTopic(t *testing.T) {
	for topic, want := range map[string]int{
		"udi/v1/st-marys/master/catalogue/0":    0,
		"udi/v1/st-marys/master/catalogue/1023": 1023,
		"udi/v1/st-marys/master/recalls":        -1,
	} {
		site, set, i, err := ParseMasterTopic(topic)
		if err != nil || site != "st-marys" || i != want || (set != SetCatalogue && set != SetRecalls) {
			t.Errorf("%s: %q %q %d %v", topic, site, set, i, err)
		}
	}
	if got := MasterPartTopic("st-marys", SetPar, 12); got != "udi/v1/st-marys/master/par/12" {
		t.Errorf("MasterPartTopic = %q", got)
	}
	for _, topic := range []string{
		"udi/v1/st-marys/master/catalogue/01", "udi/v1/st-marys/master/catalogue/-1",
		"udi/v1/st-marys/master/catalogue/1024", "udi/v1/st-marys/master/catalogue/x",
		"udi/v1/st-marys/master/stock/0", "udi/v1/st-marys/or-3/catalogue/0",
		"udi/v1/st-marys/or-3/ack", "udi/v1/st marys/master/par/0", "udi/v2/st-marys/master/par/0",
		"udi/v1/st-marys/master/par/0/1", "udi/v1/st-marys/master/par/",
	} {
		if _, _, _, err := ParseMasterTopic(topic); !errors.Is(err, ErrTopic) {
			t.Errorf("%s: %v", topic, err)
		}
	}
}

func TestVersionAhead(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	ms := uint64(now.UnixMilli())
	day := uint64(MaxMasterAhead / time.Millisecond)
	for v, want := range map[uint64]bool{1: false, ms: false, ms + day: false, ms + day + 1: true, 1<<63 - 1: true, 1<<64 - 1: true} {
		if got := VersionAhead(v, now); got != want {
			t.Errorf("VersionAhead(%d) = %v", v, got)
		}
	}
	if !VersionAhead(1, time.Unix(-100_000, 0)) {
		t.Error("a clock before 1970 trusts versions")
	}
}

// TestMaxMasterSizeIsTheImportLimit: the gateway can import whatever the
// wire lets through, and no more.
func TestMaxMasterSizeIsTheImportLimit(t *testing.T) {
	if MaxMasterSize != master.MaxFileSize {
		t.Fatalf("MaxMasterSize %d, agent/master reads at most %d", MaxMasterSize, master.MaxFileSize)
	}
}
