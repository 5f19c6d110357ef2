-- schema_unmodeled.sql: user objects of the kinds the snapshot does not
-- model, counted per kind, so that a diff can say "not compared: KIND"
-- instead of ignoring them. Members of extensions, and objects made
-- internally for another (the casts of a range type), are left out.
WITH usr AS (SELECT oid FROM pg_namespace
         WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
           AND nspname !~ '^pg_(toast|temp_)'),
-- Objects with an identity of their own: counted unless pg_depend says they
-- belong to an extension or to another object.
owned(kind, cls, oid) AS (
  SELECT 'event triggers', tableoid, oid FROM pg_event_trigger
  UNION ALL
  SELECT 'foreign data wrappers', tableoid, oid FROM pg_foreign_data_wrapper
  UNION ALL
  SELECT 'foreign servers', tableoid, oid FROM pg_foreign_server
  UNION ALL
  SELECT 'foreign tables', tableoid, oid FROM pg_class
   WHERE relkind = 'f' AND relnamespace IN (SELECT oid FROM usr)
  UNION ALL
  SELECT 'base and shell types', tableoid, oid FROM pg_type
   WHERE typtype IN ('b', 'p') AND typnamespace IN (SELECT oid FROM usr)
     AND NOT (typcategory = 'A' AND typelem <> 0)
  UNION ALL
  SELECT 'operators', tableoid, oid FROM pg_operator WHERE oprnamespace IN (SELECT oid FROM usr)
  UNION ALL
  SELECT 'operator classes and families', tableoid, oid FROM pg_opfamily
   WHERE opfnamespace IN (SELECT oid FROM usr)
  UNION ALL
  SELECT 'casts', tableoid, oid FROM pg_cast WHERE oid >= 16384
  UNION ALL
  SELECT 'conversions', tableoid, oid FROM pg_conversion WHERE connamespace IN (SELECT oid FROM usr)
  UNION ALL
  SELECT 'text search objects', tableoid, oid FROM pg_ts_config
   WHERE cfgnamespace IN (SELECT oid FROM usr)
  UNION ALL
  SELECT 'text search objects', tableoid, oid FROM pg_ts_dict
   WHERE dictnamespace IN (SELECT oid FROM usr)
  UNION ALL
  SELECT 'procedural languages', tableoid, oid FROM pg_language WHERE oid >= 16384
  UNION ALL
  SELECT 'access methods', tableoid, oid FROM pg_am WHERE oid >= 16384
  UNION ALL
  SELECT 'extended statistics', tableoid, oid FROM pg_statistic_ext
   WHERE stxnamespace IN (SELECT oid FROM usr)
  UNION ALL
  SELECT 'transforms', tableoid, oid FROM pg_transform
)
SELECT kind, n FROM (
  SELECT kind, count(*) AS n FROM owned o
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.cls AND d.objid = o.oid
                      AND d.deptype IN ('e', 'i'))
   GROUP BY kind
  UNION ALL
  SELECT 'rules', count(*) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
   WHERE r.rulename <> '_RETURN' AND c.relnamespace IN (SELECT oid FROM usr)
  UNION ALL
  SELECT 'user mappings', count(*) FROM pg_user_mappings
  UNION ALL
  SELECT 'typed tables', count(*) FROM pg_class c
   WHERE c.reloftype <> 0 AND c.relnamespace IN (SELECT oid FROM usr)
  UNION ALL
  SELECT 'subscriptions', count(*) FROM pg_subscription s
   WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  UNION ALL
  SELECT 'security labels', count(*) FROM pg_seclabel
  UNION ALL
  SELECT 'large objects', count(*) FROM pg_largeobject_metadata
  UNION ALL
  SELECT 'tablespace placement', count(*) FROM pg_class c
   WHERE c.reltablespace <> 0 AND c.relnamespace IN (SELECT oid FROM usr)
  UNION ALL
  SELECT 'table access methods', count(*) FROM pg_class c JOIN pg_am a ON a.oid = c.relam
   WHERE c.relkind IN ('r', 'm') AND a.amname <> 'heap'
     AND c.relnamespace IN (SELECT oid FROM usr)
  UNION ALL
  -- Options named pg_... are the server's own, not the user's: PostgreSQL
  -- 15.20 stamps every column with a pg_attver option.
  SELECT 'column options', count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE a.attnum > 0 AND NOT a.attisdropped
     AND (EXISTS (SELECT FROM unnest(a.attoptions) o WHERE o !~ '^pg_')
          OR a.attfdwoptions IS NOT NULL)
     AND c.relnamespace IN (SELECT oid FROM usr)
) k
WHERE n > 0
ORDER BY kind
