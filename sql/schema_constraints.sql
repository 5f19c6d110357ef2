-- schema_constraints.sql: constraints of tables (primary key, unique, check,
-- foreign key, exclusion) and of domains (see schema_schemas.sql).
-- definition is pg_get_constraintdef (with NOT VALID, NULLS NOT DISTINCT,
-- MATCH, actions and DEFERRABLE). Left out: constraint triggers (they come
-- with the triggers) and the copies partitions get from their parent.
-- _inherited: a check constraint a child inherits (created with its parent).
-- id and parent come from the relation or domain at _of (see
-- schema_columns.sql).
-- _addr: the index behind a primary key, unique or exclusion constraint.
SELECT 'constraint' AS kind, 'pg_constraint' AS cls, k.oid, 0 AS subid, n.nspname AS schema,
       NULL::text AS id, NULL::text AS parent,
       CASE WHEN k.conrelid <> 0 THEN 'pg_class:' || k.conrelid
            ELSE 'pg_type:' || k.contypid END AS _of,
       quote_ident(k.conname) AS _name,
       k.contype::text AS _type,
       (k.coninhcount > 0 AND NOT k.conislocal)::text AS _inherited,
       regexp_replace(pg_get_constraintdef(k.oid), ' NOT VALID$', '') AS definition,
       k.convalidated::text AS validated,
       CASE WHEN k.contype IN ('p', 'u', 'x') THEN 'pg_class:' || nullif(k.conindid, 0) END
           AS _addr
  FROM pg_constraint k
  LEFT JOIN pg_class c ON c.oid = k.conrelid
  LEFT JOIN pg_type t ON t.oid = k.contypid
  JOIN pg_namespace n ON n.oid = coalesce(c.relnamespace, t.typnamespace)
 WHERE k.contype IN ('p', 'u', 'c', 'f', 'x')
   AND k.conparentid = 0
   AND (c.oid IS NULL OR (c.relkind IN ('r', 'p') AND c.reloftype = 0))
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = CASE WHEN k.conrelid <> 0 THEN 'pg_class'::regclass
                                           ELSE 'pg_type'::regclass END
                      AND d.objid = coalesce(c.oid, t.oid) AND d.deptype = 'e')
