-- schema_relations.sql: tables (ordinary, unlogged, partitioned, partitions,
-- inheritance children), views and materialized views (see
-- schema_schemas.sql). _addr: the row type and its array, and the view's
-- rewrite rule, which stand for the relation in pg_depend.
SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'matview' ELSE 'table' END AS kind,
       'pg_class' AS cls, c.oid, 0 AS subid, n.nspname AS schema,
       format('%I.%I', n.nspname, c.relname) AS id, NULL::text AS parent,
       quote_ident(pg_get_userbyid(c.relowner)) AS _owner,
       c.relname AS _relname,
       CASE WHEN c.relkind IN ('r', 'p') THEN (c.relkind = 'p')::text END AS partitioned,
       CASE WHEN c.relkind IN ('r', 'p') THEN (c.relpersistence = 'u')::text END AS unlogged,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_by,
       (SELECT format('%I.%I', pn.nspname, p.relname)
          FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
          JOIN pg_namespace pn ON pn.oid = p.relnamespace
         WHERE i.inhrelid = c.oid AND c.relispartition) AS _partition_of,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS _bound,
       (SELECT string_agg(format('%I.%I', pn.nspname, p.relname), ', ' ORDER BY i.inhseqno)
          FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
          JOIN pg_namespace pn ON pn.oid = p.relnamespace
         WHERE i.inhrelid = c.oid AND NOT c.relispartition) AS inherits,
       (SELECT string_agg(o, ', ' ORDER BY o) FROM unnest(c.reloptions) o) AS options,
       CASE WHEN c.relkind IN ('r', 'p') THEN c.relrowsecurity::text END AS row_security,
       CASE WHEN c.relkind IN ('r', 'p') THEN c.relforcerowsecurity::text END
           AS force_row_security,
       CASE WHEN c.relkind IN ('r', 'p') AND c.relreplident <> 'd' THEN
            CASE c.relreplident WHEN 'n' THEN 'NOTHING' WHEN 'f' THEN 'FULL'
                 ELSE (SELECT 'USING INDEX ' || quote_ident(ic.relname)
                         FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
                        WHERE x.indrelid = c.oid AND x.indisreplident) END END
           AS replica_identity,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition,
       (SELECT string_agg(aclitem, ',' ORDER BY aclitem) FROM (
            SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                        WHEN x.grantee = c.relowner THEN '@owner'
                        ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                   || '=' || x.privilege_type
                   || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS aclitem
              FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) x) a) AS acl,
       concat_ws(' ', 'pg_type:' || nullif(c.reltype, 0),
                 'pg_type:' || (SELECT t.typarray FROM pg_type t WHERE t.oid = c.reltype),
                 (SELECT string_agg('pg_rewrite:' || r.oid, ' ') FROM pg_rewrite r
                   WHERE r.ev_class = c.oid AND r.rulename = '_RETURN')) AS _addr
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm')
   AND c.reloftype = 0
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
