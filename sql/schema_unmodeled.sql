-- schema_unmodeled.sql: user objects of the kinds the snapshot does not
-- model, counted per kind, so that a diff can say "not compared: KIND"
-- instead of ignoring them. Members of extensions, and objects made
-- internally for another (the casts of a range type), are left out.
WITH usr AS (SELECT oid FROM pg_namespace
         WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
           AND nspname !~ '^pg_(toast|temp_)')
SELECT kind, n FROM (
  SELECT 'rules' AS kind, count(*) AS n FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
   WHERE r.rulename <> '_RETURN' AND c.relnamespace IN (SELECT oid FROM usr)
  UNION ALL
  SELECT 'event triggers', count(*) FROM pg_event_trigger e
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = e.tableoid
                      AND d.objid = e.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'foreign data wrappers', count(*) FROM pg_foreign_data_wrapper w
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = w.tableoid
                      AND d.objid = w.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'foreign servers', count(*) FROM pg_foreign_server s
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = s.tableoid
                      AND d.objid = s.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'user mappings', count(*) FROM pg_user_mappings
  UNION ALL
  SELECT 'foreign tables', count(*) FROM pg_class c
   WHERE c.relkind = 'f' AND c.relnamespace IN (SELECT oid FROM usr)
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = c.tableoid
                      AND d.objid = c.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'typed tables', count(*) FROM pg_class c
   WHERE c.reloftype <> 0 AND c.relnamespace IN (SELECT oid FROM usr)
  UNION ALL
  SELECT 'base and shell types', count(*) FROM pg_type t
   WHERE t.typtype IN ('b', 'p') AND t.typnamespace IN (SELECT oid FROM usr)
     AND NOT (t.typcategory = 'A' AND t.typelem <> 0)
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = t.tableoid
                      AND d.objid = t.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'operators', count(*) FROM pg_operator o
   WHERE o.oprnamespace IN (SELECT oid FROM usr)
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.tableoid
                      AND d.objid = o.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'operator classes and families', count(*) FROM pg_opfamily f
   WHERE f.opfnamespace IN (SELECT oid FROM usr)
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = f.tableoid
                      AND d.objid = f.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'casts', count(*) FROM pg_cast c
   WHERE c.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = c.tableoid
                      AND d.objid = c.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'conversions', count(*) FROM pg_conversion c
   WHERE c.connamespace IN (SELECT oid FROM usr)
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = c.tableoid
                      AND d.objid = c.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'text search objects', (SELECT count(*) FROM pg_ts_config x
                                  WHERE x.cfgnamespace IN (SELECT oid FROM usr)
                                    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = x.tableoid
                      AND d.objid = x.oid AND d.deptype IN ('e', 'i')))
                               + (SELECT count(*) FROM pg_ts_dict x
                                  WHERE x.dictnamespace IN (SELECT oid FROM usr)
                                    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = x.tableoid
                      AND d.objid = x.oid AND d.deptype IN ('e', 'i')))
  UNION ALL
  SELECT 'procedural languages', count(*) FROM pg_language l
   WHERE l.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = l.tableoid
                      AND d.objid = l.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'access methods', count(*) FROM pg_am a
   WHERE a.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = a.tableoid
                      AND d.objid = a.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'extended statistics', count(*) FROM pg_statistic_ext s
   WHERE s.stxnamespace IN (SELECT oid FROM usr)
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = s.tableoid
                      AND d.objid = s.oid AND d.deptype IN ('e', 'i'))
  UNION ALL
  SELECT 'transforms', count(*) FROM pg_transform t
   WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = t.tableoid
                      AND d.objid = t.oid AND d.deptype IN ('e', 'i'))
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
  SELECT 'column options', count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE (a.attoptions IS NOT NULL OR a.attfdwoptions IS NOT NULL)
     AND c.relnamespace IN (SELECT oid FROM usr)
) k
WHERE n > 0
ORDER BY kind
