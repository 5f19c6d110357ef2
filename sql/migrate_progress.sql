-- Progress of non-transactional migrations, one row per finished (or
-- started) statement, so that an interrupted run resumes at the first
-- statement that did not finish. Rows are deleted together with the
-- migration's ledger row. A cf_sql_format template: Q is the table.
CREATE TABLE IF NOT EXISTS %Q (
    version VARCHAR(255) NOT NULL,
    direction TEXT NOT NULL,
    stmt_index INTEGER NOT NULL,
    checksum VARCHAR(64) NOT NULL,
    state TEXT NOT NULL,
    pid INTEGER,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (version, direction, stmt_index)
)
