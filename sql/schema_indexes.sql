-- schema_indexes.sql: indexes of tables and materialized views, except those
-- behind constraints (see schema_schemas.sql). definition is pg_get_indexdef
-- (method, opclasses, expressions, INCLUDE, WHERE, ON ONLY for a partitioned
-- table's index). _attached_to: the partitioned index this one is a
-- partition of.
SELECT 'index' AS kind, 'pg_class' AS cls, i.oid, 0 AS subid, n.nspname AS schema,
       format('%I.%I', n.nspname, i.relname) AS id,
       CASE c.relkind WHEN 'm' THEN 'matview ' ELSE 'table ' END
           || format('%I.%I', tn.nspname, c.relname) AS parent,
       pg_get_indexdef(i.oid) AS definition,
       (SELECT format('%I.%I', pn.nspname, p.relname)
          FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent
          JOIN pg_namespace pn ON pn.oid = p.relnamespace
         WHERE h.inhrelid = i.oid) AS _attached_to,
       x.indisclustered::text AS clustered
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class c ON c.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = i.relnamespace
  JOIN pg_namespace tn ON tn.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm')
   AND c.reloftype = 0
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                    WHERE k.conindid = i.oid AND k.contype IN ('p', 'u', 'x'))
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
