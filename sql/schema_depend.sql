-- schema_depend.sql: the dependencies between user objects (pg_depend), for
-- the order of creates and drops. A reference to a member of an extension
-- becomes a reference to the extension; the rows of a publication become the
-- publication. Built-in objects are left out, except schemas (public).
WITH ext AS (SELECT classid, objid, refclassid, refobjid FROM pg_depend WHERE deptype = 'e')
SELECT CASE WHEN d.classid IN ('pg_publication_rel'::regclass,
                               'pg_publication_namespace'::regclass)
            THEN 'pg_publication' ELSE d.classid::regclass::text END AS cls,
       CASE WHEN d.classid = 'pg_publication_rel'::regclass
            THEN (SELECT r.prpubid FROM pg_publication_rel r WHERE r.oid = d.objid)
            WHEN d.classid = 'pg_publication_namespace'::regclass
            THEN (SELECT s.pnpubid FROM pg_publication_namespace s WHERE s.oid = d.objid)
            ELSE d.objid END AS oid,
       d.objsubid AS subid,
       coalesce(e.refclassid, d.refclassid)::regclass::text AS ref_cls,
       coalesce(e.refobjid, d.refobjid) AS ref_oid,
       CASE WHEN e.refobjid IS NULL THEN d.refobjsubid ELSE 0 END AS ref_subid,
       d.deptype
  FROM pg_depend d
  LEFT JOIN ext e ON e.classid = d.refclassid AND e.objid = d.refobjid AND d.deptype <> 'e'
 WHERE d.deptype IN ('n', 'a', 'i', 'P', 'S')
   AND d.classid IN ('pg_class'::regclass, 'pg_type'::regclass, 'pg_proc'::regclass,
                     'pg_constraint'::regclass, 'pg_attrdef'::regclass,
                     'pg_rewrite'::regclass, 'pg_trigger'::regclass, 'pg_policy'::regclass,
                     'pg_namespace'::regclass, 'pg_extension'::regclass,
                     'pg_collation'::regclass, 'pg_publication_rel'::regclass,
                     'pg_publication_namespace'::regclass)
   AND d.objid >= 16384
   AND (d.refobjid >= 16384 OR d.refclassid = 'pg_namespace'::regclass)
   AND (d.classid, d.objid) NOT IN (SELECT classid, objid FROM ext)
