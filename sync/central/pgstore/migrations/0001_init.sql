-- Migration 1: the first schema of udi-central's PostgreSQL store.
--
-- Gateway and site ids sort by byte ("C" collation), as Store.Ledgers and
-- Store.Trace order them, whatever the database's default collation.
-- Trace keys are bytea: an item key may hold any byte, NUL included,
-- which text cannot.

-- Each ledger of a gateway (a re-created ledger file is a new one) and
-- its head: every movement 1 .. seq is held, hash is movement seq's Hash
-- (the genesis hash while seq is 0), site is the site its movements were
-- first stored under ('' until then). Append locks this row.
CREATE TABLE ledgers (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gateway text COLLATE "C" NOT NULL,
    created bigint NOT NULL,
    site    text COLLATE "C" NOT NULL,
    seq     bigint NOT NULL CHECK (seq >= 0),
    hash    bytea NOT NULL CHECK (octet_length(hash) = 32),
    UNIQUE (gateway, created)
);

-- Every movement exactly as the gateway sealed it (agent/record), with
-- its chain hashes, so that the chain can be checked in SQL.
CREATE TABLE movements (
    ledger    bigint NOT NULL,
    seq       bigint NOT NULL CHECK (seq >= 1),
    prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash      bytea NOT NULL CHECK (octet_length(hash) = 32),
    record    bytea NOT NULL,
    PRIMARY KEY (ledger, seq)
);

-- The item and tag keys of every movement: a trace reads this btree.
CREATE TABLE trace_keys (
    key    bytea NOT NULL,
    ledger bigint NOT NULL,
    seq    bigint NOT NULL,
    PRIMARY KEY (key, ledger, seq)
);

-- The last version of each master data set published for a site.
CREATE TABLE master_versions (
    site    text COLLATE "C" NOT NULL,
    set     text COLLATE "C" NOT NULL,
    version bigint NOT NULL CHECK (version >= 1),
    PRIMARY KEY (site, set)
);
