-- schema_collations.sql: user collations (see schema_schemas.sql).
SELECT 'collation' AS kind, 'pg_collation' AS cls, c.oid, 0 AS subid, n.nspname AS schema,
       format('%I.%I', n.nspname, c.collname) AS id, NULL::text AS parent,
       CASE c.collprovider WHEN 'i' THEN 'icu' WHEN 'c' THEN 'libc' ELSE 'default' END
           AS provider,
       c.colliculocale AS locale,
       CASE WHEN c.collprovider = 'c' THEN c.collcollate END AS lc_collate,
       CASE WHEN c.collprovider = 'c' THEN c.collctype END AS lc_ctype,
       c.collisdeterministic::text AS deterministic
  FROM pg_collation c
  JOIN pg_namespace n ON n.oid = c.collnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_collation'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
