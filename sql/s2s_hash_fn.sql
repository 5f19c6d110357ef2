-- s2s: the extended hash function of type $1's default hash operator class
-- that can be called on a value of $1 directly: one declared on $1 itself
-- (hashint4extended for integer), or on a type $1 turns into implicitly and
-- for free (varchar -> text: hashtextextended). Built-in only: postgres_fdw
-- ships nothing else.
SELECT p.proname
FROM pg_opclass oc
JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash'
JOIN pg_amproc ap ON ap.amprocfamily = oc.opcfamily AND ap.amproclefttype = oc.opcintype
                 AND ap.amprocrighttype = oc.opcintype AND ap.amprocnum = 2
JOIN pg_proc p ON p.oid = ap.amproc
WHERE oc.opcdefault
  AND p.pronamespace = 'pg_catalog'::regnamespace
  AND p.proargtypes[0] = oc.opcintype
  AND (oc.opcintype = $1::regtype
       OR EXISTS (SELECT FROM pg_cast c
                   WHERE c.castsource = $1::regtype AND c.casttarget = oc.opcintype
                     AND c.castmethod = 'b' AND c.castcontext = 'i'))
ORDER BY oc.opcintype = $1::regtype DESC
LIMIT 1
