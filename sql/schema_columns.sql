-- schema_columns.sql: columns of tables, views and materialized views, and
-- attributes of composite types (see schema_schemas.sql). type carries the
-- typmod; collation only when it differs from the type's; identity is
-- "always" or "by default" with the options of its sequence; generated is the
-- stored expression. _inherited: the column comes from a parent table (it is
-- created and dropped with it). _position orders columns, and is not compared.
-- _attrdef is the address of the default, which pg_depend names.
SELECT CASE c.relkind WHEN 'c' THEN 'attribute'
                      WHEN 'v' THEN 'view_column' WHEN 'm' THEN 'view_column'
                      ELSE 'column' END AS kind,
       'pg_class' AS cls, c.oid, a.attnum AS subid, n.nspname AS schema,
       format('%I.%I.%I', n.nspname, c.relname, a.attname) AS id,
       CASE c.relkind WHEN 'c' THEN 'type ' WHEN 'v' THEN 'view ' WHEN 'm' THEN 'matview '
                      ELSE 'table ' END || format('%I.%I', n.nspname, c.relname) AS parent,
       quote_ident(a.attname) AS _name,
       a.attnum AS _position,
       (a.attinhcount > 0)::text AS _inherited,
       a.attislocal::text AS _local,
       CASE WHEN c.relkind NOT IN ('v', 'm') THEN format_type(a.atttypid, a.atttypmod) END AS type,
       CASE WHEN c.relkind NOT IN ('v', 'm') AND a.attcollation <> t.typcollation
            THEN (SELECT format('%I.%I', cn.nspname, co.collname)
                    FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                   WHERE co.oid = a.attcollation) END AS collation,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS "default",
       CASE WHEN c.relkind IN ('r', 'p') THEN a.attnotnull::text END AS not_null,
       CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END AS identity,
       (SELECT format('%I.%I', sn.nspname, sc.relname)
          FROM pg_depend d
          JOIN pg_class sc ON sc.oid = d.objid
          JOIN pg_namespace sn ON sn.oid = sc.relnamespace
         WHERE a.attidentity <> '' AND d.classid = 'pg_class'::regclass
           AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
           AND d.refobjsubid = a.attnum AND d.deptype = 'i') AS identity_sequence,
       (SELECT format('START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s %s',
                      s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
                      CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END)
          FROM pg_depend d
          JOIN pg_sequence s ON s.seqrelid = d.objid
         WHERE a.attidentity <> '' AND d.classid = 'pg_class'::regclass
           AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
           AND d.refobjsubid = a.attnum AND d.deptype = 'i') AS identity_options,
       CASE WHEN a.attgenerated = 's' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generated,
       CASE t.typstorage WHEN 'p' THEN 'plain' WHEN 'e' THEN 'external'
                         WHEN 'm' THEN 'main' WHEN 'x' THEN 'extended' END AS _typstorage,
       CASE WHEN a.attstorage <> t.typstorage THEN
            CASE a.attstorage WHEN 'p' THEN 'plain' WHEN 'e' THEN 'external'
                              WHEN 'm' THEN 'main' WHEN 'x' THEN 'extended' END END AS storage,
       nullif(a.attstattarget, -1)::text AS statistics,
       CASE WHEN a.attcompression <> '' THEN
            CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END END AS compression,
       (SELECT string_agg(aclitem, ',' ORDER BY aclitem) FROM (
            SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                        WHEN x.grantee = c.relowner THEN '@owner'
                        ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                   || '=' || x.privilege_type
                   || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS aclitem
              FROM aclexplode(a.attacl) x) acl) AS acl,
       'pg_attrdef:' || ad.oid AS _addr
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'c')
   AND c.reloftype = 0
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = CASE WHEN c.relkind = 'c' THEN 'pg_type'::regclass
                                           ELSE 'pg_class'::regclass END
                      AND d.objid = CASE WHEN c.relkind = 'c' THEN c.reltype ELSE c.oid END
                      AND d.deptype = 'e')
