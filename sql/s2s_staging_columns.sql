-- s2s setup: the foreign tables in staging schema $1, with the remote
-- relation they read, their server and their columns. Run on the target
-- with search_path = pg_catalog.
SELECT c.relname,
       coalesce((SELECT option_value FROM pg_options_to_table(ft.ftoptions)
                  WHERE option_name = 'schema_name'), n.nspname),
       coalesce((SELECT option_value FROM pg_options_to_table(ft.ftoptions)
                  WHERE option_name = 'table_name'), c.relname),
       s.srvname,
       a.attname,
       format_type(a.atttypid, a.atttypmod),
       a.attnotnull
FROM pg_foreign_table ft
JOIN pg_class c ON c.oid = ft.ftrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_foreign_server s ON s.oid = ft.ftserver
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = $1
ORDER BY c.relname, a.attnum
