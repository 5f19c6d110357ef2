-- schema_policies.sql: row-level security policies (see schema_schemas.sql).
-- Whether RLS is enabled and forced is a property of the table.
SELECT 'policy' AS kind, 'pg_policy' AS cls, p.oid, 0 AS subid, n.nspname AS schema,
       format('%I.%I.%I', n.nspname, c.relname, p.polname) AS id,
       'table ' || format('%I.%I', n.nspname, c.relname) AS parent,
       quote_ident(p.polname) AS _name,
       CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END AS mode,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
       (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END,
                          ', ' ORDER BY 1)
          FROM unnest(p.polroles) r) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using,
       pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
  FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
