-- schema_extensions.sql: extensions with their version and schema (see
-- schema_schemas.sql for the columns). Their member objects are left out of
-- every other query; what depends on a member depends on the extension.
SELECT 'extension' AS kind, 'pg_extension' AS cls, e.oid, 0 AS subid,
       CASE WHEN n.nspname = 'pg_catalog' THEN NULL ELSE n.nspname END AS schema,
       quote_ident(e.extname) AS id, NULL::text AS parent,
       e.extversion AS version, quote_ident(n.nspname) AS ext_schema
  FROM pg_extension e
  JOIN pg_namespace n ON n.oid = e.extnamespace
