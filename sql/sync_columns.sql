-- sync_columns.sql: every column of every user table, with what sync needs to
-- copy and mask it. One row per column, tables in (schema, name) order.
-- Left out: system schemas, tables of extensions, and everything confiture
-- keeps for itself: its schema "confiture" (sync history, progress), sync
-- backups (schemas confiture_backup_*), s2s bookkeeping (confiture_s2s_*),
-- migration ledgers (found by their pk_confiture column, whatever their
-- name) and the progress tables of non-transactional migrations.
-- bin_ok: the binary COPY form carries no database-specific type OIDs
-- (composites and arrays or ranges of user types do), so it can travel
-- between databases as it is. seq: the sequence the column owns, or the one its
-- default draws from (nextval('...')). uniq: the unique index (or the
-- constraint it backs) of which the column is the only key, if any.
SELECT n.nspname,
       c.relname,
       c.reltuples::bigint AS est_rows,
       c.relpages::bigint AS pages,
       c.relispartition,
       a.attname,
       format_type(a.atttypid, a.atttypmod) AS type,
       bt.typname AS base,
       format_type(bt.oid, NULL) AS base_full,
       bt.typcategory,
       a.attnotnull,
       a.atthasdef OR a.attidentity <> '' AS has_default,
       a.attgenerated <> '' AS is_generated,
       CASE WHEN bt.typtype IN ('c', 'p') THEN false
            WHEN bt.typcategory = 'A' THEN bt.typelem < 16384
            WHEN bt.typtype IN ('r', 'm') THEN bt.oid < 16384
            ELSE true END AS bin_ok,
       COALESCE(pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname),
                (SELECT format('%I.%I', sn.nspname, s.relname)
                   FROM pg_attrdef ad
                   JOIN pg_depend dp ON dp.classid = 'pg_attrdef'::regclass AND dp.objid = ad.oid
                                    AND dp.refclassid = 'pg_class'::regclass
                   JOIN pg_class s ON s.oid = dp.refobjid AND s.relkind = 'S'
                   JOIN pg_namespace sn ON sn.oid = s.relnamespace
                  WHERE ad.adrelid = c.oid AND ad.adnum = a.attnum
                  LIMIT 1)) AS seq,
       COALESCE((SELECT k.ord FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                  WHERE k.attnum = a.attnum), 0) AS pk_pos,
       a.atttypmod,
       (SELECT coalesce(uc.conname, ic.relname)
          FROM pg_index ui
          JOIN pg_class ic ON ic.oid = ui.indexrelid
          LEFT JOIN pg_constraint uc ON uc.conindid = ui.indexrelid AND uc.conrelid = c.oid
         WHERE ui.indrelid = c.oid AND ui.indisunique AND ui.indnkeyatts = 1
           AND ui.indkey[0] = a.attnum AND ui.indpred IS NULL AND ui.indexprs IS NULL
         ORDER BY ui.indisprimary DESC, ic.relname
         LIMIT 1) AS uniq
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_type t1 ON t1.oid = t.typbasetype
  JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype <> 'd' THEN t.oid
                                   WHEN t1.typtype <> 'd' THEN t1.oid
                                   ELSE t1.typbasetype END
  LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
 WHERE c.relkind = 'r'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp\_%'
   AND n.nspname NOT LIKE 'confiture\_backup\_%'
   AND c.relname NOT LIKE 'confiture\_s2s\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_attribute la
                    WHERE la.attrelid = c.oid AND la.attname = 'pk_confiture' AND NOT la.attisdropped)
   AND NOT (c.relname LIKE '%\_progress'
            AND (SELECT count(*) FROM pg_attribute pa
                  WHERE pa.attrelid = c.oid AND NOT pa.attisdropped
                    AND pa.attname IN ('version', 'direction', 'stmt_index', 'checksum', 'state')) = 5)
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype = 'e')
 ORDER BY n.nspname, c.relname, a.attnum
