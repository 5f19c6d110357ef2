-- sync_indexes.sql: the indexes of one table ($1, a quoted qualified name),
-- to drop them before a load and build them again after it (a sorted build
-- beats one insert per row). ok is false for anything sync must not touch:
-- an index attached to a partitioned parent, one that is invalid, commented,
-- named apart from its constraint, or that something depends on (a foreign
-- key, a view grouping by a primary key).
SELECT format('%I.%I', n.nspname, ic.relname) AS index_q,
       pg_get_indexdef(i.indexrelid) AS index_def,
       con.conname,
       pg_get_constraintdef(con.oid) AS con_def,
       i.indisclustered,
       i.indisreplident,
       (i.indisvalid AND i.indisready
        AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
        AND NOT EXISTS (SELECT 1 FROM pg_description d
                         WHERE d.objoid = i.indexrelid OR d.objoid = con.oid)
        AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                         WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE d.deptype = 'n'
                           AND ((d.refclassid = 'pg_constraint'::regclass AND d.refobjid = con.oid)
                             OR (d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indexrelid)))
        AND (con.oid IS NULL OR con.conname = ic.relname)) AS ok,
       ic.relname AS index_name
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = ic.relnamespace
  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                             AND con.contype IN ('p', 'u', 'x')
 WHERE i.indrelid = $1::regclass
 ORDER BY ic.relname
