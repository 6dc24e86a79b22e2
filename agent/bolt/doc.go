// Package bolt is the gateway's durable, append-only ledger of movements,
// kept in one bbolt file. It implements agent.Ledger.
//
// One writer goroutine owns every write. Submit queues a movement; the
// writer gathers queued movements into one transaction (what queued while
// it was busy, up to MaxBatch; with a MaxDelay set, it first waits that
// long after the first of them), assigns each the next sequence number,
// commits, and only then reports each movement to its done callback. Under
// load the transactions grow by themselves, so one pair of fdatasyncs is
// shared by thousands of movements; at a trickle each movement is
// committed at once.
//
// The file holds the buckets "meta" (format version, gateway id, created
// time, last sequence number, rejected count, last hash, the item index's
// state), "movements" (batches: the records of consecutive movements of
// one transaction, about 8 KiB at most, stored under the 8-byte
// big-endian sequence number of the first of them), and the item index
// (item key, 0x00, 8-byte sequence number) kept by agent/runindex as
// sorted runs in "runs" and "index" (index.go). Each record keeps its own
// checksum. Trace is a seek in each run of the index, Get one seek to the
// batch and a constant-time lookup in its header, and Range, which the
// outbox reads, a walk in sequence order. The writer does a few puts per
// batch of records and per run of index entries, not one per movement.
// firmware-notes/ledger.md describes the layout and the encodings.
//
// The movements form a hash chain: each record holds the Hash of the
// movement before it and its own Hash, which covers its content, its
// sequence number and that PrevHash (chain.go). VerifyChain recomputes the
// chain and names the first movement that was changed, removed, inserted
// or reordered after it was written.
//
// Retention (retention.go) takes the movements the centre has
// acknowledged and that are older than a horizon out of the file, as a
// cut before an anchor recorded in the meta bucket; the movements of
// items the stock or the checks still need are carried (bucket
// "carried"), those of items whose life ended leave a tombstone (bucket
// "retained"); which they are, the gateway's folds say (Folds, answered
// by agent/bolt/carry, which the agent hands the ledger: this package
// imports neither the stock nor the lifecycle). Compaction (compact.go)
// makes the cut, writing the file
// anew while the writer goes on and swapping it in: bbolt never shrinks
// its file. Opened with Options.Retention, the ledger does both by
// itself and keeps to a disk budget. firmware-notes/retention.md has the
// design and the figures.
//
// A damaged file is an error, never a crash: every transaction runs
// through one guard (guard.go) that turns bbolt's panics and faults into
// a *CorruptError naming where it was reading, and Open, OpenReadOnly and
// Verify check bbolt's own pages without bbolt (pagecheck.go). A tip file
// beside the ledger (tip.go) keeps the last committed movement, so that a
// transaction bbolt lost by falling back to its older meta page shows
// (Loss). A writable ledger holds a lock on its path that deleting the
// file does not release, and refuses every movement once the path no
// longer names its file (gone.go).
//
// What the package must never do:
//   - lose a movement it reported as accepted: done reports success only
//     after the transaction holding the movement has committed, and bbolt
//     fdatasyncs every commit (NoSync is never set);
//   - answer accepted into a file the ledger's path no longer names, or
//     number over committed movements the file lost without recording the
//     loss;
//   - panic, fault or loop on a damaged file;
//   - rewrite or delete a movement: the ledger only appends, and a sequence
//     number, once committed, names the same record for ever. The one
//     exception is retention (retention.go): movements the centre has
//     acknowledged, older than the horizon (or past the disk budget) and
//     that no fold of the gateway still needs leave the file, whole and
//     in sequence, behind an anchor from which the chain verifies; a
//     sequence number is never reused;
//   - log item or patient data at info level or above: its log lines carry
//     counts, sequence numbers, durations, the file's path and the gateway
//     id, and its errors name sequence numbers, not item keys.
package bolt
