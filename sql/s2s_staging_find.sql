-- s2s: the staging foreign tables that read source table $3 (in schema $2,
-- any schema when NULL), found by their schema_name/table_name options
-- ($1 = staging schema).
SELECT c.oid, o.schema_name
FROM pg_foreign_table ft
JOIN pg_class c ON c.oid = ft.ftrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
	SELECT coalesce((SELECT option_value FROM pg_options_to_table(ft.ftoptions)
	                  WHERE option_name = 'schema_name'), n.nspname) AS schema_name,
	       coalesce((SELECT option_value FROM pg_options_to_table(ft.ftoptions)
	                  WHERE option_name = 'table_name'), c.relname) AS table_name
) o
WHERE n.nspname = $1
  AND o.table_name = $3
  AND ($2::text IS NULL OR o.schema_name = $2::text)
ORDER BY o.schema_name
