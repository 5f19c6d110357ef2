-- s2s setup: the relations IMPORT FOREIGN SCHEMA takes from source schemas
-- $1 (tables, views, foreign tables, materialized views, partitioned tables;
-- not partitions), with their columns. Run on the source with
-- search_path = pg_catalog.
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = ANY ($1::text[])
  AND c.relkind IN ('r', 'v', 'f', 'm', 'p')
  AND NOT c.relispartition
ORDER BY n.nspname, c.relname, a.attnum
