-- sync_triggers.sql: enabled user triggers (not the internal ones behind
-- foreign keys), with their firing mode: O (origin), A (always), R (replica).
SELECT n.nspname, c.relname, t.tgname, t.tgenabled
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal
   AND t.tgenabled <> 'D'
   AND t.tgparentid = 0
 ORDER BY n.nspname, c.relname, t.tgname
