//go:build linux

package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/sign"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// The neighbours campaign: a gateway and its centre working while bad
// neighbours write on every topic they read and hammer every door the
// agent opens. Through a real Mosquitto (anonymous, as a broker without
// its ACL is) a neighbour publishes malformed, oversized and forged
// messages on the gateway's ack, resend and master data topics and on
// the centre's movements and status topics; clients of the agent's
// control socket, its read-only control address, its metrics, its
// station page and the centre's HTTP API open hundreds of connections at once, send huge bodies,
// never read their answers, or never finish their headers. A scanner
// goes on scanning all along, and a normal client asks each door
// every 100 ms.

func init() {
	registerCampaign(campaign{
		Name:    "neighbours",
		Summary: "bad neighbours on every topic the gateway and centre read and on the agent's local doors and the centre's API: nothing lost, no crash, answers in time",
		Help: "A udi-edge agent (its key enrolled at the centre, the centre's key pinned) syncs through a\n" +
			"real Mosquitto to a real udi-central while a neighbour publishes on the gateway's ack, resend\n" +
			"and master data topics and on the centre's movements and status topics: garbage, payloads\n" +
			"just within and beyond the broker's packet limit, and forgeries (acks unsigned, signed by\n" +
			"another key, for another gateway or ledger, beyond the ledger, an old ack replayed; resend\n" +
			"requests from 0 and beyond the ledger; master data unsigned or signed by another key;\n" +
			"batches replayed, altered, unsigned, signed by another gateway's key, a forged next\n" +
			"movement; statuses acked beyond last). Meanwhile clients of the control socket, the\n" +
			"read-only control address, the metrics, the station page and the centre's HTTP API open hundreds of connections\n" +
			"at once, send an 80 MiB body, never read a large answer, and never finish their headers\n" +
			"(slowloris). A scanner scans all along and a normal client asks each door every 100 ms.\n" +
			"Checks: every scan answered accepted and in the ledger; the agent and centre never\n" +
			"restart (same processes); the abusive clients get 2xx, 4xx, 503 busy or are cut off,\n" +
			"never another 5xx; slowloris connections are cut; the normal client is answered within\n" +
			"2 s; at the end the centre holds the ledger's chain whole (udi-central verify: one ledger,\n" +
			"one branch, every movement once, head = the ledger's last hash). The long form repeats\n" +
			"the abuse with random sizes, counts and order.",
		Short: 1, Long: 10,
		Run: runNeighboursCampaign,
	})
}

const (
	nbSite     = "lab"
	nbGateway  = "gw-nb"
	nbOther    = "gw-nb2"      // enrolled, no agent: another gateway's id and key
	nbStranger = "gw-stranger" // enrolled nowhere
	// nbLatencyGoal bounds the normal client's answer during the abuse.
	nbLatencyGoal = 2 * time.Second
	// nbNear is a payload just within the broker's packet limit
	// (max_packet_size 1,050,000, startBenchMosquitto), nbOver one beyond.
	nbNear = 1_040_000
	nbOver = 1_100_000
	// nbHold is how long the slow readers and slowloris clients hold
	// their connections: longer than any server's header timeout (10 s).
	nbHold = 14 * time.Second
	// nbFill is how many items are scanned before the abuse, so that the
	// export a slow reader asks for is larger than a socket's buffers.
	nbFill = 3000
)

// nbWatch is what a neighbour learns by listening: the gateway's
// batches and the centre's acks, to replay and to forge from.
type nbWatch struct {
	mu        sync.Mutex
	firstAck  []byte
	lastBatch []byte
}

func (w *nbWatch) batch() (*wire.Batch, []byte) {
	w.mu.Lock()
	raw := w.lastBatch
	w.mu.Unlock()
	if raw == nil {
		return nil, nil
	}
	b, err := wire.DecodeBatch(raw)
	if err != nil {
		return nil, nil
	}
	return b, raw
}

func (w *nbWatch) ack() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.firstAck
}

// nbMQTT publishes as a neighbour on the lab's broker.
type nbMQTT struct {
	addr string
	n    atomic.Int64
	mu   sync.Mutex
	c    paho.Client
}

// client returns a connected client, connecting a new one when the
// broker dropped the last.
func (p *nbMQTT) client() (paho.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.c != nil && p.c.IsConnectionOpen() {
		return p.c, nil
	}
	c, err := nbConnect(p.addr, fmt.Sprintf("lab-neighbour-%d", p.n.Add(1)))
	if err != nil {
		return nil, err
	}
	p.c = c
	return c, nil
}

func nbConnect(addr, id string) (paho.Client, error) {
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetWriteTimeout(5 * time.Second)
	c := paho.NewClient(o)
	t := c.Connect()
	if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("neighbour: connect to %s: %v", addr, t.Error())
	}
	return c, nil
}

// publish publishes payload at QoS 1 and waits for the broker's PUBACK.
func (p *nbMQTT) publish(topic string, payload []byte, retained bool) error {
	c, err := p.client()
	if err != nil {
		return err
	}
	t := c.Publish(topic, 1, retained, payload)
	if !t.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("neighbour: no PUBACK within 10s on %s", topic)
	}
	return t.Error()
}

// oversized publishes a payload beyond the broker's packet limit from a
// client of its own, and reports whether the broker cut that client off.
func (p *nbMQTT) oversized(topic string, payload []byte) (cut bool, err error) {
	c, err := nbConnect(p.addr, fmt.Sprintf("lab-neighbour-%d", p.n.Add(1)))
	if err != nil {
		return false, err
	}
	defer c.Disconnect(0)
	c.Publish(topic, 0, false, payload)
	err = pollFor(context.Background(), 5*time.Second, func() (bool, error) { return !c.IsConnectionOpen(), nil })
	return err == nil, nil
}

func (p *nbMQTT) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.c != nil {
		p.c.Disconnect(0)
	}
}

// nbAbuse is one bad message: its topic's class (ack, resend, master,
// movements, status), what it is, and how it is made; nil payload means
// there was nothing to forge it from yet.
type nbAbuse struct {
	class, what string
	topic       string
	payload     func() []byte
	retained    bool
	oversized   bool
}

// nbKeys are the keys of the lab: the gateway's, the other enrolled
// gateway's, one nobody enrolled.
type nbKeys struct {
	gw, other, outsider ed25519.PrivateKey
}

// garbage returns n random bytes.
func garbage(rnd *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rnd.Uint32())
	}
	return b
}

// jsonPad returns a JSON object of about n bytes that no payload of the
// protocol is: a known version and an unknown field.
func jsonPad(n int) []byte {
	return []byte(`{"v":1,"pad":"` + strings.Repeat("x", max(n-16, 0)) + `"}`)
}

// forgeNext returns the record of a movement that continues b's chain
// (seq b.Last()+1), well formed and hashed as the gateway would: only a
// signature can tell it is not the gateway's.
func forgeNext(b *wire.Batch) ([]byte, error) {
	_, prev := record.Hashes(b.Records[len(b.Records)-1])
	seq := b.Last() + 1
	serial := fmt.Sprintf("FORGED%06d", seq)
	m := agent.Movement{Gateway: b.Gateway, Time: time.Now(), Kind: agent.KindReceive, Item: "(01)" + crashGTIN + "(21)" + serial,
		GTIN: crashGTIN, Serial: serial, Location: "DOCK", Station: "dock", Symbology: "]d2",
		Raw: []byte("]d201" + crashGTIN + "21" + serial), Decision: "accepted"}
	rec, err := record.EncodeUnsealed(&m)
	if err != nil {
		return nil, err
	}
	body := record.Body(rec)
	digest := sha256.Sum256(body)
	hash := record.ChainHash(seq, &prev, &digest)
	record.Seal(rec, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)), &prev, &hash)
	return rec, nil
}

// encodeBatch encodes b, signed by key (nil: unsigned).
func encodeBatch(b wire.Batch, key ed25519.PrivateKey) []byte {
	b.Sig = nil
	if key != nil {
		b.Sign(key)
	}
	p, err := wire.AppendBatch(nil, &b)
	if err != nil {
		return nil
	}
	return p
}

// nbAbuses returns the bad messages of one pass.
func nbAbuses(rnd *rand.Rand, w *nbWatch, k nbKeys) []nbAbuse {
	ackT, resendT := wire.AckTopic(nbSite, nbGateway), wire.ResendTopic(nbSite, nbGateway)
	movT, statusT := wire.MovementsTopic(nbSite, nbGateway), wire.StatusTopic(nbSite, nbGateway)
	small := func() []byte { return garbage(rnd, 1+rnd.IntN(512)) }
	near := func() []byte { return jsonPad(nbNear - rnd.IntN(1000)) }
	over := func() []byte { return garbage(rnd, nbOver+rnd.IntN(100_000)) }
	// An ack of the last movement the neighbour saw go by, exact but for
	// what each forgery changes.
	forgedAck := func(edit func(a *wire.Ack) ed25519.PrivateKey) func() []byte {
		return func() []byte {
			b, _ := w.batch()
			if b == nil {
				return nil
			}
			seq, hash := b.Head()
			a := wire.NewAck(nbGateway, b.Created, seq, hash)
			if key := edit(&a); key != nil {
				a.Sign(nbSite, key)
			}
			p, _ := wire.EncodeAck(a)
			return p
		}
	}
	resend := func(edit func(r *wire.Resend)) func() []byte {
		return func() []byte {
			b, _ := w.batch()
			if b == nil {
				return nil
			}
			r := wire.NewResend(nbGateway, b.Created, 1, "a neighbour asks")
			edit(&r)
			p, _ := wire.EncodeResend(r)
			return p
		}
	}
	// Master data recalling the very product the scanner scans: applied,
	// it would turn every scan away.
	recall := []byte("gtin,lot,serial,reason,date\n" + crashGTIN + ",,,forged recall,2026-01-01\n")
	version := uint64(time.Now().UnixMilli()) + 60_000
	part := func(key ed25519.PrivateKey, v uint64) func() []byte {
		return func() []byte {
			parts, err := wire.SplitMaster(wire.SetRecalls, v, wire.FormatCSV, recall, 1<<16)
			if err != nil {
				return nil
			}
			if key != nil {
				wire.SignMasterParts(nbSite, parts, key)
			}
			p, _ := wire.AppendMasterPart(nil, &parts[0])
			return p
		}
	}
	batch := func(edit func(b *wire.Batch) ed25519.PrivateKey) func() []byte {
		return func() []byte {
			b, _ := w.batch()
			if b == nil {
				return nil
			}
			recs := make([][]byte, len(b.Records))
			for i, r := range b.Records {
				recs[i] = slices.Clone(r)
			}
			b.Records = recs
			key := edit(b)
			return encodeBatch(*b, key)
		}
	}
	status := func(edit func(s *wire.Status)) func() []byte {
		return func() []byte {
			s := wire.Status{V: wire.JSONVersion, Gateway: nbGateway, Site: nbSite, State: wire.StateOnline, Time: time.Now(), LastSeq: 5, AckedSeq: 5}
			edit(&s)
			p, err := wire.EncodeStatus(s)
			if err != nil {
				// What the encoder refuses is written by hand.
				p = fmt.Appendf(nil, `{"v":1,"gateway":%q,"site":%q,"state":%q,"time":%q,"last_seq":%d,"acked_seq":%d}`,
					s.Gateway, s.Site, s.State, s.Time.UTC().Format(time.RFC3339), s.LastSeq, s.AckedSeq)
			}
			return p
		}
	}
	out := []nbAbuse{
		// The gateway's acks.
		{class: "ack", what: "garbage", topic: ackT, payload: small},
		{class: "ack", what: "JSON of version 2", topic: ackT, payload: func() []byte { return []byte(`{"v":2,"gateway":"gw-nb","created":1,"seq":1,"hash":"00"}`) }},
		{class: "ack", what: "an unknown field", topic: ackT, payload: func() []byte { return jsonPad(64) }},
		{class: "ack", what: "just within the broker's limit", topic: ackT, payload: near},
		{class: "ack", what: "beyond the broker's limit", topic: ackT, payload: over, oversized: true},
		{class: "ack", what: "unsigned", topic: ackT, payload: forgedAck(func(a *wire.Ack) ed25519.PrivateKey { return nil })},
		{class: "ack", what: "signed by another key", topic: ackT, payload: forgedAck(func(a *wire.Ack) ed25519.PrivateKey { return k.outsider })},
		{class: "ack", what: "signed by another key, retained", topic: ackT, retained: true,
			payload: forgedAck(func(a *wire.Ack) ed25519.PrivateKey { return k.outsider })},
		{class: "ack", what: "for another gateway", topic: ackT, payload: forgedAck(func(a *wire.Ack) ed25519.PrivateKey {
			a.Gateway = nbOther
			return k.outsider
		})},
		{class: "ack", what: "for another ledger", topic: ackT, payload: forgedAck(func(a *wire.Ack) ed25519.PrivateKey {
			a.Created++
			return k.outsider
		})},
		{class: "ack", what: "beyond the ledger", topic: ackT, payload: forgedAck(func(a *wire.Ack) ed25519.PrivateKey {
			a.Seq += 1 << 30
			return k.outsider
		})},
		{class: "ack", what: "an old ack replayed", topic: ackT, payload: w.ack},
		{class: "ack", what: "an old ack replayed, retained", topic: ackT, payload: w.ack, retained: true},
		// The gateway's resend requests.
		{class: "resend", what: "garbage", topic: resendT, payload: small},
		{class: "resend", what: "just within the broker's limit", topic: resendT, payload: near},
		{class: "resend", what: "beyond the broker's limit", topic: resendT, payload: over, oversized: true},
		{class: "resend", what: "from 0", topic: resendT, payload: resend(func(r *wire.Resend) { r.From = 0 })},
		{class: "resend", what: "beyond the ledger", topic: resendT, payload: resend(func(r *wire.Resend) { r.From = 1<<40 + rnd.Uint64N(1<<20) })},
		{class: "resend", what: "for another gateway", topic: resendT, payload: resend(func(r *wire.Resend) { r.Gateway = nbOther })},
		{class: "resend", what: "for another ledger", topic: resendT, payload: resend(func(r *wire.Resend) { r.Created-- })},
		{class: "resend", what: "a reason too long", topic: resendT, payload: func() []byte {
			b, _ := w.batch()
			if b == nil {
				return nil
			}
			return fmt.Appendf(nil, `{"v":1,"gateway":%q,"created":%d,"from":1,"reason":%q}`, nbGateway, b.Created, strings.Repeat("r", 4096))
		}},
		// The gateway's master data.
		{class: "master", what: "garbage", topic: wire.MasterPartTopic(nbSite, wire.SetRecalls, 0), payload: small},
		{class: "master", what: "just within the broker's limit", topic: wire.MasterPartTopic(nbSite, wire.SetCatalogue, 0), payload: near},
		{class: "master", what: "beyond the broker's limit", topic: wire.MasterPartTopic(nbSite, wire.SetCatalogue, 0), payload: over, oversized: true},
		{class: "master", what: "a part unsigned", topic: wire.MasterPartTopic(nbSite, wire.SetRecalls, 0), payload: part(nil, version)},
		{class: "master", what: "a part signed by another key, retained", topic: wire.MasterPartTopic(nbSite, wire.SetRecalls, 0), retained: true,
			payload: part(k.outsider, version+1)},
		{class: "master", what: "a part far ahead of the clock", topic: wire.MasterPartTopic(nbSite, wire.SetRecalls, 0),
			payload: part(k.outsider, version+uint64(30*24*time.Hour/time.Millisecond))},
		{class: "master", what: "a part on another part's topic", topic: wire.MasterPartTopic(nbSite, wire.SetRecalls, 3), payload: part(k.outsider, version+2)},
		{class: "master", what: "the single-message format", topic: wire.MasterTopic(nbSite, wire.SetRecalls), payload: func() []byte {
			p, _ := wire.EncodeMaster(wire.NewMaster(wire.SetRecalls, version+3, wire.FormatCSV, recall))
			return p
		}},
		{class: "master", what: "an unknown set", topic: wire.Prefix + nbSite + "/master/nosuch/0", payload: part(k.outsider, version+4)},
		// The centre's movements.
		{class: "movements", what: "garbage", topic: movT, payload: small},
		{class: "movements", what: "just within the broker's limit", topic: movT, payload: func() []byte { return garbage(rnd, nbNear) }},
		{class: "movements", what: "beyond the centre's limit, within the broker's", topic: movT, payload: func() []byte {
			return garbage(rnd, wire.MaxBatchSize+1+rnd.IntN(200))
		}},
		{class: "movements", what: "beyond the broker's limit", topic: movT, payload: over, oversized: true},
		{class: "movements", what: "a batch replayed", topic: movT, payload: func() []byte { _, raw := w.batch(); return raw }},
		{class: "movements", what: "a batch with a byte changed", topic: movT, payload: func() []byte {
			_, raw := w.batch()
			if raw == nil {
				return nil
			}
			raw = slices.Clone(raw)
			raw[len(raw)/2] ^= 1 << rnd.IntN(8)
			return raw
		}},
		{class: "movements", what: "a batch unsigned", topic: movT, payload: batch(func(b *wire.Batch) ed25519.PrivateKey { return nil })},
		{class: "movements", what: "a batch signed by another gateway's key", topic: movT,
			payload: batch(func(b *wire.Batch) ed25519.PrivateKey { return k.other })},
		{class: "movements", what: "a forged next movement, signed by another gateway's key", topic: movT,
			payload: batch(func(b *wire.Batch) ed25519.PrivateKey {
				rec, err := forgeNext(b)
				if err != nil {
					return nil
				}
				b.First, b.Records = b.Last()+1, [][]byte{rec}
				return k.other
			})},
		{class: "movements", what: "a forged next movement, unsigned", topic: movT,
			payload: batch(func(b *wire.Batch) ed25519.PrivateKey {
				if rec, err := forgeNext(b); err == nil {
					b.First, b.Records = b.Last()+1, [][]byte{rec}
				}
				return nil
			})},
		{class: "movements", what: "the gateway's movements as another gateway's", topic: wire.MovementsTopic(nbSite, nbOther),
			payload: batch(func(b *wire.Batch) ed25519.PrivateKey { b.Gateway = nbOther; return k.other })},
		{class: "movements", what: "a gateway nobody enrolled", topic: wire.MovementsTopic(nbSite, nbStranger),
			payload: batch(func(b *wire.Batch) ed25519.PrivateKey { b.Gateway = nbStranger; return k.outsider })},
		// The centre's statuses.
		{class: "status", what: "garbage", topic: statusT, payload: small},
		{class: "status", what: "just within the broker's limit", topic: statusT, payload: near},
		{class: "status", what: "beyond the broker's limit", topic: statusT, payload: over, oversized: true},
		{class: "status", what: "acked beyond last", topic: statusT, payload: status(func(s *wire.Status) { s.AckedSeq = s.LastSeq + 1 + rnd.Uint64N(1000) })},
		{class: "status", what: "another gateway's on this one's topic", topic: statusT, payload: status(func(s *wire.Status) { s.Gateway = nbOther })},
		{class: "status", what: "a gateway nobody enrolled", topic: wire.StatusTopic(nbSite, nbStranger),
			payload: status(func(s *wire.Status) { s.Gateway = nbStranger })},
	}
	rnd.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// nbDoor is one of the agent's local doors (or the centre's API) and
// what its clients ask.
type nbDoor struct {
	name string
	dial func() (net.Conn, error)
	// normal is a normal client's GET, flood the GET of the hundreds of
	// connections at once, big one with a large answer; body the "METHOD
	// PATH" a huge body is sent to, bodyRow the body's line, repeated
	// after its first (bodyHead).
	normal, flood, big, body string
	bodyHead, bodyRow        string
}

// nbDial returns a dialler of network address; over TCP its receive
// buffer is small, so that an answer not read fills it at once.
func nbDial(network, address string) func() (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if network == "tcp" {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}
	}
	return func() (net.Conn, error) { return d.Dial(network, address) }
}

// nbOutcomes counts the answers a door gave its abusive clients.
type nbOutcomes struct {
	mu                                   sync.Mutex
	ok, refused, busy, cut, unanswered   int
	server                               int // 5xx other than 503
	codes                                map[int]int
	slowlorisCut, slowlorisHeld, slowSet int
}

// add counts one answer: 2xx, 4xx (refused), 503 (busy), another 5xx,
// the connection closed by the server (cut), or no answer at all.
func (o *nbOutcomes) add(code int, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.codes == nil {
		o.codes = map[int]int{}
	}
	switch {
	case isTimeout(err):
		o.unanswered++
	case err != nil:
		o.cut++
	case code == http.StatusServiceUnavailable:
		o.busy++
	case code >= 500:
		o.server++
	case code >= 400:
		o.refused++
	default:
		o.ok++
	}
	if code != 0 {
		o.codes[code]++
	}
}

// nbRequest sends one request on a new connection of d and reads the
// answer's status, within limit.
func nbRequest(d nbDoor, method, path string, limit time.Duration) (int, error) {
	conn, err := d.dial()
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return nbAsk(conn, method, path, limit)
}

func nbAsk(conn net.Conn, method, path string, limit time.Duration) (int, error) {
	_ = conn.SetDeadline(time.Now().Add(limit))
	if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", method, path); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// nbFlood opens n connections at once and asks the normal request on
// each.
func nbFlood(d nbDoor, n int, o *nbOutcomes) {
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			c, err := d.dial()
			if err != nil {
				o.add(0, err)
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	for _, c := range conns {
		if c == nil {
			continue
		}
		wg.Go(func() {
			defer c.Close()
			o.add(nbAsk(c, "GET", d.flood, 20*time.Second))
		})
	}
	wg.Wait()
}

// nbHugeBody sends a body of size bytes to d.body, stopping when the
// door answers or closes, and returns what the door said.
func nbHugeBody(d nbDoor, size int, o *nbOutcomes) string {
	method, path, _ := strings.Cut(d.body, " ")
	conn, err := d.dial()
	if err != nil {
		o.add(0, err)
		return err.Error()
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	type answer struct {
		code int
		err  error
		text string
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			got <- answer{0, err, err.Error()}
			return
		}
		text, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		line, _, _ := strings.Cut(strings.TrimSpace(string(text)), "\n")
		got <- answer{resp.StatusCode, nil, resp.Status + " " + line}
	}()
	_, err = fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: lab\r\nContent-Type: text/csv\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		method, path, size, d.bodyHead)
	chunk := []byte(strings.Repeat(d.bodyRow, max(1, 64<<10/len(d.bodyRow))))
	for sent := len(d.bodyHead); err == nil && sent < size; sent += len(chunk) {
		select {
		case a := <-got:
			o.add(a.code, a.err)
			return fmt.Sprintf("after %d MiB: %s", sent>>20, a.text)
		default:
		}
		c := chunk[:min(len(chunk), size-sent)]
		_, err = conn.Write(c)
	}
	a := <-got
	o.add(a.code, a.err)
	return a.text
}

// nbSlow holds n slow readers (a large answer asked for, never read)
// and n×slowloris clients (headers never finished, a line a second)
// for hold, and counts those the door cut off.
func nbSlow(d nbDoor, readers, loris int, hold time.Duration, o *nbOutcomes) {
	var wg sync.WaitGroup
	var lorisCut, lorisHeld atomic.Int64
	for range readers {
		wg.Go(func() {
			c, err := d.dial()
			if err != nil {
				return
			}
			defer c.Close()
			if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: lab\r\n\r\n", d.big); err != nil {
				return
			}
			time.Sleep(hold)
		})
	}
	for range loris {
		wg.Go(func() {
			c, err := d.dial()
			if err != nil {
				lorisCut.Add(1)
				return
			}
			defer c.Close()
			closed := make(chan struct{})
			go func() {
				_, _ = io.Copy(io.Discard, c)
				close(closed)
			}()
			_, err = fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: lab\r\n", d.normal)
			deadline := time.After(hold)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for err == nil {
				select {
				case <-closed:
					lorisCut.Add(1)
					return
				case <-deadline:
					lorisHeld.Add(1)
					return
				case <-tick.C:
					_, err = io.WriteString(c, "X-Slow: 1\r\n")
				}
			}
			lorisCut.Add(1)
		})
	}
	wg.Wait()
	o.mu.Lock()
	o.slowSet += readers
	o.slowlorisCut += int(lorisCut.Load())
	o.slowlorisHeld += int(lorisHeld.Load())
	o.mu.Unlock()
}

// isTimeout reports whether err is a deadline passed.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// nbNormal is a normal client of a door: a request every 100 ms, each
// on a new connection, its worst time and its failures kept.
type nbNormal struct {
	door  nbDoor
	worst atomic.Int64 // nanoseconds
	// worstAt is when the worst answer was asked for.
	mu      sync.Mutex
	worstAt time.Time
	asked   atomic.Int64
	// failed counts answers other than 2xx, and no answer within 10 s.
	failed atomic.Int64
	last   atomic.Value // string: the last failure
}

func (n *nbNormal) run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		start := time.Now()
		code, err := nbRequest(n.door, "GET", n.door.normal, 10*time.Second)
		took := time.Since(start)
		n.asked.Add(1)
		n.mu.Lock()
		if int64(took) > n.worst.Load() {
			n.worst.Store(int64(took))
			n.worstAt = start
		}
		n.mu.Unlock()
		if err != nil || code/100 != 2 {
			n.failed.Add(1)
			n.last.Store(fmt.Sprintf("GET %s: %d %v after %v", n.door.normal, code, err, took.Round(time.Millisecond)))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// nbStream scans new items one after another, as a nurse would, until
// ctx ends.
type nbStream struct {
	accepted, other int
	keys            []string
	err             error
	soFar           atomic.Int64 // accepted, for progress lines while it runs
}

func (s *nbStream) run(ctx context.Context, sc *labScanner, dead <-chan struct{}) {
	for serial := 1; ctx.Err() == nil; serial++ {
		label, key := crashLabel(fmt.Sprintf("N%06d", serial))
		b, err := sc.scan(label, dead)
		if err != nil {
			s.err = err
			return
		}
		if b == ansAccepted {
			s.accepted++
			s.soFar.Add(1)
			s.keys = append(s.keys, key)
		} else {
			s.other++
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Log lines of the agent's refusals.
var (
	nbAckRefusedRE    = regexp.MustCompile(`msg="uplink: ack (refused|rejected|for another gateway ignored|does not match the ledger)"`)
	nbResendIgnoredRE = regexp.MustCompile(`msg="uplink: resend request (rejected|refused|for another ledger ignored|beyond the last movement)"`)
	nbMasterRefusedRE = regexp.MustCompile(`msg="uplink: master data (part )?(refused|rejected)|msg="uplink: master data on an unexpected topic ignored"`)
)

// nbSame says whether p is still the run whose process was pid.
func nbSame(p *labProc, pid int) bool { return p.running() && p.process().Pid == pid }

// runNeighboursCampaign is the neighbours campaign.
func runNeighboursCampaign(ctx context.Context, r *campaignRun) error {
	edgeBin, centralBin, err := labPrograms(ctx, r)
	if err != nil {
		return err
	}
	mq, err := startBenchMosquitto(r.Dir)
	if err != nil {
		return err
	}
	defer mq.stop()
	scs, err := newLabScanners(r.Dir, 2)
	for _, sc := range scs {
		defer sc.Close()
	}
	if err != nil {
		return err
	}
	store := filepath.Join(r.Dir, nbGateway+".db")
	a, err := newLabAgent(edgeBin, r.Dir, nbGateway, store, scs[0], mq.addr, "")
	if err != nil {
		return err
	}

	// Keys: the gateway's and another gateway's, both enrolled; the
	// centre's, pinned by the gateway; an outsider's.
	var k nbKeys
	if k.gw, _, err = sign.LoadOrCreate(a.cfg.KeyPath()); err != nil {
		return err
	}
	if _, k.other, err = ed25519.GenerateKey(nil); err != nil {
		return err
	}
	if _, k.outsider, err = ed25519.GenerateKey(nil); err != nil {
		return err
	}
	centreKey, _, err := sign.LoadOrCreate(sign.KeyPath(filepath.Join(r.Dir, "central.db")))
	if err != nil {
		return err
	}
	enrolment := filepath.Join(r.Dir, "enrolment")
	lines := sign.Line(nbSite, nbGateway, sign.Public(k.gw)) + "\n" + sign.Line(nbSite, nbOther, sign.Public(k.other)) + "\n"
	if err := os.WriteFile(enrolment, []byte(lines), 0o600); err != nil {
		return err
	}
	controlPort, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	pagePort, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	page := fmt.Sprintf("127.0.0.1:%d", pagePort)
	a.cfg.Sync.CentreKey = sign.FormatPublic(sign.Public(centreKey))
	a.cfg.Control.Listen = fmt.Sprintf("127.0.0.1:%d", controlPort)
	a.cfg.Page.Listen = &page
	if err := a.addScanners(scs); err != nil {
		return err
	}

	c, err := startLabCentre(ctx, centralBin, r.Dir, mq.addr, "--enrolment", enrolment)
	if err != nil {
		return err
	}
	defer func() { _, _ = c.signal(syscall.SIGKILL) }()
	defer func() { _, _ = a.signal(syscall.SIGKILL) }()
	defer func() {
		if len(r.Failures()) > 0 {
			_ = os.WriteFile(filepath.Join(r.Dir, "udi-edge.log"), []byte(a.logs.String()), 0o600)
			_ = os.WriteFile(filepath.Join(r.Dir, "udi-central.log"), []byte(c.logs.String()), 0o600)
		}
	}()
	if err := a.start(); err != nil {
		return err
	}
	if err := a.waitReady(ctx); err != nil {
		return fmt.Errorf("the agent did not start: %w\n%s", err, a.tail(4096))
	}
	if err := a.waitScanner(ctx); err != nil {
		return fmt.Errorf("the agent did not open its scanners: %w\n%s", err, a.tail(4096))
	}
	m, err := a.waitLog(ctx, metricsAddrRE)
	if err != nil {
		return err
	}
	agentPID, centrePID := a.process().Pid, c.process().Pid
	dead := a.exited()

	// A neighbour listens to what goes by.
	var watch nbWatch
	listener, err := nbConnect(mq.addr, "lab-neighbour-ear")
	if err != nil {
		return err
	}
	defer listener.Disconnect(0)
	// It keeps the gateway's own batches, which its public key (no
	// secret) tells from the neighbours' forgeries.
	listener.Subscribe(wire.MovementsTopic(nbSite, nbGateway), 0, func(_ paho.Client, msg paho.Message) {
		if b, err := wire.DecodeBatch(msg.Payload()); err != nil || b.Verify(sign.Public(k.gw)) != nil {
			return
		}
		watch.mu.Lock()
		watch.lastBatch = slices.Clone(msg.Payload())
		watch.mu.Unlock()
	}).WaitTimeout(5 * time.Second)
	listener.Subscribe(wire.AckTopic(nbSite, nbGateway), 0, func(_ paho.Client, msg paho.Message) {
		watch.mu.Lock()
		if watch.firstAck == nil && len(msg.Payload()) > 0 {
			watch.firstAck = slices.Clone(msg.Payload())
		}
		watch.mu.Unlock()
	}).WaitTimeout(5 * time.Second)

	doors := []nbDoor{
		{name: "control socket", dial: nbDial("unix", a.cfg.SocketPath()), normal: "/v1/status", flood: "/v1/status", big: "/v1/export/epcis",
			body: "PUT /v1/master/catalogue?format=csv", bodyHead: "gtin,name,unit_price\n", bodyRow: "not-a-gtin,x,1\n"},
		{name: "control address", dial: nbDial("tcp", a.cfg.Control.Listen), normal: "/v1/status", flood: "/v1/status", big: "/v1/export/epcis",
			body: "PUT /v1/master/catalogue?format=csv", bodyHead: "gtin,name,unit_price\n", bodyRow: "not-a-gtin,x,1\n"},
		// The metrics' normal client is a supervisor's liveness probe: the
		// scrapes are limited (4 at once, others 503), the probe must not be.
		{name: "metrics", dial: nbDial("tcp", m[1]), normal: "/healthz", flood: "/metrics", big: "/metrics", body: "POST /metrics", bodyRow: "x"},
		{name: "station page", dial: nbDial("tcp", page), normal: "/", flood: "/", big: "/warehouse", body: "POST /login", bodyRow: "x=y&"},
		// The centre's HTTP API: an auditor's or a report's client.
		{name: "centre API", dial: nbDial("tcp", strings.TrimPrefix(c.url, "http://")), normal: "/healthz", flood: "/v1/gateways", big: "/v1/gateways",
			body: "POST /v1/master?site=" + nbSite + "&set=catalogue&format=csv", bodyHead: "gtin,name,unit_price\n", bodyRow: "not-a-gtin,x,1\n"},
	}
	outcomes := make([]*nbOutcomes, len(doors))
	normals := make([]*nbNormal, len(doors))
	var recorded atomic.Int64
	agentMem := startMemSampler(agentPID, "", &recorded)
	centreMem := startMemSampler(centrePID, "", &recorded)

	// The day goes on: a scanner scans all along, a normal client asks
	// each door every 100 ms.
	dayCtx, endDay := context.WithCancel(ctx)
	defer endDay()
	var day sync.WaitGroup
	var stream nbStream
	day.Go(func() { stream.run(dayCtx, scs[0], dead) })
	for i, d := range doors {
		outcomes[i], normals[i] = &nbOutcomes{}, &nbNormal{door: d}
		day.Go(func() { normals[i].run(dayCtx) })
	}
	// Items enough that an export is larger than a socket's buffers.
	fill := feedScanner(ctx, scs[1], 9, nbFill, offlineDepth, dead, &recorded)
	if fill.err != nil {
		r.Failf("filling the ledger: %v", fill.err)
	}
	if err := pollFor(ctx, crashDrainWait, func() (bool, error) {
		b, _ := watch.batch()
		return b != nil && watch.ack() != nil, nil
	}); err != nil {
		r.Failf("the neighbour saw no batch and no ack go by: %v", err)
	}

	pub := &nbMQTT{addr: mq.addr}
	defer pub.close()
	sent := map[string]int{}
	var skipped, oversized, oversizedCut int
	forgedShown := false
	for pass := 1; pass <= r.Rounds && ctx.Err() == nil; pass++ {
		abuses := nbAbuses(r.Rand, &watch, k)
		for _, ab := range abuses {
			repeat := 1
			if pass > 1 {
				repeat += r.Rand.IntN(3)
			}
			for range repeat {
				p := ab.payload()
				if p == nil {
					r.Logf("pass %d: nothing to forge %s on %s from", pass, ab.what, ab.class)
					skipped++
					continue
				}
				if ab.oversized {
					oversized++
					cut, err := pub.oversized(ab.topic, p)
					if err != nil {
						return err
					}
					if cut {
						oversizedCut++
					}
				} else if err := pub.publish(ab.topic, p, ab.retained); err != nil {
					r.Failf("pass %d: the neighbour could not publish %s on %s: %v", pass, ab.what, ab.topic, err)
					continue
				}
				sent[ab.class]++
			}
		}
		if pass == 1 {
			// A status of the right form in the gateway's name: statuses
			// are not signed, so the centre shows it (the broker's ACL is
			// what keeps others off the topic).
			st := wire.Status{V: wire.JSONVersion, Gateway: nbGateway, Site: nbSite, State: wire.StateOnline, Time: time.Now(), LastSeq: 987654321}
			p, _ := wire.EncodeStatus(st)
			if err := pub.publish(wire.StatusTopic(nbSite, nbGateway), p, false); err == nil {
				sent["status"]++
				forgedShown = pollFor(ctx, 2*time.Second, func() (bool, error) {
					g, err := c.gateway(nbGateway)
					return err == nil && g.LastSeq == st.LastSeq, nil
				}) == nil
			}
		}
		r.Logf("pass %d: %d bad messages published by %s; the doors next", pass, len(abuses), time.Now().Format("15:04:05.000"))

		// The doors, all at once.
		var doorsWG sync.WaitGroup
		for i, d := range doors {
			o := outcomes[i]
			// Bodies beyond the 64 MiB bound and within it: on the control
			// socket the latter is a whole file of bad rows to read.
			flood, bodies := 300, []int{80 << 20, 60 << 20}
			readers, loris := 8, 100
			if pass > 1 {
				flood, bodies = 200+r.Rand.IntN(300), []int{(40 + r.Rand.IntN(60)) << 20}
				readers, loris = 4+r.Rand.IntN(9), 50+r.Rand.IntN(150)
			}
			doorsWG.Go(func() {
				r.Logf("pass %d: %s: %d connections at once at %s", pass, d.name, flood, time.Now().Format("15:04:05.000"))
				nbFlood(d, flood, o)
				for _, body := range bodies {
					start := time.Now()
					said := nbHugeBody(d, body, o)
					r.Logf("pass %d: %s: a body of %d MiB sent at %s: %s", pass, d.name, body>>20, start.Format("15:04:05.000"), said)
				}
				r.Logf("pass %d: %s: %d slow readers, %d slowloris at %s", pass, d.name, readers, loris, time.Now().Format("15:04:05.000"))
				nbSlow(d, readers, loris, nbHold, o)
			})
		}
		doorsWG.Wait()
		r.Logf("pass %d: doors done; scans accepted so far %d", pass, stream.soFar.Load())
	}
	endDay()
	day.Wait()
	if stream.err != nil {
		r.Failf("the scanner: %v\n%s", stream.err, a.tail(4096))
	}

	// The centre must end with everything.
	if err := waitDrained(ctx, a, c, nbGateway, crashDrainWait); err != nil {
		r.Failf("the ledger did not drain to the centre after the abuse: %v", err)
	}
	agentSame, centreSame := nbSame(&a.labProc, agentPID), nbSame(&c.labProc, centrePID)
	g, gerr := c.gateway(nbGateway)
	am, cm := agentMem.end(), centreMem.end()
	if st, err := a.signal(syscall.SIGTERM); err != nil || !st.Success() {
		r.Failf("the agent did not stop cleanly on SIGTERM: %v %v", st, err)
	}
	if st, err := c.signal(syscall.SIGTERM); err != nil || !st.Success() {
		r.Failf("udi-central did not stop cleanly on SIGTERM: %v %v", st, err)
	}
	if gerr != nil {
		return fmt.Errorf("udi-central: %w", gerr)
	}
	final, err := readLedgerState(store)
	if err != nil {
		return err
	}
	keys := stream.keys
	for n, acc := range fill.accepted {
		if acc {
			_, serial := offlineLabel(9, n+1)
			keys = append(keys, "(01)"+crashGTIN+"(21)"+serial)
		}
	}
	lost := final.missing(keys)
	if len(lost) > 0 {
		r.Failf("%d scan(s) answered accepted are not in the ledger, first %s", len(lost), lost[0])
	}
	v, err := verifyLedger(ctx, edgeBin, store)
	if err != nil {
		r.Failf("the ledger: %v", err)
	}
	ledgers, branches, held, err := verifyCentre(ctx, centralBin, c.store)
	if err != nil {
		r.Failf("the centre's store: %v", err)
	}
	sameChain := g.Seq == v.LastSeq && g.Hash == v.LastHash && g.Ledgers == 1 && g.Branch == 0
	centreWhole := err == nil && sameChain && ledgers == 1 && branches == 1 && held == final.last
	if !centreWhole {
		r.Failf("the centre holds %d movements in %d ledgers, %d branches, head %d hash %s; the ledger's last is %d hash %s",
			held, ledgers, branches, g.Seq, g.Hash, v.LastSeq, v.LastHash)
	}
	if !agentSame || !centreSame {
		r.Failf("a process died during the abuse: agent the same %v, centre the same %v\n%s\n%s", agentSame, centreSame, a.tail(4096), c.tail(4096))
	}

	// Figures.
	crashes := 0
	if !agentSame {
		crashes++
	}
	if !centreSame {
		crashes++
	}
	for _, class := range []string{"ack", "resend", "master", "movements", "status"} {
		r.Figure("bad messages on "+class, float64(sent[class]), "", "", true)
	}
	r.Figure("oversized publishers cut off by the broker", float64(oversizedCut), "", fmt.Sprintf("= %d", oversized), oversizedCut == oversized)
	r.Figure("forgeries with nothing to forge from yet", float64(skipped), "", "", true)
	logs := a.logs.String()
	r.Figure("agent: acks refused or ignored (log)", float64(len(nbAckRefusedRE.FindAllStringIndex(logs, -1))), "", "", true)
	r.Figure("agent: resend requests refused or ignored (log)", float64(len(nbResendIgnoredRE.FindAllStringIndex(logs, -1))), "", "", true)
	r.Figure("agent: master data refused (log)", float64(len(nbMasterRefusedRE.FindAllStringIndex(logs, -1))), "", "", true)
	r.Figure("centre: batches refused for their signature", float64(g.Counters.BadSignatures), "", "", true)
	r.Figure("centre: batches refused as malformed", float64(g.Counters.Malformed), "", "", true)
	shown := 0.0
	if forgedShown {
		shown = 1
	}
	r.Figure("centre: a forged status of the right form shown", shown, "", "", true)
	r.Figure("scans accepted", float64(stream.accepted+len(fill.accepted)-fill.other), "", "", true)
	r.Figure("other answers", float64(stream.other+fill.other), "", "0", stream.other+fill.other == 0)
	r.Figure("scans lost", float64(len(lost)), "", "0", len(lost) == 0)
	r.Figure("crashes", float64(crashes), "", "0", crashes == 0)
	r.Figure("movements in the ledger", float64(final.last), "", "", true)
	r.Figure("movements at the centre", float64(held), "", fmt.Sprintf("= %d, once, in order, same chain", final.last), centreWhole)
	var server, unanswered, slowCut, slowHeld, slowReaders int
	for i, d := range doors {
		o, n := outcomes[i], normals[i]
		server += o.server
		unanswered += o.unanswered
		r.Logf("%s: abusive requests answered %v; %d cut off, %d unanswered", d.name, o.codes, o.cut, o.unanswered)
		r.Figure(d.name+": abusive requests", float64(o.ok+o.refused+o.busy+o.cut+o.server+o.unanswered), "", "", true)
		r.Figure(d.name+": refused (4xx, 503 busy, cut off)", float64(o.refused+o.busy+o.cut), "", "", true)
		worst := time.Duration(n.worst.Load())
		n.mu.Lock()
		r.Logf("%s: the normal client's worst answer, %v, was asked for at %s", d.name, worst.Round(time.Millisecond), n.worstAt.Format("15:04:05.000"))
		n.mu.Unlock()
		r.Figure(d.name+": normal client's worst answer", float64(worst.Milliseconds()), "ms", "<= 2000 ms, every one 2xx",
			worst <= nbLatencyGoal && n.failed.Load() == 0 && n.asked.Load() > 0)
		if f := n.failed.Load(); f > 0 {
			r.Failf("%s: %d of %d normal requests failed, last: %v", d.name, f, n.asked.Load(), n.last.Load())
		}
		slowCut += o.slowlorisCut
		slowHeld += o.slowlorisHeld
		slowReaders += o.slowSet
	}
	r.Figure("abusive requests answered 5xx (not 503)", float64(server), "", "0", server == 0)
	r.Figure("abusive requests never answered", float64(unanswered), "", "0", unanswered == 0)
	r.Figure("slow readers (a large answer, never read)", float64(slowReaders), "", "", true)
	r.Figure("slowloris connections cut", float64(slowCut), "", fmt.Sprintf("= %d", slowCut+slowHeld), slowHeld == 0)
	mib := func(b int64) float64 { return float64(b*10/(1<<20)) / 10 }
	peak := func(ss []memSample) int64 {
		var p int64
		for _, s := range ss {
			p = max(p, s.anon)
		}
		return p
	}
	r.Figure("agent RssAnon peak", mib(peak(am)), "MiB", "", true)
	r.Figure("centre RssAnon peak", mib(peak(cm)), "MiB", "", true)
	return nil
}
