-- Migration 3: the index of the products each site received.
--
-- One row per product a site's gateways received (a movement of kind
-- receive, on any ledger and branch: central.ReceivedProduct), so that
-- Store.ReceivedProducts reads this btree instead of every movement.
-- Append inserts the rows of the receives it stores in its transaction.
-- The rows of the movements held before this migration are inserted by
-- the migration's own step in Go (pgstore's migrationSteps), which
-- decodes every record once, in this migration's transaction: once its
-- version is recorded, the index is whole. Products are bytea, as trace
-- keys are: an item key, and so a product key read from it, may hold any
-- byte.
CREATE TABLE received_products (
    site    text COLLATE "C" NOT NULL,
    product bytea NOT NULL,
    PRIMARY KEY (site, product)
);
