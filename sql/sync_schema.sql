-- sync_schema.sql: what sync keeps in the target, in schema "confiture".
--   sync_history   one row per run: who, when, from where (password masked),
--                  tables, rows, duration and outcome
--   sync_progress  the items of a run (a table, or one primary-key range of
--                  a split table); an item turns "done" in the same
--                  transaction that loads it, so --resume knows what is done
--   sync_restore   foreign keys dropped and triggers disabled while loading,
--                  until the run (or its guard process, or the next run) puts
--                  them back; state "added": a foreign key back but NOT VALID,
--                  waiting to be validated
CREATE SCHEMA IF NOT EXISTS confiture;
CREATE TABLE IF NOT EXISTS confiture.sync_history (
    run_id uuid PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    run_by text NOT NULL,
    source text NOT NULL,
    target_env text,
    tables text[] NOT NULL DEFAULT '{}',
    n_tables integer NOT NULL DEFAULT 0,
    rows bigint NOT NULL DEFAULT 0,
    bytes bigint NOT NULL DEFAULT 0,
    duration_s double precision,
    anonymized boolean NOT NULL,
    outcome text NOT NULL,
    error text,
    resumed_from uuid,
    rules_sha256 text,
    confiture_version text
);
CREATE TABLE IF NOT EXISTS confiture.sync_progress (
    run_id uuid NOT NULL,
    item text NOT NULL,
    table_name text NOT NULL,
    range_no integer NOT NULL DEFAULT -1,
    range_lo text,
    range_hi text,
    state text NOT NULL DEFAULT 'pending',
    rows bigint,
    bytes bigint,
    duration_s double precision,
    finished_at timestamptz,
    PRIMARY KEY (run_id, item)
);
CREATE TABLE IF NOT EXISTS confiture.sync_restore (
    kind text NOT NULL,
    table_name text NOT NULL,
    name text NOT NULL,
    definition text NOT NULL,
    run_id uuid NOT NULL,
    PRIMARY KEY (kind, table_name, name)
);
ALTER TABLE confiture.sync_restore ADD COLUMN IF NOT EXISTS state text NOT NULL DEFAULT 'dropped';
-- sync_table_state: per table, what the target holds, so that an incremental
-- sync can compare row versions: the source table it came from (cluster,
-- database, oid, file node), how it was copied (a hash of columns, key,
-- subset and rules), and the source snapshot it was read in.
CREATE TABLE IF NOT EXISTS confiture.sync_table_state (
    table_name text PRIMARY KEY,
    source_id text NOT NULL,
    shape text NOT NULL,
    snapshot text NOT NULL,
    is_complete boolean NOT NULL,
    run_id uuid NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- source_deletes: the source's statistics count of deleted rows at that
-- sync; unchanged, the next incremental sync first tries the cheap check
-- that no key went (a hint only: statistics may be reset or lag).
ALTER TABLE confiture.sync_table_state ADD COLUMN IF NOT EXISTS source_deletes bigint;
-- target_bound: "L:X", the target's own row versions at that sync (X wrote
-- the table's rows; another xmin at or past L is a row written in the
-- target since, which the next incremental sync takes from the source again).
ALTER TABLE confiture.sync_table_state ADD COLUMN IF NOT EXISTS target_bound text;
ALTER TABLE confiture.sync_history ADD COLUMN IF NOT EXISTS mode text NOT NULL DEFAULT 'full';
ALTER TABLE confiture.sync_history ADD COLUMN IF NOT EXISTS added bigint;
ALTER TABLE confiture.sync_history ADD COLUMN IF NOT EXISTS updated bigint;
ALTER TABLE confiture.sync_history ADD COLUMN IF NOT EXISTS deleted bigint;
ALTER TABLE confiture.sync_history ADD COLUMN IF NOT EXISTS unchanged bigint;
ALTER TABLE confiture.sync_progress ADD COLUMN IF NOT EXISTS added bigint;
ALTER TABLE confiture.sync_progress ADD COLUMN IF NOT EXISTS updated bigint;
ALTER TABLE confiture.sync_progress ADD COLUMN IF NOT EXISTS deleted bigint;
-- sync_backups: the backup a run kept of the tables it overwrote (--backup:
-- a schema confiture_backup_<run>; --backup-dir: a pg_dump file), its
-- tables, and the values of the sequences the run set.
CREATE TABLE IF NOT EXISTS confiture.sync_backups (
    run_id uuid PRIMARY KEY,
    kind text NOT NULL,
    location text NOT NULL,
    tables text[] NOT NULL DEFAULT '{}',
    sequences jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
)
