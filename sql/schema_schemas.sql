-- schema_schemas.sql: user schemas.
--
-- Every schema_*.sql snapshot query returns: kind; cls, oid, subid (the
-- catalog address, used only inside one snapshot to map pg_depend and
-- pg_description onto objects, never as identity); schema (for --schema
-- filters); id (the identity: quoted names and signatures, unique per kind);
-- parent (the full id "kind id" of the owning object, or NULL); then the
-- properties that are compared. Columns named _x are bookkeeping, not
-- compared. acl lists "grantee=PRIVILEGE[*]" items sorted, with the owner as
-- @owner and a NULL ACL expanded to its default, so that equal rights compare
-- equal whoever owns the object. Left out everywhere: system schemas,
-- confiture's own schema, and the members of extensions.
SELECT 'schema' AS kind, 'pg_namespace' AS cls, n.oid, 0 AS subid,
       n.nspname AS schema, quote_ident(n.nspname) AS id, NULL::text AS parent,
       quote_ident(pg_get_userbyid(n.nspowner)) AS _owner,
       (SELECT string_agg(a.item, ',' ORDER BY a.item)
          FROM (SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                            WHEN x.grantee = n.nspowner THEN '@owner'
                            ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                       || '=' || x.privilege_type
                       || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS item
                  FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) x) a) AS acl
  FROM pg_namespace n
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                      AND d.objid = n.oid AND d.deptype = 'e')
