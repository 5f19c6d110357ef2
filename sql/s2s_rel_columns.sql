-- s2s: one relation and its columns, in order ($1 = oid). Run with
-- search_path = pg_catalog, so that type names come out schema-qualified
-- the same way on the source and on the target.
SELECT n.nspname,
       c.relname,
       c.relkind::text,
       a.attname,
       format_type(a.atttypid, a.atttypmod),
       a.attnotnull,
       (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> ''),
       a.attidentity::text,
       a.attgenerated <> '',
       CASE WHEN a.attname IS NOT NULL AND c.relkind IN ('r', 'p')
            THEN pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                                        a.attname)
       END,
       (SELECT option_value FROM pg_options_to_table(ft.ftoptions)
         WHERE option_name = 'schema_name'),
       (SELECT option_value FROM pg_options_to_table(ft.ftoptions)
         WHERE option_name = 'table_name')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.oid = $1::oid
ORDER BY a.attnum
