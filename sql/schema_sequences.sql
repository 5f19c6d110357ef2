-- schema_sequences.sql: sequences with every option and what owns them (see
-- schema_schemas.sql). Identity sequences belong to their column and are not
-- listed. _owned_by is the column that owns the sequence (OWNED BY).
SELECT 'sequence' AS kind, 'pg_class' AS cls, c.oid, 0 AS subid, n.nspname AS schema,
       format('%I.%I', n.nspname, c.relname) AS id, NULL::text AS parent,
       quote_ident(pg_get_userbyid(c.relowner)) AS _owner,
       format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart::text AS start, s.seqincrement::text AS increment,
       s.seqmin::text AS minvalue, s.seqmax::text AS maxvalue,
       s.seqcache::text AS cache, s.seqcycle::text AS cycle,
       (c.relpersistence = 'u')::text AS unlogged,
       (SELECT format('%I.%I.%I', tn.nspname, t.relname, a.attname)
          FROM pg_depend d
          JOIN pg_class t ON t.oid = d.refobjid
          JOIN pg_namespace tn ON tn.oid = t.relnamespace
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a'
           AND d.refobjsubid > 0) AS _owned_by,
       (SELECT string_agg(aclitem, ',' ORDER BY aclitem) FROM (
            SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                        WHEN x.grantee = c.relowner THEN '@owner'
                        ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                   || '=' || x.privilege_type
                   || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS aclitem
              FROM aclexplode(coalesce(c.relacl, acldefault('s', c.relowner))) x) a) AS acl
  FROM pg_class c
  JOIN pg_sequence s ON s.seqrelid = c.oid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'S'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype IN ('e', 'i'))
