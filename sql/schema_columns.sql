-- schema_columns.sql: columns of tables, views and materialized views, and
-- attributes of composite types (see schema_schemas.sql). type carries the
-- typmod; collation only when it differs from the type's; identity is
-- "always" or "by default" with the options of its sequence; generated is the
-- stored expression. _inherited: the column comes from a parent table (it is
-- created and dropped with it). _position orders columns, and is not compared.
-- id and parent are left to the snapshot, which knows the relation (or type)
-- at address _of: "relation.name". Formatting them here costs more than the
-- rest of the query on a large schema.
-- _addr is the address of the default, which pg_depend names. A default
-- cannot refer to a column, so it is printed without its relation
-- (pg_get_expr with 0): ten times faster, as the relation is not opened.
SELECT CASE c.relkind WHEN 'c' THEN 'attribute'
                      WHEN 'v' THEN 'view_column' WHEN 'm' THEN 'view_column'
                      ELSE 'column' END AS kind,
       'pg_class' AS cls, c.oid, a.attnum AS subid, n.nspname AS schema,
       NULL::text AS id, NULL::text AS parent,
       'pg_class:' || c.oid AS _of,
       quote_ident(a.attname) AS _name,
       a.attnum AS _position,
       (a.attinhcount > 0)::text AS _inherited,
       a.attislocal::text AS _local,
       CASE WHEN c.relkind NOT IN ('v', 'm') THEN format_type(a.atttypid, a.atttypmod) END AS type,
       CASE WHEN c.relkind NOT IN ('v', 'm') AND a.attcollation <> t.typcollation
            THEN (SELECT format('%I.%I', cn.nspname, co.collname)
                    FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                   WHERE co.oid = a.attcollation) END AS collation,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, 0) END AS "default",
       CASE WHEN c.relkind IN ('r', 'p') THEN a.attnotnull::text END AS not_null,
       CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END AS identity,
       idn.seq AS identity_sequence,
       idn.options AS identity_options,
       CASE WHEN a.attgenerated = 's' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generated,
       CASE t.typstorage WHEN 'p' THEN 'plain' WHEN 'e' THEN 'external'
                         WHEN 'm' THEN 'main' WHEN 'x' THEN 'extended' END AS _typstorage,
       CASE WHEN a.attstorage <> t.typstorage THEN
            CASE a.attstorage WHEN 'p' THEN 'plain' WHEN 'e' THEN 'external'
                              WHEN 'm' THEN 'main' WHEN 'x' THEN 'extended' END END AS storage,
       nullif(a.attstattarget, -1)::text AS statistics,
       CASE WHEN a.attcompression <> '' THEN
            CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END END AS compression,
       CASE WHEN a.attacl IS NOT NULL THEN
            (SELECT string_agg(aclitem, ',' ORDER BY aclitem) FROM (
                SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                            WHEN x.grantee = c.relowner THEN '@owner'
                            ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                       || '=' || x.privilege_type
                       || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS aclitem
                  FROM aclexplode(a.attacl) x) acl) END AS acl,
       'pg_attrdef:' || ad.oid AS _addr
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
  -- An identity's sequence, joined rather than looked up column by column.
  LEFT JOIN (SELECT d.refobjid, d.refobjsubid, format('%I.%I', sn.nspname, sc.relname) AS seq,
                    format('START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s %s',
                           s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
                           CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END) AS options
               FROM pg_depend d
               JOIN pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
               JOIN pg_namespace sn ON sn.oid = sc.relnamespace
               JOIN pg_sequence s ON s.seqrelid = sc.oid
              WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                AND d.deptype = 'i') idn
         ON a.attidentity <> '' AND idn.refobjid = c.oid AND idn.refobjsubid = a.attnum
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'c')
   AND c.reloftype = 0
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = CASE WHEN c.relkind = 'c' THEN 'pg_type'::regclass
                                           ELSE 'pg_class'::regclass END
                      AND d.objid = CASE WHEN c.relkind = 'c' THEN c.reltype ELSE c.oid END
                      AND d.deptype = 'e')
