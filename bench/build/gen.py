#!/usr/bin/env python3
"""Generates the build benchmark's project: N files (default 1000), one table
each with indexes and comments, about 5 KB of DDL per file, in 10 folders.

usage: gen.py DIR [N]
"""
import os
import sys

TYPES = ["integer", "bigint", "text", "varchar(200)", "numeric(12,2)", "boolean",
         "timestamptz", "date", "jsonb", "uuid"]
DEFAULTS = {"integer": "0", "bigint": "0", "text": "''", "varchar(200)": "''",
            "numeric(12,2)": "0", "boolean": "false", "timestamptz": "now()",
            "date": "CURRENT_DATE", "jsonb": "'{}'::jsonb", "uuid": None}


def table_sql(i):
    name = f"t{i:04d}"
    cols = [f"    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
    if i > 0:
        cols.append(f"    parent_id bigint REFERENCES bench.t{i - 1:04d}(id) ON DELETE CASCADE")
    for c in range(50):
        ty = TYPES[(i + c) % len(TYPES)]
        d = DEFAULTS[ty]
        col = f"    c{c:02d}_{ty.split('(')[0]} {ty}"
        if c % 3 == 0 and d is not None:
            col += f" NOT NULL DEFAULT {d}"
        if ty == "integer" and c % 2 == 0:
            col += f" CHECK (c{c:02d}_integer >= 0)"
        cols.append(col)
    out = [f"-- Table {name}: generated for the build benchmark.\n",
           f"CREATE TABLE bench.{name} (\n" + ",\n".join(cols) + "\n);\n\n"]
    out.append(f"COMMENT ON TABLE bench.{name} IS 'Benchmark table number {i}, with fifty "
               f"columns of assorted types, a parent link and three indexes.';\n")
    for c in range(0, 50, 2):
        ty = TYPES[(i + c) % len(TYPES)].split("(")[0]
        out.append(f"COMMENT ON COLUMN bench.{name}.c{c:02d}_{ty} IS 'Column {c} of table "
                   f"{i}: {ty} values used by the benchmark queries.';\n")
    out.append("\n")
    t1 = TYPES[(i + 1) % len(TYPES)].split("(")[0]
    t2 = TYPES[(i + 2) % len(TYPES)].split("(")[0]
    t5 = TYPES[(i + 5) % len(TYPES)].split("(")[0]
    out.append(f"CREATE INDEX {name}_c01_idx ON bench.{name} (c01_{t1});\n")
    out.append(f"CREATE INDEX {name}_c02_c05_idx ON bench.{name} (c02_{t2}, c05_{t5});\n")
    if i > 0:
        out.append(f"CREATE INDEX {name}_parent_idx ON bench.{name} (parent_id);\n")
    return "".join(out)


def main():
    root = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    schema = os.path.join(root, "db", "schema")
    os.makedirs(os.path.join(schema, "000_common"), exist_ok=True)
    with open(os.path.join(schema, "000_common", "00_schema.sql"), "w") as f:
        f.write("CREATE SCHEMA bench;\n")
    per_dir = max(1, n // 10)
    for i in range(n):
        d = os.path.join(schema, f"{10 * (1 + i // per_dir):03d}_tables")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"{i:04d}_t{i:04d}.sql"), "w") as f:
            f.write(table_sql(i))
    env = os.path.join(root, "db", "environments")
    os.makedirs(env, exist_ok=True)


if __name__ == "__main__":
    main()
