-- Migration 2: branches of a ledger, and the gateways' counters.
--
-- A ledger (gateway, created) may hold several histories: when a gateway
-- sends movements that link to what the centre holds but differ from it
-- from some movement on (its ledger file restored from a backup and
-- written on), the centre keeps both and stores the new one as a branch.
-- Each branch is a row of ledgers, with its own id, so that movements
-- and trace_keys, keyed by that id, need no change. Branch 0 is the
-- first history; a branch holds its own movements fork .. seq, and its
-- history before fork is its parent's. held is the Hash of the parent's
-- movement fork (what the branch differs from), forked_at when the
-- conflict was recorded. Append locks the row of branch 0 of a ledger,
-- so that the appends to every branch of it are serialised.
ALTER TABLE ledgers
    ADD COLUMN branch    integer NOT NULL DEFAULT 0 CHECK (branch >= 0),
    ADD COLUMN parent    integer NOT NULL DEFAULT 0 CHECK (parent >= 0),
    ADD COLUMN fork      bigint NOT NULL DEFAULT 1 CHECK (fork >= 1),
    ADD COLUMN held      bytea CHECK (octet_length(held) = 32),
    ADD COLUMN forked_at timestamptz,
    ADD CONSTRAINT ledgers_branch_record_check CHECK (
        branch = 0 AND parent = 0 AND fork = 1 AND held IS NULL AND forked_at IS NULL
        OR branch > 0 AND parent < branch AND held IS NOT NULL AND forked_at IS NOT NULL);
ALTER TABLE ledgers DROP CONSTRAINT ledgers_gateway_created_key;
ALTER TABLE ledgers ADD CONSTRAINT ledgers_gateway_created_branch_key UNIQUE (gateway, created, branch);

-- The totals of each gateway's counters (the service's Counters, by
-- their JSON names). Every instance adds what it counted to the same
-- rows, so the totals are those of every instance together.
CREATE TABLE gateway_counters (
    site    text COLLATE "C" NOT NULL,
    gateway text COLLATE "C" NOT NULL,
    name    text COLLATE "C" NOT NULL,
    total   bigint NOT NULL CHECK (total >= 0),
    PRIMARY KEY (site, gateway, name)
);
