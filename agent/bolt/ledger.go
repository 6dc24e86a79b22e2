package bolt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/runindex"
)

// Defaults for Options.
const (
	// DefaultMaxBatch is the most movements one transaction holds.
	DefaultMaxBatch = 8192
	// DefaultMaxDelay is how long the writer waits, from the moment the
	// first movement of a batch was queued, for more movements before it
	// commits: none. The writer commits as soon as it is free, and the
	// movements that queue up while a commit is in flight make the next
	// batch together, so batches still grow under load while a scan at a
	// trickle pays one commit and no wait (firmware-notes/ledger.md).
	DefaultMaxDelay time.Duration = 0
	// DefaultQueueSize is how many submitted movements may wait for the
	// writer before Submit blocks.
	DefaultQueueSize = 2 * DefaultMaxBatch
	// DefaultLockTimeout is how long Open waits for another process to
	// release the file.
	DefaultLockTimeout = 5 * time.Second
)

// FormatVersion is the version of the file layout this package writes
// (see firmware-notes/ledger.md). Version 4 keeps the item index as sorted
// runs (index.go); version 3, which this package still reads and upgrades
// in place when it opens one for writing, kept it as a B+tree of one key
// per entry and was the first to chain the movements by hash (PrevHash and
// Hash in every record, the last hash in the meta bucket); version 2
// stored the same batches without the chain; version 1 stored one record
// per key. The batch and record encodings carry their own version bytes.
const FormatVersion = 4

// formatIndexTree is the last version whose item index was a B+tree.
const formatIndexTree = 3

// Bucket and meta key names: part of the file format.
var (
	bucketMeta      = []byte("meta")
	bucketMovements = []byte("movements")
	bucketRuns      = []byte("runs")
	bucketIndex     = []byte("index")
	// bucketItems is the item index of format 3, kept as it was in a file
	// upgraded from it.
	bucketItems = []byte("items")

	metaVersion  = []byte("version")
	metaGateway  = []byte("gateway")
	metaCreated  = []byte("created")
	metaLastSeq  = []byte("last_seq")
	metaRejected = []byte("rejected")
	metaLastHash = []byte("last_hash")
)

// initialMmapSize is mapped up front so that the writer rarely has to remap
// (a remap waits for open read transactions).
const initialMmapSize = 64 << 20

// rangeChunk is how many movements Range reads per read transaction.
const rangeChunk = 512

// Options configure a writable ledger. Zero values take the Default*
// constants.
type Options struct {
	// Path is the ledger file. It is created with mode 0600, and its
	// directory with mode 0700, when missing.
	Path string
	// Gateway is this gateway's id. Required. It is stamped on every
	// movement; a file created for one gateway refuses to open for another.
	Gateway string
	// MaxBatch is the most movements one transaction holds.
	MaxBatch int
	// MaxDelay is how long the writer waits for more movements after the
	// first movement of a batch was queued. Zero, the default, or a
	// negative value commits as soon as the writer is free.
	MaxDelay time.Duration
	// QueueSize is how many submitted movements may wait before Submit
	// blocks. The default is DefaultQueueSize or twice MaxBatch, whichever
	// is larger, up to 65536.
	QueueSize int
	// LockTimeout is how long Open waits for another process to release the
	// file before it fails with ErrLocked.
	LockTimeout time.Duration
	// Logger receives the ledger's log lines; nil discards them.
	Logger *slog.Logger
	// ReadOnlyWhenDamaged makes Open of a file too damaged to be written
	// safely (ErrCorrupt: pages bbolt could loop on, a meta bucket at
	// odds with the movements) return the ledger open for reading only,
	// the path's lock held, instead of the error: every Submit and Append
	// fails with that error (Refused says it), and what can still be read
	// is. A running agent asks for it, so that it keeps answering — every
	// scan failed, never accepted — and serves status and verify, instead
	// of dying at every start.
	ReadOnlyWhenDamaged bool
	// Retention, when set, makes the ledger look after its own size:
	// retention, compaction and the disk budget (retention_maint.go).
	Retention *Retention

	// clock replaces the wall clock in batching tests.
	clock clock
	// maxSize caps the file in tests of failing transactions.
	maxSize int
}

// Stats are counters of a ledger since it was opened.
type Stats struct {
	// Movements is how many movements were committed.
	Movements uint64
	// Rejected is how many of them were rejected reads (KindReject).
	Rejected uint64
	// RejectedTotal is how many rejected reads the file holds in all.
	RejectedTotal uint64
	// Transactions is how many write transactions committed.
	Transactions uint64
	// Failed is how many movements were refused because their transaction
	// failed.
	Failed uint64
	// Invalid is how many movements were refused before writing (see
	// ErrInvalidMovement and ErrGatewayMismatch).
	Invalid uint64
	// MaxBatch is the largest number of movements one transaction held.
	MaxBatch int
	// IndexDamaged is set once a transaction found the item index damaged
	// where a merge had to read it: from then on, until the ledger is
	// opened again, movements are still recorded and indexed, each
	// transaction's entries in a run of their own, and nothing is merged
	// (Verify names the damage).
	IndexDamaged bool
	// CommitTime is the total time spent committing: writing pages and the
	// two fdatasyncs of each commit.
	CommitTime time.Duration
	// WriteTime is the part of CommitTime bbolt reports as writing to disk,
	// fdatasyncs included.
	WriteTime time.Duration
	// LastSeq is the sequence number of the last committed movement.
	LastSeq uint64
	// Queued is how many submitted movements wait for the writer.
	Queued int
}

// Ledger is the bbolt ledger. Its methods are safe for concurrent use.
type Ledger struct {
	db       *bolt.DB
	file     *os.File    // the file bbolt opened
	fileInfo os.FileInfo // its identity, to tell when the path names another
	abs      string      // the path, absolute
	lock     *pathLock   // the path's lock, held by a writable ledger
	path     string
	gateway  string
	created  time.Time
	readOnly bool
	refused  error // why a damaged ledger records nothing (Options.ReadOnlyWhenDamaged)
	log      *slog.Logger
	clock    clock

	maxBatch int
	maxDelay time.Duration
	// batchSize is the size a batch value is kept under, unless it holds
	// a single larger record.
	batchSize int

	q queue

	// The writer's buffers, reused from one transaction to the next (bbolt
	// keeps a value it was given only until the commit).
	values  []byte         // the transaction's batch values
	recs    [][]byte       // the records of one batch
	entries [][]byte       // the transaction's index entries
	scratch runindex.Arena // the index entries and blocks of a transaction
	// noMerge is set when a merge of the item index met damage: the
	// writer then adds runs without merging (Stats.IndexDamaged).
	noMerge bool

	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error
	dbClosed  atomic.Bool

	last     atomic.Uint64  // last committed seq
	rejected uint64         // rejected reads in the file; writer only
	lastHash [hashSize]byte // Hash of the last committed movement; writer only

	statsMu sync.Mutex
	stats   Stats
	failLog rateLog // the writer's failed transactions

	// unsafe holds the buckets (and "" for the file, "freelist") whose
	// bbolt pages the quick page check found damaged where bbolt follows
	// references: they are not read through bbolt (see pagecheck.go).
	unsafe        map[string]bool
	unsafeReasons []error

	// The tip file (tip.go): the writer's, and what Open found.
	tip         *tipFile
	loss        *Loss    // under statsMu
	lossPending bool     // the loss is not recorded yet; writer only
	tipWarn     []string // under statsMu
	// gone is set once the path no longer names the file (gone.go).
	gone atomic.Pointer[GoneError]

	obs observation // the commit observer and the writer's busy time (metrics.go)

	// swap is held for reading by every transaction (and by the writer
	// through each commit), and for writing by compaction while it puts
	// the new file in place of the old (compact.go). sideWrites counts
	// the transactions that are not the writer's (the sync cursor, the
	// master data), which compaction copies again when they changed.
	swap       sync.RWMutex
	sideWrites atomic.Uint64
	// compactMu is held by a compaction from start to end; maint is the
	// maintenance loop's (retention_maint.go), nil when it does not run.
	compactMu sync.Mutex
	maint     *maintenance

	changeMu sync.Mutex
	change   chan struct{} // closed at the next commit; nil when nobody waits
}

var _ agent.Ledger = (*Ledger)(nil)

// request is one submitted movement on its way to the writer.
type request struct {
	m   agent.Movement
	rec []byte // encoded record, nil when err is set
	// digest is the SHA-256 of the record's body and bodyCRC its CRC-32C,
	// both computed in Submit so that the writer only chains and seals.
	digest  [hashSize]byte
	bodyCRC uint32
	err     error // set when the movement is refused before writing
	done    func(agent.Movement, error)
	queued  time.Time // set on the first movement of a queue chunk only
}

// Open opens the ledger file at opts.Path for writing, creating it when
// missing, and starts the writer. It fails with ErrLocked when another
// process holds the file, with a *GatewayMismatchError when the file belongs
// to another gateway, with ErrVersion for a file of another format version
// (older or newer), with ErrNotLedger for a bbolt file that is not a ledger
// and with a *CorruptError when the last batch does not agree with the
// meta bucket.
func Open(opts Options) (*Ledger, error) {
	if opts.Path == "" {
		return nil, errors.New("bolt: open: no path")
	}
	if err := checkGateway(opts.Gateway); err != nil {
		return nil, err
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = max(DefaultQueueSize, min(2*opts.MaxBatch, 1<<16))
	}
	// A batch never holds more than the queue can.
	opts.MaxBatch = min(opts.MaxBatch, opts.QueueSize)
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.clock == nil {
		opts.clock = wallClock{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: create directory: %w", err)
	}
	abs, err := absPath(opts.Path)
	if err != nil {
		return nil, err
	}
	// The path's lock first: it holds even when the file is replaced.
	lock, err := lockPath(abs, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	if err := openCompacted(opts.Path, log); err != nil {
		lock.release()
		return nil, err
	}
	if lock.exclusive() {
		sweepCreates(opts.Path, log)
	}
	l, err := open(opts, abs, log)
	if err != nil && opts.ReadOnlyWhenDamaged && errors.Is(err, ErrCorrupt) {
		if ro, rerr := OpenReadOnly(opts.Path, opts.LockTimeout); rerr == nil {
			if ro.gateway != opts.Gateway {
				_ = ro.Close()
				lock.release()
				return nil, &GatewayMismatchError{Ledger: ro.gateway, Requested: opts.Gateway}
			}
			ro.lock, ro.log, ro.refused = lock, log, err
			log.Error("ledger damaged: it is read only, nothing is recorded, every scan is answered failed; run udi-edge verify", "path", opts.Path, "err", err)
			return ro, nil
		}
	}
	if err != nil {
		lock.release()
		return nil, err
	}
	l.lock = lock
	go l.run()
	if opts.Retention != nil {
		l.startMaintenance(*opts.Retention)
	}
	return l, nil
}

// Refused returns why a ledger opened with Options.ReadOnlyWhenDamaged
// records nothing, nil when it records.
func (l *Ledger) Refused() error { return l.refused }

// open is Open once the path's lock is held.
func open(opts Options, abs string, log *slog.Logger) (*Ledger, error) {
	if _, err := os.Stat(opts.Path); errors.Is(err, fs.ErrNotExist) {
		if err := create(opts.Path, opts.Gateway, log); err != nil {
			return nil, err
		}
	}
	bopts := &bolt.Options{
		Timeout:         opts.LockTimeout,
		InitialMmapSize: initialMmapSize,
		FreelistType:    bolt.FreelistMapType,
	}
	if opts.maxSize > 0 {
		bopts.MaxSize, bopts.InitialMmapSize = opts.maxSize, 0
	}
	db, file, err := openDB(opts.Path, bopts)
	if err != nil {
		return nil, err
	}
	l := &Ledger{
		db:        db,
		file:      file,
		path:      opts.Path,
		abs:       abs,
		gateway:   opts.Gateway,
		log:       log,
		clock:     opts.clock,
		maxBatch:  opts.MaxBatch,
		maxDelay:  opts.MaxDelay,
		batchSize: batchValueSize(db.Info().PageSize),
		stopped:   make(chan struct{}),
	}
	l.q.init(opts.QueueSize, opts.MaxBatch)
	l.failLog.interval = time.Minute
	if l.fileInfo, err = file.Stat(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", l.path, err)
	}
	if err := l.checkStructure(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if len(l.unsafe) > 0 {
		_ = db.Close()
		return nil, fmt.Errorf("bolt: open %s for writing: %w", l.path, l.unsafeError())
	}
	if err := l.tightenMode(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := l.update(&place{bucket: "meta"}, l.initMeta); err != nil {
		_ = db.Close()
		return nil, err
	}
	l.stats.LastSeq = l.last.Load()
	l.stats.RejectedTotal = l.rejected
	l.compareTip(l.hashAt)
	if l.loss != nil {
		// Nothing is written before the loss is recorded: the writer tries
		// again before its first transaction when this fails.
		l.lossPending = true
		l.log.Error("ledger loss found", "path", l.path, "err", l.loss)
		if err := l.recordLoss(); err != nil {
			l.log.Error("ledger loss not recorded yet", "path", l.path, "err", err)
		}
	} else {
		l.openTip()
	}
	log.Info("ledger opened", "path", l.path, "gateway", l.gateway, "last_seq", l.last.Load())
	return l, nil
}

// absPath returns path made absolute, its directory's symbolic links
// resolved: the name of the path's lock.
func absPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("bolt: open %s: %w", path, err)
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(dir, filepath.Base(abs))
	}
	return abs, nil
}

// hashAt returns the Hash of movement seq.
func (l *Ledger) hashAt(seq uint64) ([]byte, error) {
	m, err := l.Get(seq)
	return m.Hash, err
}

// OpenReadOnly opens an existing ledger file for reading, for example to
// trace items on a stopped agent's file. When another process holds the
// file for writing it retries until timeout has passed (once when timeout is
// not positive) and then fails with an error wrapping ErrLocked. Submit and
// Append on the returned ledger fail with ErrReadOnly.
func OpenReadOnly(path string, timeout time.Duration) (*Ledger, error) {
	if timeout <= 0 {
		timeout = time.Nanosecond
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	abs, err := absPath(path)
	if err != nil {
		return nil, err
	}
	db, file, err := openDB(path, &bolt.Options{
		Timeout:  timeout,
		ReadOnly: true,
	})
	if err != nil {
		return nil, err
	}
	l := &Ledger{
		db:       db,
		file:     file,
		path:     path,
		abs:      abs,
		readOnly: true,
		log:      slog.New(slog.DiscardHandler),
		clock:    wallClock{},
		stopped:  make(chan struct{}),
	}
	close(l.stopped)
	if err := l.checkStructure(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if l.unsafe[""] || l.unsafe[string(bucketMeta)] {
		_ = db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", l.path, l.unsafeError())
	}
	err = l.viewAt(&place{bucket: "meta"}, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: %s has no meta bucket", ErrNotLedger, path)
		}
		_, err := l.readMeta(tx, meta)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	l.compareTip(l.hashAt)
	return l, nil
}

// create makes a new ledger file at path as a whole or not at all: it is
// written and synced under a temporary name, linked to path (which fails,
// harmlessly, when another process created path meanwhile; renamed where
// the file system has no hard links) and the directory synced. A power cut during bbolt's own initialisation of a file
// can leave it unreadable; this way it can only leave a stray temporary,
// which the next Open removes (sweepCreates).
func create(path, gateway string, log *slog.Logger) error {
	tmp := filepath.Join(filepath.Dir(path), createPrefix(path)+strconv.Itoa(os.Getpid()))
	_ = os.Remove(tmp)
	defer os.Remove(tmp)
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("bolt: create %s: %w", tmp, err)
	}
	l := &Ledger{path: path, gateway: gateway, log: log}
	err = db.Update(l.initMeta)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bolt: create %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		// A file system without hard links: rename, unless path appeared.
		if _, serr := os.Stat(path); !errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("bolt: create %s: %w", path, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("bolt: create %s: %w", path, err)
		}
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("bolt: create %s: %w", path, err)
	}
	return nil
}

// createPrefix begins the name of create's temporary files, which end
// with the creating process's id.
func createPrefix(path string) string { return filepath.Base(path) + ".init-" }

// sweepCreates removes the temporary files that processes killed while
// they created the ledger at path left beside it (create removes its own
// only when it returns). The caller holds the path's lock, exclusive, so
// that no other process is creating the ledger now.
func sweepCreates(path string, log *slog.Logger) {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return
	}
	prefix := createPrefix(path)
	for _, e := range entries {
		pid, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || pid == "" || strings.Trim(pid, "0123456789") != "" || !e.Type().IsRegular() {
			continue
		}
		stale := filepath.Join(filepath.Dir(path), e.Name())
		if err := os.Remove(stale); err == nil {
			log.Info("removed the temporary file of a creation cut off", "path", stale)
		}
	}
}

// syncDir makes the directory's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// openDB opens the bbolt file at path with o, through guard: bbolt reads
// the meta pages and, for writing, the freelist while it opens, and a
// damaged freelist page makes it panic. It returns the database and the
// file bbolt opened (so that a panic does not leave the file, and its
// lock, open), or an error from openError.
func openDB(path string, o *bolt.Options) (db *bolt.DB, file *os.File, err error) {
	o.OpenFile = func(name string, flag int, mode os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, mode)
		file = f
		return f, err
	}
	err = guard(&place{bucket: "bbolt's meta and freelist pages"}, func() error {
		var err error
		db, err = bolt.Open(path, 0o600, o)
		return err
	})
	if err != nil {
		if file != nil && db == nil {
			_ = file.Close() // closed already unless bbolt panicked
		}
		return nil, nil, openError(path, err)
	}
	return db, file, nil
}

func openError(path string, err error) error {
	if errors.Is(err, bolterrors.ErrTimeout) {
		return &LockedError{Path: path}
	}
	if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) || errors.Is(err, bolterrors.ErrVersionMismatch) {
		return fmt.Errorf("bolt: open %s: %w: %w", path, ErrCorrupt, err)
	}
	return fmt.Errorf("bolt: open %s: %w", path, err)
}

func checkGateway(g string) error {
	if g == "" {
		return errors.New("bolt: open: no gateway id")
	}
	if len(g) > 255 {
		return fmt.Errorf("bolt: open: gateway id of %d bytes exceeds 255", len(g))
	}
	for _, r := range g {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("bolt: open: gateway id %q contains a control character", g)
		}
	}
	return nil
}

// tightenMode makes an existing file readable by its owner only.
func (l *Ledger) tightenMode() error {
	fi, err := os.Stat(l.path)
	if err != nil {
		return fmt.Errorf("bolt: stat %s: %w", l.path, err)
	}
	if perm := fi.Mode().Perm(); perm&^0o600 != 0 {
		if err := os.Chmod(l.path, 0o600); err != nil {
			return fmt.Errorf("bolt: chmod %s: %w", l.path, err)
		}
		l.log.Warn("ledger file mode tightened", "path", l.path, "was", perm.String())
	}
	return nil
}

// initMeta creates the buckets of a new file, or checks an existing one,
// and loads the last sequence number.
func (l *Ledger) initMeta(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		empty := true
		_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if !empty {
			return fmt.Errorf("%w: %s has buckets but no meta", ErrNotLedger, l.path)
		}
		var err error
		if meta, err = tx.CreateBucket(bucketMeta); err != nil {
			return fmt.Errorf("bolt: create meta: %w", err)
		}
		now := time.Now()
		genesis := genesisHash(l.gateway, uint64(now.UnixNano()))
		for _, kv := range [][2][]byte{
			{metaVersion, binary.BigEndian.AppendUint64(nil, FormatVersion)},
			{metaGateway, []byte(l.gateway)},
			{metaCreated, binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))},
			{metaLastSeq, make([]byte, 8)},
			{metaRejected, make([]byte, 8)},
			{metaLastHash, genesis[:]},
		} {
			if err := meta.Put(kv[0], kv[1]); err != nil {
				return fmt.Errorf("bolt: init meta: %w", err)
			}
		}
		for _, name := range [][]byte{bucketMovements, bucketRuns, bucketIndex} {
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("bolt: create %s: %w", name, err)
			}
		}
		l.log.Info("ledger created", "path", l.path, "gateway", l.gateway)
	}
	want := l.gateway
	version, err := l.readMeta(tx, meta)
	if err != nil {
		return err
	}
	if version == formatIndexTree {
		// Upgrade: the B+tree index stays as it is, new entries go to runs.
		for _, name := range [][]byte{bucketRuns, bucketIndex} {
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("bolt: upgrade to format %d: create %s: %w", FormatVersion, name, err)
			}
		}
		if err := meta.Put(metaVersion, binary.BigEndian.AppendUint64(nil, FormatVersion)); err != nil {
			return fmt.Errorf("bolt: upgrade to format %d: %w", FormatVersion, err)
		}
		l.log.Info("ledger upgraded", "path", l.path, "from_format", version, "to_format", FormatVersion)
	}
	if l.gateway != want {
		return &GatewayMismatchError{Path: l.path, Ledger: l.gateway, Requested: want}
	}
	return l.checkLastHash(tx)
}

// checkLastHash checks, before the writer chains onto it, that the meta
// bucket's last hash is the last movement's Hash (the genesis hash for an
// empty ledger). VerifyChain checks the rest of the chain.
func (l *Ledger) checkLastHash(tx *bolt.Tx) error {
	want := genesisHash(l.gateway, uint64(l.created.UnixNano()))
	if last := l.last.Load(); last > 0 {
		m, err := getMovement(tx, last)
		if err != nil {
			return err
		}
		want = [hashSize]byte(m.Hash)
	}
	if want != l.lastHash {
		return corruptf(l.last.Load(), "meta last_hash is not the hash of the last movement")
	}
	return nil
}

// readMeta loads the meta bucket into l, checks it against the movements
// bucket and returns the file's format version: FormatVersion, or
// formatIndexTree for a file not upgraded yet.
func (l *Ledger) readMeta(tx *bolt.Tx, meta *bolt.Bucket) (uint64, error) {
	u64 := func(key []byte) (uint64, error) {
		v := meta.Get(key)
		if len(v) != 8 {
			return 0, corruptf(0, "meta %s has %d bytes, want 8", key, len(v))
		}
		return binary.BigEndian.Uint64(v), nil
	}
	version, err := u64(metaVersion)
	if err != nil {
		return 0, err
	}
	if version != FormatVersion && version != formatIndexTree && version != formatRetained {
		return 0, fmt.Errorf("%w: %s has format version %d, this build reads versions %d to %d", ErrVersion, l.path, version, formatIndexTree, formatRetained)
	}
	gw := meta.Get(metaGateway)
	if len(gw) == 0 {
		return 0, corruptf(0, "meta has no gateway")
	}
	l.gateway = string(gw)
	created, err := u64(metaCreated)
	if err != nil {
		return 0, err
	}
	l.created = time.Unix(0, int64(created))
	last, err := u64(metaLastSeq)
	if err != nil {
		return 0, err
	}
	if l.rejected, err = u64(metaRejected); err != nil {
		return 0, err
	}
	if v := meta.Get(metaLastHash); len(v) == hashSize {
		l.lastHash = [hashSize]byte(v)
	} else {
		return 0, corruptf(0, "meta last_hash has %d bytes, want %d", len(v), hashSize)
	}
	mb := tx.Bucket(bucketMovements)
	if mb == nil {
		return 0, corruptf(0, "movements bucket missing")
	}
	if version == formatIndexTree && tx.Bucket(bucketItems) == nil {
		return 0, corruptf(0, "items bucket missing")
	}
	if version >= FormatVersion && (tx.Bucket(bucketRuns) == nil || tx.Bucket(bucketIndex) == nil) {
		return 0, corruptf(0, "runs or index bucket missing")
	}
	if a, cut, err := anchorIn(tx); err != nil {
		return 0, err
	} else if cut != (version == formatRetained) || cut && a.Seq > last {
		return 0, corruptf(0, "format version %d with an anchor at movement %d (last %d): a file is of version %d exactly when it has an anchor before its last movement", version, a.Seq, last, formatRetained)
	}
	if l.unsafe[string(bucketMovements)] { // read-only: Verify names the damage
		l.last.Store(last)
		return version, nil
	}
	var lastInFile uint64
	if k, v := mb.Cursor().Last(); k != nil {
		if len(k) != 8 {
			return 0, corruptf(0, "movement key of %d bytes", len(k))
		}
		b, err := parseBatch(binary.BigEndian.Uint64(k), v)
		if err == nil {
			err = b.check()
		}
		if err != nil {
			return 0, err
		}
		lastInFile = b.Last()
	}
	if lastInFile != last {
		return 0, corruptf(0, "meta last_seq %d but last movement %d", last, lastInFile)
	}
	l.last.Store(last)
	return version, nil
}

// Path returns the ledger file's path.
func (l *Ledger) Path() string { return l.path }

// Gateway returns the gateway id the ledger file belongs to.
func (l *Ledger) Gateway() string { return l.gateway }

// Created returns when the ledger file was created.
func (l *Ledger) Created() time.Time { return l.created }

// LastSeq returns the sequence number of the last committed movement, 0 for
// an empty ledger.
func (l *Ledger) LastSeq() uint64 { return l.last.Load() }

// Stats returns the ledger's counters.
func (l *Ledger) Stats() Stats {
	l.statsMu.Lock()
	s := l.stats
	l.statsMu.Unlock()
	s.LastSeq = l.last.Load()
	s.Queued = l.q.len()
	if !l.dbClosed.Load() {
		l.swap.RLock()
		ts := l.db.Stats().TxStats
		l.swap.RUnlock()
		s.WriteTime = ts.GetWriteTime()
	}
	return s
}

// Submit queues m for the next transaction; see agent.Ledger. It blocks
// while QueueSize movements are waiting. done is called exactly once:
//   - from the writer goroutine, after the transaction holding m committed,
//     with m's Gateway and Seq filled in;
//   - from the writer goroutine, with the error and Seq 0, when that
//     transaction failed;
//   - from the writer goroutine, in submission order, with an error
//     wrapping ErrInvalidMovement or ErrGatewayMismatch when the ledger
//     refuses m (no sequence number is used up);
//   - from Submit itself, before it returns, with ErrClosed after Close
//     (also when Close is called while Submit waits for room) or with
//     ErrReadOnly on a ledger opened with OpenReadOnly.
//
// done must not block and must not call Submit or Append. A nil done
// ignores the outcome.
func (l *Ledger) Submit(m agent.Movement, done func(agent.Movement, error)) {
	if done == nil {
		done = func(agent.Movement, error) {}
	}
	if l.refused != nil {
		done(m, l.refused)
		return
	}
	if l.readOnly {
		done(m, ErrReadOnly)
		return
	}
	if g := l.gone.Load(); g != nil {
		done(m, g)
		return
	}
	r := request{m: m, done: done}
	r.err = l.prepare(&r)
	if !l.q.put(r, l.clock) {
		done(m, ErrClosed)
	}
}

// prepare checks r.m, stamps the gateway and encodes the record, so that
// the writer only has to put bytes.
func (l *Ledger) prepare(r *request) error {
	m := &r.m
	if m.Gateway != "" && m.Gateway != l.gateway {
		return &GatewayMismatchError{Ledger: l.gateway, Requested: m.Gateway}
	}
	if m.Seq != 0 {
		return fmt.Errorf("%w: sequence number %d already set; the ledger assigns it", ErrInvalidMovement, m.Seq)
	}
	if len(m.PrevHash) != 0 || len(m.Hash) != 0 {
		return fmt.Errorf("%w: hashes already set; the ledger fills them", ErrInvalidMovement)
	}
	if err := checkMovement(m); err != nil {
		return err
	}
	m.Gateway = l.gateway
	rec, err := encodeUnsealed(m)
	if err != nil {
		return err
	}
	body := recordBody(rec)
	r.rec, r.digest, r.bodyCRC = rec, sha256.Sum256(body), crc32.Checksum(body, castagnoli)
	return nil
}

type appendResult struct {
	m   agent.Movement
	err error
}

// Append submits m and waits until it is durable. It returns m with Gateway
// and Seq filled in, or the error its done callback received. When ctx ends
// first it returns ctx's error; the movement may still be committed.
func (l *Ledger) Append(ctx context.Context, m agent.Movement) (agent.Movement, error) {
	ch := make(chan appendResult, 1)
	l.Submit(m, func(m agent.Movement, err error) { ch <- appendResult{m, err} })
	select {
	case r := <-ch:
		return r.m, r.err
	case <-ctx.Done():
		return agent.Movement{}, ctx.Err()
	}
}

// Close stops accepting movements (a later Submit reports ErrClosed),
// commits everything already queued, waits for the done callbacks, and
// closes the file. Calling it again returns the first call's result.
func (l *Ledger) Close() error {
	l.closeOnce.Do(func() {
		l.stopMaintenance()
		if !l.readOnly {
			l.q.close()
			<-l.stopped
		}
		l.compactMu.Lock() // a compaction under way ends first
		defer l.compactMu.Unlock()
		l.dbClosed.Store(true)
		if err := l.db.Close(); err != nil {
			l.closeErr = fmt.Errorf("bolt: close %s: %w", l.path, err)
		}
		l.tip.close()
		l.lock.release()
		if !l.readOnly {
			l.log.Info("ledger closed", "path", l.path, "last_seq", l.last.Load())
		}
	})
	return l.closeErr
}

// run is the writer goroutine.
func (l *Ledger) run() {
	defer close(l.stopped)
	// A fault reading a damaged page of the memory map becomes a panic,
	// which write's guard turns into a failed transaction.
	debug.SetPanicOnFault(true)
	for {
		batch, ok := l.q.take(l.maxDelay, l.clock)
		if !ok {
			return
		}
		l.flushTimed(batch)
		l.q.recycle(batch)
	}
}

// flush writes the valid movements of batch in one transaction and then
// calls every done callback in order.
func (l *Ledger) flush(batch []request) {
	valid, rejected := 0, uint64(0)
	for i := range batch {
		if batch[i].err == nil {
			valid++
			if batch[i].m.Kind == agent.KindReject {
				rejected++
			}
		}
	}
	var (
		commit time.Duration
		err    error
	)
	if valid > 0 {
		commit, err = l.commit(batch, rejected, valid)
		l.statsMu.Lock()
		if err != nil {
			l.stats.Failed += uint64(valid)
		} else {
			l.stats.Transactions++
			l.stats.Movements += uint64(valid)
			l.stats.Rejected += rejected
			l.stats.RejectedTotal = l.rejected
			l.stats.CommitTime += commit
			l.stats.MaxBatch = max(l.stats.MaxBatch, valid)
		}
		l.stats.IndexDamaged = l.noMerge
		l.stats.Invalid += uint64(len(batch) - valid)
		l.statsMu.Unlock()
		l.observe(batch, commit, err)
		if err != nil {
			if ok, skipped := l.failLog.allow(time.Now()); ok {
				l.log.Error("ledger transaction failed", "movements", valid, "err", err, "failures_not_logged", skipped)
			}
		} else {
			l.log.Debug("ledger transaction committed", "movements", valid, "last_seq", l.last.Load(), "commit", commit)
		}
	} else {
		l.statsMu.Lock()
		l.stats.Invalid += uint64(len(batch))
		l.statsMu.Unlock()
	}
	for i := range batch {
		r := &batch[i]
		switch {
		case r.err != nil:
			r.done(r.m, r.err)
		case err != nil:
			r.m.Seq, r.m.PrevHash, r.m.Hash = 0, nil, nil
			r.done(r.m, err)
		default:
			r.done(r.m, nil)
		}
	}
}

// commit writes the valid movements of batch in one transaction, after
// recording a ledger loss Open found, and before it is answered checks
// that the file is still the ledger's and updates the tip.
func (l *Ledger) commit(batch []request, rejected uint64, valid int) (time.Duration, error) {
	if g := l.gone.Load(); g != nil {
		return 0, g
	}
	l.swap.RLock() // the file compaction puts in place is written only once it is
	defer l.swap.RUnlock()
	if l.lossPending {
		if err := l.recordLoss(); err != nil {
			return 0, err
		}
	}
	commit, err := l.guardedWrite(batch, rejected, valid)
	if mb := (*mergeBlocked)(nil); errors.As(err, &mb) {
		// Derived data must not stop the recording of movements.
		l.noMerge = true
		l.log.Error("item index damaged where a merge reads it: merging stopped; movements are still recorded and indexed; run udi-edge verify", "err", mb.err)
		commit, err = l.guardedWrite(batch, rejected, valid)
	}
	if err != nil {
		return 0, err
	}
	// Never answer accepted into a file the path no longer names.
	if err := l.checkGone(); err != nil {
		return 0, err
	}
	l.updateTip(time.Now())
	return commit, nil
}

// guardedWrite is write through guard: a panic inside bbolt (a damaged
// page on the writer's path) fails the transaction with a *CorruptError
// naming the movements it held, and the writer goes on with the next.
func (l *Ledger) guardedWrite(batch []request, rejected uint64, valid int) (commit time.Duration, err error) {
	first := l.last.Load() + 1
	p := &place{}
	p.at("movements", first, first+uint64(valid)-1)
	err = guard(p, func() error {
		var err error
		commit, err = l.write(batch, rejected)
		return err
	})
	return commit, err
}

// write puts the valid movements of batch (rejected of which are rejected
// reads) in one transaction and commits it, assigning sequence numbers and
// chaining each movement to the one before (its PrevHash and Hash are
// sealed into its record). The records go into batch values of at most
// l.batchSize bytes, each under the sequence number of its first movement;
// the index entries of every movement with an item key go, sorted, into
// one new run of the item index. On error nothing is advanced.
func (l *Ledger) write(batch []request, rejected uint64) (time.Duration, error) {
	tx, err := l.db.Begin(true)
	if err != nil {
		return 0, fmt.Errorf("bolt: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after a commit

	mb, meta := tx.Bucket(bucketMovements), tx.Bucket(bucketMeta)
	if mb == nil || meta == nil {
		return 0, corruptf(0, "meta or movements bucket missing")
	}
	// The file must be where the last commit left it: when bbolt fell
	// back to the older meta page (the newer one damaged), chaining on
	// would number over the lost transaction.
	if v := meta.Get(metaLastSeq); len(v) != 8 || binary.BigEndian.Uint64(v) != l.last.Load() {
		return 0, corruptf(0, "meta last_seq is %s, but the last movement committed is %d: a committed transaction is gone from the file (a damaged meta page?)", hexKey(v), l.last.Load())
	}
	mb.FillPercent = 1.0
	// bbolt holds nothing of the arena since the last commit ended.
	l.scratch.Reset()
	entries := l.entries[:0]
	defer func() { clear(entries); l.entries = entries[:0] }()
	first := l.last.Load() + 1
	seq := first - 1
	key := make([]byte, 8)
	prev := l.lastHash

	// The batch values, built in one buffer of the exact size: bbolt keeps
	// each value (not a copy) until the commit.
	l.values = slices.Grow(l.values[:0], l.valuesSize(batch))
	recs, size := l.recs[:0], 0
	put := func() error {
		start := len(l.values)
		l.values = appendBatch(l.values, recs)
		binary.BigEndian.PutUint64(key, first)
		if err := mb.Put(key, l.values[start:]); err != nil {
			return fmt.Errorf("bolt: put movements %d to %d: %w", first, seq, err)
		}
		clear(recs)
		recs, size, first = recs[:0], 0, seq+1
		return nil
	}
	for i := range batch {
		r := &batch[i]
		if r.err != nil {
			continue
		}
		if len(recs) > 0 && size+batchEntry+len(r.rec) > l.batchSize {
			if err := put(); err != nil {
				return 0, err
			}
		}
		if len(recs) == 0 {
			size = batchFixed
		}
		seq++
		r.m.Seq = seq
		hash := chainHash(seq, &prev, &r.digest)
		sealRecord(r.rec, r.bodyCRC, &prev, &hash)
		n := len(r.rec)
		r.m.PrevHash = r.rec[n-recordTail : n-recordTail+hashSize : n-recordTail+hashSize]
		r.m.Hash = r.rec[n-recordTail+hashSize : n-crcSize : n-crcSize]
		prev = hash
		recs = append(recs, r.rec)
		size += batchEntry + len(r.rec)
		entries = indexEntries(entries, &r.m, seq, &l.scratch)
	}
	if err := put(); err != nil {
		return 0, err
	}
	l.recs = recs
	// Serials received in order come sorted already: a linear pass.
	slices.SortFunc(entries, bytes.Compare)
	x := l.index(tx, &l.scratch)
	add := x.Add
	if l.noMerge {
		add = x.AddRun
	}
	// A damaged page of the index is damage to derived data, like a
	// damaged block: it must not stop the recording of movements.
	if err := guard(&place{bucket: "item index"}, func() error { return add(entries) }); err != nil {
		if !l.noMerge && (errors.Is(err, runindex.ErrCorrupt) || errors.Is(err, ErrCorrupt)) {
			return 0, &mergeBlocked{indexErr(err)}
		}
		return 0, fmt.Errorf("bolt: index movements %d to %d: %w", l.last.Load()+1, seq, indexErr(err))
	}
	binary.BigEndian.PutUint64(key, seq)
	if err := meta.Put(metaLastSeq, key); err != nil {
		return 0, fmt.Errorf("bolt: put last_seq: %w", err)
	}
	if err := meta.Put(metaRejected, binary.BigEndian.AppendUint64(nil, l.rejected+rejected)); err != nil {
		return 0, fmt.Errorf("bolt: put rejected count: %w", err)
	}
	if err := meta.Put(metaLastHash, bytes.Clone(prev[:])); err != nil {
		return 0, fmt.Errorf("bolt: put last_hash: %w", err)
	}
	start := time.Now()
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("bolt: commit: %w", err)
	}
	l.last.Store(seq)
	l.rejected += rejected
	l.lastHash = prev
	l.changed()
	return time.Since(start), nil
}

// valuesSize returns the bytes of the batch values write makes of the
// valid movements of batch: the records, an end per record, and a fixed
// header per batch, split as write splits them.
func (l *Ledger) valuesSize(batch []request) int {
	total, size, n := 0, 0, 0
	for i := range batch {
		r := &batch[i]
		if r.err != nil {
			continue
		}
		if n > 0 && size+batchEntry+len(r.rec) > l.batchSize {
			total, size, n = total+size, 0, 0
		}
		if n == 0 {
			size = batchFixed
		}
		size += batchEntry + len(r.rec)
		n++
	}
	return total + size
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq) }

// findBatch positions c on the batch that holds seq, if any: the batch
// stored under seq, or else the one before it. It returns the batch (not
// checked beyond parseBatch) and false when no batch starts at or before
// seq.
func findBatch(c *bolt.Cursor, seq uint64) (batch, bool, error) {
	k, v := seekBatch(c, seq)
	if k == nil || len(k) == 8 && binary.BigEndian.Uint64(k) > seq { // every batch starts after seq
		return batch{}, false, nil
	}
	b, err := nextBatch(k, v)
	return b, err == nil, err
}

// getMovement returns the movement with sequence number seq from the
// movements bucket of tx: a seek to its batch and a constant-time lookup
// in the batch's header. It returns an error wrapping ErrNotFound when seq
// is not in the file, and a *CorruptError when the batch or the record is
// damaged or the batch does not hold a movement the meta bucket says
// exists.
func getMovement(tx *bolt.Tx, seq uint64) (agent.Movement, error) {
	notFound := func() error {
		if last := tx.Bucket(bucketMeta).Get(metaLastSeq); len(last) == 8 && seq <= binary.BigEndian.Uint64(last) {
			return corruptf(seq, "missing from the file")
		}
		return fmt.Errorf("bolt: movement %d: %w", seq, ErrNotFound)
	}
	if seq == 0 {
		return agent.Movement{}, fmt.Errorf("bolt: movement %d: %w", seq, ErrNotFound)
	}
	b, ok, err := findBatch(tx.Bucket(bucketMovements).Cursor(), seq)
	if err != nil {
		return agent.Movement{}, err
	}
	if !ok {
		if m, cut, err := notLive(tx, seq); cut {
			return m, err
		}
		return agent.Movement{}, notFound()
	}
	if seq > b.Last() {
		if err := b.check(); err != nil {
			return agent.Movement{}, err
		}
		return agent.Movement{}, notFound()
	}
	return b.movement(seq)
}

// Get returns the movement with sequence number seq, or an error wrapping
// ErrNotFound, or a *CorruptError.
func (l *Ledger) Get(seq uint64) (agent.Movement, error) {
	var m agent.Movement
	if err := l.safe(bucketMovements, bucketCarried); err != nil {
		return m, err
	}
	p := &place{}
	p.at("movements", seq, 0)
	err := l.viewAt(p, func(tx *bolt.Tx) error {
		var err error
		m, err = getMovement(tx, seq)
		return err
	})
	return m, err
}

// Trace returns the movements of the item with the given key, oldest first,
// found through the item index. A key that names no item returns an empty
// slice. A damaged record or index entry returns a *CorruptError.
func (l *Ledger) Trace(ctx context.Context, key string) ([]agent.Movement, error) {
	out := []agent.Movement{}
	if key == "" {
		return out, nil
	}
	if err := l.safe(bucketIndex, bucketRuns, bucketItems, bucketMovements, bucketCarried); err != nil {
		return nil, err
	}
	prefix := append([]byte(key), 0)
	p := &place{bucket: "item index"}
	err := l.viewAt(p, func(tx *bolt.Tx) error {
		var seqs []uint64
		err := l.lookupIndex(tx, prefix, func(e []byte) error {
			if len(e) != len(prefix)+8 {
				return nil // the entry of a longer key that starts with key and a NUL
			}
			seqs = append(seqs, binary.BigEndian.Uint64(e[len(prefix):]))
			return nil
		})
		if err != nil {
			return err
		}
		slices.Sort(seqs)
		out = slices.Grow(out, len(seqs))
		for i, seq := range seqs {
			if i%256 == 255 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			p.at("movements", seq, 0)
			m, err := getIndexed(tx, seq, key)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TracePrefix returns the movements of every item whose key starts with
// prefix (for example "(01)09520123456788": every serial of one GTIN),
// oldest first, at most limit of them (the oldest; no limit when limit is
// not positive). An empty prefix returns an empty slice.
func (l *Ledger) TracePrefix(ctx context.Context, prefix string, limit int) ([]agent.Movement, error) {
	out := []agent.Movement{}
	if prefix == "" {
		return out, nil
	}
	if err := l.safe(bucketIndex, bucketRuns, bucketItems, bucketMovements, bucketCarried); err != nil {
		return nil, err
	}
	pre := []byte(prefix)
	p := &place{bucket: "item index"}
	err := l.viewAt(p, func(tx *bolt.Tx) error {
		var seqs []uint64
		err := l.lookupIndex(tx, pre, func(e []byte) error {
			if len(seqs)%1024 == 1023 {
				if err := ctx.Err(); err != nil {
					return err
				}
				runtime.Gosched() // see yield
			}
			seq, err := indexSeq(e, len(pre)+1)
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
			return nil
		})
		if err != nil {
			return err
		}
		slices.Sort(seqs)
		seqs = slices.Compact(seqs) // a movement whose item and tag share the prefix
		if limit > 0 && len(seqs) > limit {
			seqs = seqs[:limit]
		}
		out = slices.Grow(out, len(seqs))
		for i, seq := range seqs {
			yield(i)
			p.at("movements", seq, 0)
			m, err := getIndexed(tx, seq, "")
			if err != nil {
				return err
			}
			if !strings.HasPrefix(m.Item, prefix) && !strings.HasPrefix(m.Tag, prefix) {
				return corruptf(seq, "indexed under prefix but item differs")
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// getIndexed loads the movement an index entry points at and, when item is
// not empty, checks it belongs to that item or names that tag.
func getIndexed(tx *bolt.Tx, seq uint64, item string) (agent.Movement, error) {
	m, err := getMovement(tx, seq)
	if errors.Is(err, ErrNotFound) {
		return agent.Movement{}, corruptf(seq, "indexed but missing")
	}
	if err != nil {
		return agent.Movement{}, err
	}
	if item != "" && m.Item != item && m.Tag != item {
		return agent.Movement{}, corruptf(seq, "indexed under another item")
	}
	return m, nil
}

// Range calls fn for each movement from sequence number from on, in
// sequence order, until fn returns an error (which Range returns) or no
// movement is left. Movements are read in chunks, each in its own short read
// transaction, and fn is called outside any transaction, so a slow fn does
// not hold up the writer; movements committed while Range runs are
// included. After retention, the movements before the anchor that were
// carried come first (see Anchor). A damaged batch or record returns a
// *CorruptError.
func (l *Ledger) Range(from uint64, fn func(agent.Movement) error) error {
	if err := l.safe(bucketMovements, bucketCarried); err != nil {
		return err
	}
	next, err := l.rangeCarried(max(from, 1), fn)
	if err != nil {
		return err
	}
	chunk := make([]agent.Movement, 0, rangeChunk)
	p := &place{}
	for {
		chunk = chunk[:0]
		p.at("movements", next, 0)
		err := l.viewAt(p, func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketMovements).Cursor()
			b, ok, err := findBatch(c, next)
			if err != nil {
				return err
			}
			if !ok { // no batch starts at or before next: begin at the first
				k, v := c.First()
				if k == nil {
					return nil
				}
				if b, err = nextBatch(k, v); err != nil {
					return err
				}
			}
			for {
				p.at("movements", b.First, b.Last())
				if err := b.check(); err != nil {
					return err
				}
				for seq := max(next, b.First); seq <= b.Last(); seq++ {
					if len(chunk) == rangeChunk {
						return nil
					}
					rec, _ := b.Record(int(seq - b.First)) // in bounds: check passed
					m, err := decodeRecord(seq, rec)
					if err != nil {
						return err
					}
					chunk = append(chunk, m)
				}
				p.at("movements", b.Last()+1, 0)
				k, v := c.Next()
				if k == nil {
					return nil
				}
				if b, err = nextBatch(k, v); err != nil {
					return err
				}
			}
		})
		if err != nil {
			return err
		}
		for _, m := range chunk {
			if err := fn(m); err != nil {
				return err
			}
		}
		if len(chunk) < rangeChunk {
			return nil
		}
		next = chunk[len(chunk)-1].Seq + 1
	}
}

// nextBatch parses the batch a cursor stepped to.
func nextBatch(k, v []byte) (batch, error) {
	if len(k) != 8 {
		return batch{}, corruptf(0, "movement key of %d bytes", len(k))
	}
	return parseBatch(binary.BigEndian.Uint64(k), v)
}
