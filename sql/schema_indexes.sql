-- schema_indexes.sql: indexes of tables and materialized views, except those
-- behind constraints (see schema_schemas.sql). definition is pg_get_indexdef
-- (method, opclasses, expressions, INCLUDE, WHERE, ON ONLY for a partitioned
-- table's index), or for an index of plain columns with their default
-- opclass, collation and order, no options, the same text built here:
-- pg_get_indexdef costs ten times more, and most indexes are of that kind. _attached_to: the partitioned index this one is a
-- partition of.
SELECT 'index' AS kind, 'pg_class' AS cls, i.oid, 0 AS subid, n.nspname AS schema,
       format('%I.%I', n.nspname, i.relname) AS id,
       CASE c.relkind WHEN 'm' THEN 'matview ' ELSE 'table ' END
           || format('%I.%I', tn.nspname, c.relname) AS parent,
       CASE WHEN f.is_simple AND x.indpred IS NULL AND i.reloptions IS NULL
                 AND NOT x.indnullsnotdistinct
            THEN format('CREATE %sINDEX %I ON %s%I.%I USING %I (%s)%s',
                        CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END, i.relname,
                        CASE WHEN c.relkind = 'p' THEN 'ONLY ' ELSE '' END, tn.nspname,
                        c.relname, am.amname, f.keys, ' INCLUDE (' || f.included || ')')
            ELSE pg_get_indexdef(i.oid) END AS definition,
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
  JOIN pg_am am ON am.oid = i.relam
  LEFT JOIN LATERAL (
       SELECT bool_and(u.ord > x.indnkeyatts
                       OR (u.opt = 0 AND opc.opcdefault AND opc.opcintype = a.atttypid
                           AND u.coll = a.attcollation)) AS is_simple,
              string_agg(quote_ident(a.attname), ', ' ORDER BY u.ord)
                  FILTER (WHERE u.ord <= x.indnkeyatts) AS keys,
              string_agg(quote_ident(a.attname), ', ' ORDER BY u.ord)
                  FILTER (WHERE u.ord > x.indnkeyatts) AS included
         FROM unnest(x.indkey::int2[], x.indclass::oid[], x.indcollation::oid[],
                     x.indoption::int2[]) WITH ORDINALITY u(k, cls, coll, opt, ord)
         JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.k
         LEFT JOIN pg_opclass opc ON opc.oid = u.cls) f ON x.indexprs IS NULL
 WHERE c.relkind IN ('r', 'p', 'm')
   AND c.reloftype = 0
   AND i.oid NOT IN (SELECT k.conindid FROM pg_constraint k WHERE k.contype IN ('p', 'u', 'x'))
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
