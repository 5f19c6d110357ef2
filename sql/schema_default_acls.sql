-- schema_default_acls.sql: default privileges (ALTER DEFAULT PRIVILEGES), per
-- role, schema (or none) and object type (see schema_schemas.sql). acl is
-- what the entry grants; baseline what holds without the entry (the built-in
-- defaults for an entry of no schema, nothing for one of a schema).
SELECT 'default_acl' AS kind, 'pg_default_acl' AS cls, d.oid, 0 AS subid,
       n.nspname AS schema,
       format('FOR ROLE %I', pg_get_userbyid(d.defaclrole))
           || coalesce(' IN SCHEMA ' || quote_ident(n.nspname), '')
           || ' ON ' || CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                                           WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES'
                                           WHEN 'n' THEN 'SCHEMAS' END AS id,
       NULL::text AS parent,
       quote_ident(pg_get_userbyid(d.defaclrole)) AS _role,
       CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                            WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES'
                            WHEN 'n' THEN 'SCHEMAS' END AS _objtype,
       quote_ident(n.nspname) AS _in_schema,
       (SELECT string_agg(aclitem, ',' ORDER BY aclitem) FROM (
            SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                        WHEN x.grantee = d.defaclrole THEN '@owner'
                        ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                   || '=' || x.privilege_type
                   || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS aclitem
              FROM aclexplode(d.defaclacl) x) a) AS acl,
       CASE WHEN d.defaclnamespace = 0 THEN
            (SELECT string_agg(aclitem, ',' ORDER BY aclitem) FROM (
                SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                            WHEN x.grantee = d.defaclrole THEN '@owner'
                            ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                       || '=' || x.privilege_type
                       || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS aclitem
                  FROM aclexplode(acldefault(CASE d.defaclobjtype WHEN 'S' THEN 's'
                                                  ELSE d.defaclobjtype END,
                                             d.defaclrole)) x) b) END AS _baseline
  FROM pg_default_acl d
  LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
