-- The ledger (tracking table), identical to the Python precursor's so that
-- either tool can read what the other wrote. A cf_sql_format template: the
-- Q markers are the table, the I markers the index names.
CREATE TABLE %Q (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    pk_confiture BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    slug TEXT NOT NULL UNIQUE,
    version VARCHAR(255) NOT NULL UNIQUE,
    name VARCHAR(255) NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    execution_time_ms INTEGER,
    checksum VARCHAR(64),
    applied_by TEXT
);
CREATE INDEX %I ON %Q (pk_confiture);
CREATE INDEX %I ON %Q (slug);
CREATE INDEX %I ON %Q (version);
CREATE INDEX %I ON %Q (applied_at DESC);
