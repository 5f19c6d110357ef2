-- What a migrate session needs to know first: the lock key of the interop
-- contract (the first 4 bytes of sha256(current_database()), as a big-endian
-- integer, & 0x7fffffff), and whether the ledger and its progress table
-- exist, and the schema the ledger is (or will be created) in, so that its
-- name stays right whatever search_path a migration sets. $1 is the quoted
-- ledger name, $2 the quoted progress table name, $3 the name as configured.
-- It also sets client_connection_check_interval (PostgreSQL 14 and later):
-- a killed confiture must not leave its backend running a long migration,
-- and holding the lock, until the statement ends.
SELECT current_database(),
       (('x' || left(encode(sha256(convert_to(current_database(), 'UTF8')), 'hex'), 8))::bit(32)::int
        & 2147483647)::bigint,
       to_regclass($1) IS NOT NULL,
       EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid = to_regclass($1) AND attname = 'applied_by' AND NOT attisdropped),
       to_regclass($2) IS NOT NULL,
       coalesce((SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.oid = to_regclass($1)),
                CASE WHEN position('.' IN $3) > 0 THEN split_part($3, '.', 1) END,
                current_schema(), 'public'),
       CASE WHEN current_setting('server_version_num')::int >= 140000
            THEN set_config('client_connection_check_interval', '1s', false) END
