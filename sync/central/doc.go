// Package central is the reference central inventory service of udi-edge:
// the centre's side of the sync protocol (sync/PROTOCOL.md). It receives
// every gateway's movements over MQTT, checks them record by record and
// link by link against the hash chain the gateway built, stores them
// durably, and only then acknowledges them; it asks again for whatever is
// missing or does not check, keeps per-gateway counters and the gateways'
// online state, publishes master data, and answers traces of an item
// across every gateway over a small HTTP JSON API.
//
// # Parts
//
//   - Store is where movements live, keyed by (gateway, created, branch,
//     seq): a ledger that a gateway re-created (a new created) is a new
//     chain, never mixed with the old one, and a second history of one
//     ledger (its file restored from a backup and written on) is a branch
//     of it, both kept (Conflict). sync/central/boltstore implements it
//     in one bbolt file (movements in values of consecutive records, the
//     item and tag index a log-structured merge of sorted runs, so that
//     an append writes few pages however large the file), for one
//     instance; sync/central/pgstore in a PostgreSQL database, which
//     several instances share. PlaceAppend holds the rules every
//     implementation applies inside its append transaction, and
//     sync/central/storetest is the suite every implementation passes.
//   - Service subscribes (QoS 1) to udi/v1/{site}/+/movements, or the
//     shared subscription $share/udi-central/udi/v1/{site}/+/movements,
//     and to udi/v1/{site}/+/status. Each batch is decoded (sync/wire),
//     matched against its topic, every record checked with
//     agent/record.Check and linked (PrevHash of seq = Hash of seq-1, the
//     genesis hash of gateway and created for movement 1), appended, and
//     then acknowledged with a retained ack of the highest contiguous
//     sequence number and its hash. A gap, a bad record or a broken chain
//     is answered with a resend from the next expected movement, at most
//     once per gateway, ledger and expected movement until progress or
//     Config.ResendTimeout. Batches of one gateway are handled by one
//     worker in arrival order; different gateways in parallel. When a
//     gateway's batches queue up (a backlog drains), the worker checks
//     those that continue one another against the head they extend and
//     stores them in one Append, one fsync for all, then acknowledges each;
//     any batch that does not continue, or does not check, is handled on
//     its own after them, and a group the Store refuses is handled batch
//     by batch, so acks and resends are those of one batch at a time.
//   - Conn is the small MQTT interface the Service needs; MQTT implements
//     it with paho (reconnecting, subscribing again on every connect).
//   - PublishMaster publishes a master data file as the next version of
//     its set (the publication time in milliseconds, or one more than the
//     last kept in the Store, so it increases across restarts and
//     re-created stores), in parts that each fit in one MQTT packet of the
//     broker's limit, retained at QoS 1 on udi/v1/{site}/master/{set}/{i},
//     once it reads as every gateway reads it (agent/master's rules: no
//     bad row unless partial, no empty file unless allowed, converted to
//     UTF-8), so that what gateways refuse never replaces a good retained
//     version.
//   - Service.Handler serves GET /healthz, GET /v1/trace?code=KEY (patient
//     identifiers only with include_patient=1), GET /v1/gateways and
//     POST /v1/master.
//
// # Embedding
//
// cmd/udi-central wires these for production; another process (a demo, a
// test) does the same in a few lines. Subscribe before connecting, so
// that no message of a persistent session arrives before its handler,
// and close in the reverse order:
//
//	st, err := boltstore.Open(path)
//	mq, err := central.NewMQTT(central.MQTTConfig{Brokers: []string{"tcp://127.0.0.1:1883"}, ClientID: "udi-central-1"})
//	svc, err := central.NewService(central.Config{Sites: []string{"st-marys"}, Store: st, Conn: mq, Logger: log})
//	err = svc.Start(ctx)  // records the subscriptions
//	err = mq.Connect(ctx) // subscribes, then batches flow
//	http.ListenAndServe(addr, svc.Handler())
//	...
//	mq.Close(); svc.Close(); st.Close()
//
// With an embedded broker, any Conn will do: an adapter of two methods over
// the broker's in-process client avoids the network altogether.
//
// # Scaling out
//
// One instance with a bbolt store serves a hospital. Past one machine:
//
//   - Several instances subscribe with the shared subscription
//     (Config.Shared, udi-central run --shared) on a broker cluster
//     (Mosquitto bridges, EMQX, HiveMQ): the broker deals each batch to
//     one of them. Status is subscribed by every instance.
//   - The instances share one PostgreSQL database (sync/central/pgstore,
//     udi-central run --store postgres://...): tables ledgers (each
//     ledger's head, by id, gateway and created), movements (ledger, seq,
//     prev_hash, hash, record), trace_keys (key, ledger, seq: the btree a
//     trace reads) and master_versions (site, set, version), created and
//     migrated by the store (schema_version). Append runs in one
//     transaction that locks the ledger's row (SELECT ... FOR UPDATE, the
//     row inserted first when absent), applies PlaceAppend against the
//     heads of its branches, inserts the new movements and keys and moves the head;
//     NextMasterVersion is one upsert. A bbolt file cannot be shared:
//     udi-central run --shared refuses one unless forced.
//
// Per-gateway order still holds although a gateway's batches may reach
// different instances in any order: an instance never trusts the head it
// read before appending, and a batch refused for a gap reads the head
// again before the gateway is asked to resend (another instance may have
// stored the missing movements meanwhile). The store's append, serialised
// per ledger, accepts only movements that continue the head it holds
// (else ErrGap, and that instance asks for a resend), compares any
// overlap hash by hash and links the first new movement to the head's
// hash (ErrChain); a duplicate delivery changes nothing, and movements
// that differ from what is held but link to it are a branch, stored
// once. So the stored chain of each branch is always contiguous and
// identical to the history the gateway sent, whichever instance stored
// which part. The
// retained ack two instances publish may briefly step back (an older ack
// published after a newer one); gateways never move their cursor back,
// and the next ack corrects it.
//
// # What it must never do
//
//   - Acknowledge a movement before it is durably stored, or acknowledge a
//     sequence number beyond the contiguous, checked head.
//   - Store a movement that fails its checks, replace or delete a stored
//     movement, or mix the chains of two ledgers of one gateway.
//   - Log a movement's content: log lines carry ids, sequence numbers,
//     counts and reasons, never an item's patient (nor any other field of
//     a movement). The HTTP API shows patients only when asked.
package central
