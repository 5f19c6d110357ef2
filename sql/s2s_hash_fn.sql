-- s2s: the extended hash function of type $1's default hash operator class,
-- when it takes that very type (so that it can be called directly), e.g.
-- hashint4extended for integer. Built-in only: postgres_fdw ships nothing else.
SELECT p.proname
FROM pg_opclass oc
JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash'
JOIN pg_amproc ap ON ap.amprocfamily = oc.opcfamily AND ap.amproclefttype = oc.opcintype
                 AND ap.amprocrighttype = oc.opcintype AND ap.amprocnum = 2
JOIN pg_proc p ON p.oid = ap.amproc
WHERE oc.opcdefault
  AND oc.opcintype = $1::regtype
  AND p.proargtypes[0] = $1::regtype
  AND p.pronamespace = 'pg_catalog'::regnamespace
LIMIT 1
