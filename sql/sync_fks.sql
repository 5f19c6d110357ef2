-- sync_fks.sql: foreign keys between user tables, with their columns in key
-- order and their definition (to drop and restore them on a target).
-- Constraints cloned onto partitions (conparentid <> 0) are left out: they
-- follow their parent's.
SELECT con.conname,
       cn.nspname AS child_schema,
       cc.relname AS child_table,
       pn.nspname AS parent_schema,
       pc.relname AS parent_table,
       ARRAY(SELECT a.attname
               FROM unnest(con.conkey) WITH ORDINALITY AS k(num, ord)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
              ORDER BY k.ord)::text[] AS child_cols,
       ARRAY(SELECT a.attname
               FROM unnest(con.confkey) WITH ORDINALITY AS k(num, ord)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
              ORDER BY k.ord)::text[] AS parent_cols,
       pg_get_constraintdef(con.oid) AS def,
       con.convalidated
  FROM pg_constraint con
  JOIN pg_class cc ON cc.oid = con.conrelid
  JOIN pg_namespace cn ON cn.oid = cc.relnamespace
  JOIN pg_class pc ON pc.oid = con.confrelid
  JOIN pg_namespace pn ON pn.oid = pc.relnamespace
 WHERE con.contype = 'f'
   AND con.conparentid = 0
 ORDER BY cn.nspname, cc.relname, con.conname
