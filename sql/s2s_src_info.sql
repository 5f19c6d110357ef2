-- s2s: size, row estimate and primary key of source relation $1.$2, read on
-- the source itself. Partitioned tables add up their leaves.
SELECT c.relkind::text,
       CASE WHEN c.relkind = 'p' THEN
            (SELECT sum(greatest(l.reltuples, 0))::float8
               FROM pg_partition_tree(c.oid) pt JOIN pg_class l ON l.oid = pt.relid
              WHERE pt.isleaf)
            WHEN c.relkind IN ('r', 'm') AND c.relpages > 0 AND c.reltuples <= 0 THEN -1
            ELSE c.reltuples::float8
       END,
       CASE WHEN c.relkind = 'p' THEN
            (SELECT sum(pg_table_size(pt.relid))::bigint
               FROM pg_partition_tree(c.oid) pt WHERE pt.isleaf)
            WHEN c.relkind IN ('r', 'm', 't') THEN pg_table_size(c.oid)
       END,
       ARRAY(SELECT a.attname::text
               FROM pg_index i
               CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisprimary
              ORDER BY k.ord)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2
