-- schema_types.sql: enum, domain, composite and range types (see
-- schema_schemas.sql). Domain constraints come with the table constraints,
-- composite attributes with the columns. _addr lists the other catalog
-- addresses that stand for the type: its array type, a composite's relation,
-- a range's multirange (and its array).
SELECT 'type' AS kind, 'pg_type' AS cls, t.oid, 0 AS subid, n.nspname AS schema,
       format('%I.%I', n.nspname, t.typname) AS id, NULL::text AS parent,
       quote_ident(pg_get_userbyid(t.typowner)) AS _owner,
       CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain'
                      WHEN 'c' THEN 'composite' WHEN 'r' THEN 'range' END AS typtype,
       (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
          FROM pg_enum e WHERE e.enumtypid = t.oid) AS labels,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
       CASE WHEN t.typtype = 'd' AND t.typcollation <> 0
             AND t.typcollation <> (SELECT b.typcollation FROM pg_type b
                                     WHERE b.oid = t.typbasetype)
            THEN (SELECT format('%I.%I', cn.nspname, co.collname)
                    FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                   WHERE co.oid = t.typcollation) END AS collation,
       CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END AS "default",
       CASE WHEN t.typtype = 'd' THEN t.typnotnull::text END AS not_null,
       CASE WHEN t.typtype = 'r' THEN format_type(r.rngsubtype, NULL) END AS subtype,
       CASE WHEN r.rngsubopc IS NOT NULL AND NOT opc.opcdefault
            THEN format('%I.%I', opcn.nspname, opc.opcname) END AS subtype_opclass,
       CASE WHEN r.rngcollation <> 0
             AND r.rngcollation <> (SELECT b.typcollation FROM pg_type b
                                     WHERE b.oid = r.rngsubtype)
            THEN (SELECT format('%I.%I', cn.nspname, co.collname)
                    FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                   WHERE co.oid = r.rngcollation) END AS range_collation,
       nullif(r.rngcanonical, 0)::regproc::text AS canonical,
       nullif(r.rngsubdiff, 0)::regproc::text AS subtype_diff,
       CASE WHEN r.rngmultitypid IS NOT NULL
            THEN (SELECT format('%I.%I', mn.nspname, m.typname)
                    FROM pg_type m JOIN pg_namespace mn ON mn.oid = m.typnamespace
                   WHERE m.oid = r.rngmultitypid) END AS multirange_type_name,
       (SELECT string_agg(aclitem, ',' ORDER BY aclitem) FROM (
            SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                        WHEN x.grantee = t.typowner THEN '@owner'
                        ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                   || '=' || x.privilege_type
                   || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS aclitem
              FROM aclexplode(coalesce(t.typacl, acldefault('T', t.typowner))) x) a) AS acl,
       concat_ws(' ', 'pg_type:' || nullif(t.typarray, 0),
                 'pg_class:' || nullif(t.typrelid, 0),
                 'pg_type:' || r.rngmultitypid,
                 'pg_type:' || (SELECT m.typarray FROM pg_type m
                                 WHERE m.oid = r.rngmultitypid)) AS _addr
  FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace
  LEFT JOIN pg_range r ON r.rngtypid = t.oid
  LEFT JOIN pg_opclass opc ON opc.oid = r.rngsubopc
  LEFT JOIN pg_namespace opcn ON opcn.oid = opc.opcnamespace
 WHERE t.typtype IN ('e', 'd', 'c', 'r')
   AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                      AND d.objid = t.oid AND d.deptype = 'e')
