-- sync_keys.sql: the unique keys an incremental sync can match rows by, one
-- row per table: its primary key, else its first unique index (by name)
-- without predicate or expression whose columns are all NOT NULL; with
-- nullable, when the only unique key allows NULLs (then rows cannot be
-- matched by it). Also the table's oid and file node: an incremental sync
-- compares them with the last run's to tell a rewritten or replaced table.
SELECT n.nspname,
       c.relname,
       c.oid::text || '/' || pg_relation_filenode(c.oid)::text AS relid,
       k.indexname,
       k.cols,
       k.nullable
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN LATERAL (
        SELECT ic.relname AS indexname,
               ARRAY(SELECT a.attname
                       FROM unnest(i.indkey) WITH ORDINALITY AS u(num, ord)
                       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.num
                      ORDER BY u.ord)::text[] AS cols,
               EXISTS (SELECT 1 FROM unnest(i.indkey) AS u(num)
                         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.num
                        WHERE NOT a.attnotnull) AS nullable
          FROM pg_index i
          JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid
           AND i.indpred IS NULL AND i.indexprs IS NULL AND 0 <> ALL (i.indkey)
         ORDER BY i.indisprimary DESC,
                  EXISTS (SELECT 1 FROM unnest(i.indkey) AS u(num)
                            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.num
                           WHERE NOT a.attnotnull),
                  ic.relname
         LIMIT 1) k ON true
 WHERE c.relkind = 'r'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp\_%'
 ORDER BY n.nspname, c.relname
