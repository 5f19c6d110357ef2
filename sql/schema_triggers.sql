-- schema_triggers.sql: triggers, constraint triggers included, with their
-- enabled state (see schema_schemas.sql). Left out: internal triggers (foreign
-- keys) and the copies partitions get from their parent's trigger.
SELECT 'trigger' AS kind, 'pg_trigger' AS cls, g.oid, 0 AS subid, n.nspname AS schema,
       format('%I.%I.%I', n.nspname, c.relname, g.tgname) AS id,
       CASE c.relkind WHEN 'v' THEN 'view ' ELSE 'table ' END
           || format('%I.%I', n.nspname, c.relname) AS parent,
       quote_ident(g.tgname) AS _name,
       pg_get_triggerdef(g.oid) AS definition,
       CASE g.tgenabled WHEN 'O' THEN 'origin' WHEN 'D' THEN 'disabled'
                        WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END AS enabled
  FROM pg_trigger g
  JOIN pg_class c ON c.oid = g.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT g.tgisinternal
   AND g.tgparentid = 0
   AND c.relkind IN ('r', 'p', 'v')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
