package wire

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"
)

func testKey(t testing.TB, seed byte) ed25519.PrivateKey {
	t.Helper()
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func TestSignedBatch(t *testing.T) {
	priv, other := testKey(t, 1), testKey(t, 2)
	pub := priv.Public().(ed25519.PublicKey)
	b := testBatch(t, 5, 3)
	unsigned, err := AppendBatch(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	b.Sign(priv)
	p, err := AppendBatch(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	if p[len(BatchMagic)] != BatchVersionSigned || len(p) != len(unsigned)+ed25519.SignatureSize || len(p) != b.Size() {
		t.Fatalf("signed batch: version %d, %d bytes (unsigned %d, Size %d)", p[len(BatchMagic)], len(p), len(unsigned), b.Size())
	}
	got, err := DecodeBatch(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Sig, b.Sig) || len(got.Records) != 3 || !bytes.Equal(got.Records[2], b.Records[2]) {
		t.Fatal("decoded signed batch differs")
	}
	if err := got.Verify(pub); err != nil {
		t.Errorf("Verify under the signer's key: %v", err)
	}
	if err := got.Verify(other.Public().(ed25519.PublicKey)); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "movement 7") {
		t.Errorf("Verify under another key: %v", err)
	}
	u, _ := DecodeBatch(unsigned)
	if u.Sig != nil {
		t.Error("an unsigned batch decodes with a signature")
	}
	if err := u.Verify(pub); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "unsigned") {
		t.Errorf("Verify of an unsigned batch: %v", err)
	}
	// The signature binds the head: the same records under another site,
	// gateway or ledger, or cut short, do not verify.
	for name, mod := range map[string]func(c *Batch){
		"site":    func(c *Batch) { c.Site = "north" },
		"gateway": func(c *Batch) { c.Gateway = "or-4" },
		"created": func(c *Batch) { c.Created++ },
		"cut":     func(c *Batch) { c.Records = c.Records[:2] },
	} {
		c := *got
		mod(&c)
		if err := c.Verify(pub); !errors.Is(err, ErrSignature) {
			t.Errorf("%s changed: Verify = %v", name, err)
		}
	}
	b.Sig = b.Sig[:10]
	if _, err := AppendBatch(nil, b); !errors.Is(err, ErrMalformed) {
		t.Errorf("AppendBatch with a short signature: %v", err)
	}
}

func TestSignedAck(t *testing.T) {
	priv := testKey(t, 3)
	pub := priv.Public().(ed25519.PublicKey)
	var h [32]byte
	h[0] = 9
	a := NewAck(testGateway, testCreated, 1042, h)
	a.Sign(testSite, priv)
	p, err := EncodeAck(a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeAck(p)
	if err != nil || got != a {
		t.Fatalf("DecodeAck = %+v, %v", got, err)
	}
	if err := got.Verify(testSite, pub); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := got.Verify("north", pub); !errors.Is(err, ErrSignature) {
		t.Errorf("an ack signed for another site verifies: %v", err)
	}
	forged := got
	forged.Seq++
	if err := forged.Verify(testSite, pub); !errors.Is(err, ErrSignature) {
		t.Errorf("an ack with a moved seq verifies: %v", err)
	}
	plain := NewAck(testGateway, testCreated, 1042, h)
	if err := plain.Verify(testSite, pub); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "unsigned") {
		t.Errorf("an unsigned ack: %v", err)
	}
	for _, sig := range []string{`"x"`, `"AAAA"`, `7`} {
		bad := strings.Replace(string(p), `"sig":"`+a.Sig+`"`, `"sig":`+sig, 1)
		if _, err := DecodeAck([]byte(bad)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "sig") {
			t.Errorf("ack with sig %s: %v", sig, err)
		}
	}
}

// TestSignedResend: a resend request signed by the centre for a site
// verifies there only, and not with a field changed or unsigned.
func TestSignedResend(t *testing.T) {
	priv := testKey(t, 7)
	pub := priv.Public().(ed25519.PublicKey)
	r := NewResend(testGateway, testCreated, 41, "gap")
	r.Sign(testSite, priv)
	p, err := EncodeResend(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeResend(p)
	if err != nil || got != r {
		t.Fatalf("DecodeResend = %+v, %v", got, err)
	}
	if err := got.Verify(testSite, pub); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := got.Verify("north", pub); !errors.Is(err, ErrSignature) {
		t.Errorf("a request signed for another site verifies: %v", err)
	}
	for name, change := range map[string]func(*Resend){
		"from":    func(r *Resend) { r.From = 0 },
		"created": func(r *Resend) { r.Created++ },
		"reason":  func(r *Resend) { r.Reason = "" },
	} {
		forged := got
		change(&forged)
		if err := forged.Verify(testSite, pub); !errors.Is(err, ErrSignature) {
			t.Errorf("a request with its %s changed verifies: %v", name, err)
		}
	}
	plain := NewResend(testGateway, testCreated, 41, "gap")
	if err := plain.Verify(testSite, pub); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "unsigned") {
		t.Errorf("an unsigned request: %v", err)
	}
	if _, err := DecodeResend([]byte(strings.Replace(string(p), `"sig":"`+r.Sig+`"`, `"sig":"AAAA"`, 1))); !errors.Is(err, ErrMalformed) {
		t.Errorf("a request with a short sig: %v", err)
	}
}

// TestSignedStatus: a status signed with the gateway's key survives
// encoding (online and the will) and verifies; another key, a changed
// field, another gateway's name or no signature do not.
func TestSignedStatus(t *testing.T) {
	priv := testKey(t, 5)
	pub := priv.Public().(ed25519.PublicKey)
	at := time.Date(2026, 12, 7, 6, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
	for _, st := range []Status{
		{V: JSONVersion, Gateway: testGateway, Site: testSite, State: StateOnline, Time: at, LastSeq: 40, AckedSeq: 30, Version: "1.4.0"},
		{V: JSONVersion, Gateway: testGateway, Site: testSite, State: StateOffline, Time: at},
	} {
		st.Sign(priv)
		p, err := EncodeStatus(st)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeStatus(p)
		if err != nil || got.Sig != st.Sig {
			t.Fatalf("%s: DecodeStatus = %+v, %v", p, got, err)
		}
		if err := got.Verify(pub); err != nil {
			t.Errorf("%s status: Verify: %v", st.State, err)
		}
		if err := got.Verify(testKey(t, 6).Public().(ed25519.PublicKey)); !errors.Is(err, ErrSignature) {
			t.Errorf("another key verifies: %v", err)
		}
		for name, change := range map[string]func(*Status){
			"state": func(s *Status) {
				s.State = map[string]string{StateOnline: StateOffline, StateOffline: StateOnline}[s.State]
			},
			"time":    func(s *Status) { s.Time = s.Time.Add(time.Nanosecond) },
			"seq":     func(s *Status) { s.LastSeq++ },
			"gateway": func(s *Status) { s.Gateway = "or-9" },
			"version": func(s *Status) { s.Version = "9.9.9" },
		} {
			forged := got
			change(&forged)
			if err := forged.Verify(pub); !errors.Is(err, ErrSignature) {
				t.Errorf("%s status with its %s changed verifies: %v", st.State, name, err)
			}
		}
		plain := got
		plain.Sig = ""
		if err := plain.Verify(pub); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "unsigned") {
			t.Errorf("an unsigned status: %v", err)
		}
		bad := strings.Replace(string(p), `"sig":"`+st.Sig+`"`, `"sig":"AAAA"`, 1)
		if _, err := DecodeStatus([]byte(bad)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "sig") {
			t.Errorf("status with a short sig: %v", err)
		}
	}
}

func TestSignedMessagesDiffer(t *testing.T) {
	// The same fields under two contexts never make the same message.
	var h [32]byte
	head := HeadMessage("s", "g", 1, 2, h)
	a := NewAck("g", 1, 2, h)
	if bytes.Equal(head, AckMessage("s", &a)) {
		t.Error("a head and an ack sign the same message")
	}
	// Length prefixes keep fields apart: "ab"+"c" is not "a"+"bc".
	if bytes.Equal(MasterMessage("ab", "c", 1, "csv", 2, h), MasterMessage("a", "bc", 1, "csv", 2, h)) {
		t.Error("field boundaries are ambiguous")
	}
}

func TestSignedMasterParts(t *testing.T) {
	centre, other := testKey(t, 5), testKey(t, 6)
	pub := centre.Public().(ed25519.PublicKey)
	data := []byte(strings.Repeat("gtin,lot,serial,reason,date\n", 40))
	chunk := MasterChunk(300, SetRecalls, FormatCSV)
	parts, err := SplitMaster(SetRecalls, 1765000000000, FormatCSV, data, chunk)
	if err != nil {
		t.Fatal(err)
	}
	SignMasterParts(testSite, parts, centre)
	var a MasterAssembler
	var whole *MasterSet
	for i := range parts {
		p, err := AppendMasterPart(nil, &parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(p) > 300 {
			t.Errorf("part %d: %d bytes, over the 300 the chunk was sized for", i, len(p))
		}
		if p[len(MasterPartMagic)] != MasterPartVersionSigned {
			t.Fatalf("part %d: version byte %d", i, p[len(MasterPartMagic)])
		}
		got, err := DecodeMasterPart(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := got.Verify(testSite, pub); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if err := got.Verify("north", pub); !errors.Is(err, ErrSignature) {
			t.Errorf("part %d verifies for another site: %v", i, err)
		}
		if err := got.Verify(testSite, other.Public().(ed25519.PublicKey)); !errors.Is(err, ErrSignature) {
			t.Errorf("part %d verifies under another key: %v", i, err)
		}
		if whole, err = a.Add(got); err != nil {
			t.Fatal(err)
		}
	}
	if whole == nil || !bytes.Equal(whole.Data, data) {
		t.Fatal("signed parts do not reassemble")
	}
	// A forged header (a bigger size, a later version) does not verify.
	forged := parts[0]
	forged.Version++
	if err := forged.Verify(testSite, pub); !errors.Is(err, ErrSignature) {
		t.Errorf("a part with another version verifies: %v", err)
	}
	forged = parts[0]
	forged.Size = MaxMasterSize
	if err := forged.Verify(testSite, pub); !errors.Is(err, ErrSignature) {
		t.Errorf("a part with another size verifies: %v", err)
	}
	unsigned := parts[0]
	unsigned.Sig = nil
	if err := unsigned.Verify(testSite, pub); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "unsigned") {
		t.Errorf("an unsigned part: %v", err)
	}
}
