-- s2s: the hash functions of type $1's default hash operator class that can
-- be called on a value of $1 directly. Column 1: the 64-bit (extended) one,
-- column 2: the 32-bit one, column 3: whether they are polymorphic (they
-- then depend on the element type, which the caller checks). A domain counts
-- as its base type; an array, enum, range or multirange uses the anyarray,
-- anyenum, anyrange or anymultirange functions (hash_array(col), ...); a type
-- that turns into another implicitly and for free uses that one (varchar ->
-- text; among several, the preferred type of the category, as PostgreSQL's
-- own default opclass lookup does: text, not bpchar, whose hash ignores
-- trailing blanks). Built-in only: postgres_fdw ships nothing else.
WITH t AS (
	SELECT b.oid AS base,
	       CASE WHEN b.typtype = 'e' THEN 'anyenum'::regtype
	            WHEN b.typtype = 'r' THEN 'anyrange'::regtype
	            WHEN b.typtype = 'm' THEN to_regtype('anymultirange')
	            WHEN b.typcategory = 'A' AND b.typelem <> 0 THEN 'anyarray'::regtype
	       END AS poly
	FROM pg_type d
	JOIN pg_type b ON b.oid = CASE WHEN d.typtype = 'd' THEN d.typbasetype ELSE d.oid END
	WHERE d.oid = $1::regtype
)
SELECT p2.proname, p1.proname, oc.opcintype = t.poly
FROM t, pg_opclass oc
JOIN pg_type it ON it.oid = oc.opcintype
JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash'
JOIN pg_amproc a2 ON a2.amprocfamily = oc.opcfamily AND a2.amproclefttype = oc.opcintype
                 AND a2.amprocrighttype = oc.opcintype AND a2.amprocnum = 2
JOIN pg_proc p2 ON p2.oid = a2.amproc
JOIN pg_amproc a1 ON a1.amprocfamily = oc.opcfamily AND a1.amproclefttype = oc.opcintype
                 AND a1.amprocrighttype = oc.opcintype AND a1.amprocnum = 1
JOIN pg_proc p1 ON p1.oid = a1.amproc
WHERE oc.opcdefault
  AND p2.pronamespace = 'pg_catalog'::regnamespace
  AND p1.pronamespace = 'pg_catalog'::regnamespace
  AND p2.proargtypes[0] = oc.opcintype
  AND p1.proargtypes[0] = oc.opcintype
  AND (oc.opcintype = t.base OR oc.opcintype = t.poly
       OR EXISTS (SELECT FROM pg_cast c
                   WHERE c.castsource = t.base AND c.casttarget = oc.opcintype
                     AND c.castmethod = 'b' AND c.castcontext = 'i'))
ORDER BY oc.opcintype = t.base DESC, oc.opcintype = t.poly DESC, it.typispreferred DESC
LIMIT 1
