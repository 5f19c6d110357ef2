-- schema_publications.sql: publications with what they publish (tables with
-- their column lists and row filters, schemas) and their options (see
-- schema_schemas.sql).
SELECT 'publication' AS kind, 'pg_publication' AS cls, p.oid, 0 AS subid, NULL::text AS schema,
       quote_ident(p.pubname) AS id, NULL::text AS parent,
       CASE WHEN p.puballtables THEN 'FOR ALL TABLES' ELSE
            (SELECT 'FOR ' || string_agg(item, ', ' ORDER BY item) FROM (
                SELECT format('TABLE %I.%I', rn.nspname, rc.relname)
                       || coalesce(' (' || (SELECT string_agg(quote_ident(a.attname), ', '
                                                              ORDER BY a.attnum)
                                              FROM pg_attribute a
                                             WHERE a.attrelid = r.prrelid
                                               AND a.attnum = ANY (r.prattrs)) || ')', '')
                       || coalesce(' WHERE (' || pg_get_expr(r.prqual, r.prrelid) || ')', '')
                       AS item
                  FROM pg_publication_rel r
                  JOIN pg_class rc ON rc.oid = r.prrelid
                  JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                 WHERE r.prpubid = p.oid
                UNION ALL
                SELECT format('TABLES IN SCHEMA %I', sn.nspname)
                  FROM pg_publication_namespace s
                  JOIN pg_namespace sn ON sn.oid = s.pnnspid
                 WHERE s.pnpubid = p.oid) i) END AS objects,
       format('publish = %L, publish_via_partition_root = %s',
              concat_ws(', ', CASE WHEN p.pubinsert THEN 'insert' END,
                        CASE WHEN p.pubupdate THEN 'update' END,
                        CASE WHEN p.pubdelete THEN 'delete' END,
                        CASE WHEN p.pubtruncate THEN 'truncate' END),
              p.pubviaroot::text) AS options
  FROM pg_publication p
