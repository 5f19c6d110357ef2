-- schema_comments.sql: comments (COMMENT ON) of user objects, by catalog
-- address; the snapshot puts each one on the object at that address.
SELECT d.classoid::regclass::text AS cls, d.objoid AS oid, d.objsubid AS subid, d.description
  FROM pg_description d
 WHERE d.objoid >= 16384 OR d.classoid = 'pg_namespace'::regclass
