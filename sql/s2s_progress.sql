-- s2s migrate: what has been copied, kept in the staging schema on the
-- target (the schema is a parameter). One row per target table in
-- confiture_s2s_plan; one row per finished range in confiture_s2s_ranges,
-- written in the same transaction as the range's rows, so that a range is
-- either copied and recorded, or neither.
CREATE TABLE IF NOT EXISTS %I.confiture_s2s_plan (
	target_table text PRIMARY KEY,
	entry text NOT NULL,
	source_table text NOT NULL,
	key_column text,
	plan_hash text NOT NULL,
	bounds text[] NOT NULL,
	batch_size bigint NOT NULL,
	pass integer NOT NULL,
	mode text NOT NULL CHECK (mode IN ('insert', 'upsert')),
	is_complete boolean NOT NULL DEFAULT false,
	rows_copied bigint NOT NULL DEFAULT 0,
	started_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz
);
CREATE TABLE IF NOT EXISTS %I.confiture_s2s_ranges (
	target_table text NOT NULL,
	pass integer NOT NULL,
	range_no integer NOT NULL,
	rows bigint NOT NULL,
	done_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (target_table, pass, range_no)
);
