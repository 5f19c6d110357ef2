#!/usr/bin/env python3
"""bench/lint/gen.py DIR N -- N migration files of realistic DDL for the lint bench.

Deterministic (seeded): every run lints the same files. Each file mixes what
real migrations do: new tables, added columns and indexes, constraints, type
changes, renames, drops, data fixes, timeouts, transactions.
"""
import os
import random
import sys

TYPES = ["bigint", "integer", "int", "smallint", "text", "varchar(64)", "varchar",
         "timestamp", "timestamptz", "boolean", "numeric(12,2)", "jsonb", "uuid",
         "char(2)", "serial", "bigserial", "date", "text[]"]
DEFAULTS = ["", " DEFAULT 0", " DEFAULT now()", " DEFAULT gen_random_uuid()", " NOT NULL",
            " NOT NULL DEFAULT ''", " DEFAULT current_date", " DEFAULT -1"]


def table(r, i):
    cols = [f"    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
    for k in range(r.randint(2, 7)):
        t = r.choice(TYPES)
        cols.append(f"    c{k} {t}{r.choice(['', ' NOT NULL'])}")
    if r.random() < 0.3:
        cols.append(f"    parent_id bigint REFERENCES t{max(i - 1, 0)}_a (id)")
    return f"CREATE TABLE t{i}_a (\n" + ",\n".join(cols) + "\n);"


def stmt(r, i):
    t = f"t{r.randint(0, max(i, 1))}_a"
    c = f"c{r.randint(0, 6)}"
    pool = [
        lambda: f"ALTER TABLE {t} ADD COLUMN n{i}_{r.randint(0, 99)} {r.choice(TYPES)}{r.choice(DEFAULTS)};",
        lambda: f"CREATE INDEX {t}_{c}_{i}_idx ON {t} ({c});",
        lambda: f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {t}_{c}_{i}_cidx ON {t} ({c});",
        lambda: f"ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_{i}_chk CHECK ({c} IS NOT NULL);",
        lambda: f"ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_{i}_chk CHECK ({c} IS NOT NULL) NOT VALID;",
        lambda: f"ALTER TABLE {t} VALIDATE CONSTRAINT {t}_{c}_{i}_chk;",
        lambda: f"ALTER TABLE {t} ADD CONSTRAINT {t}_{i}_uq UNIQUE ({c});",
        lambda: f"ALTER TABLE {t} ALTER COLUMN {c} TYPE {r.choice(TYPES)};",
        lambda: f"ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;",
        lambda: f"ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL;",
        lambda: f"ALTER TABLE {t} RENAME COLUMN {c} TO {c}_old;",
        lambda: f"ALTER TABLE {t} DROP COLUMN IF EXISTS {c};",
        lambda: f"DROP INDEX IF EXISTS {t}_{c}_idx;",
        lambda: f"UPDATE {t} SET {c} = DEFAULT WHERE id < 1000;",
        lambda: f"INSERT INTO {t} (id) VALUES ({i});",
        lambda: f"COMMENT ON TABLE {t} IS 'table {i}';",
        lambda: f"ALTER TABLE {t} ADD CONSTRAINT {t}_fk{i} FOREIGN KEY (parent_id) REFERENCES t0_a (id);",
        lambda: f"TRUNCATE {t};",
        lambda: f"DROP TABLE IF EXISTS old_{t};",
        lambda: f"ALTER TYPE mood ADD VALUE 'v{i}';",
        lambda: f"CREATE VIEW v{i} AS SELECT id, {c} FROM {t};",
    ]
    return r.choice(pool)()


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    r = random.Random(20261122)
    for i in range(n):
        parts = [f"-- migration {i}"]
        if r.random() < 0.3:
            parts += ["SET lock_timeout = '2s';", "SET statement_timeout = '30s';"]
        wrap = r.random() < 0.2
        if wrap:
            parts.append("BEGIN;")
        if r.random() < 0.5:
            parts.append(table(r, i))
        for _ in range(r.randint(2, 8)):
            parts.append(stmt(r, i))
        if wrap:
            parts.append("COMMIT;")
        with open(os.path.join(out, f"{i:05d}_m{i}.sql"), "w") as f:
            f.write("\n".join(parts) + "\n")


main()
