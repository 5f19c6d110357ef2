-- schema_functions.sql: functions, procedures and aggregates by full
-- signature: the types of their input arguments (see schema_schemas.sql). definition is pg_get_functiondef
-- (language, volatility, strictness, SECURITY DEFINER, SET options, cost,
-- rows, parallel, body); aggregates are rebuilt from pg_aggregate instead.
-- _result and _arguments tell whether CREATE OR REPLACE can change it.
SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure'
                      ELSE 'function' END AS kind,
       'pg_proc' AS cls, p.oid, 0 AS subid, n.nspname AS schema,
       format('%I.%I(%s)', n.nspname, p.proname,
              CASE WHEN a.aggkind IN ('o', 'h') THEN pg_get_function_identity_arguments(p.oid)
                   ELSE oidvectortypes(p.proargtypes) END) AS id,
       NULL::text AS parent,
       quote_ident(pg_get_userbyid(p.proowner)) AS _owner,
       CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
       pg_get_function_result(p.oid) AS _result,
       pg_get_function_arguments(p.oid) AS _arguments,
       CASE WHEN p.prokind = 'a' THEN concat_ws(', ',
           'SFUNC = ' || a.aggtransfn::regproc::text,
           'STYPE = ' || format_type(a.aggtranstype, NULL),
           'SSPACE = ' || nullif(a.aggtransspace, 0),
           'FINALFUNC = ' || nullif(a.aggfinalfn, 0)::regproc::text,
           CASE WHEN a.aggfinalextra THEN 'FINALFUNC_EXTRA' END,
           CASE WHEN a.aggfinalfn <> 0 AND a.aggfinalmodify <> 'r' THEN 'FINALFUNC_MODIFY = '
                || CASE a.aggfinalmodify WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END END,
           'COMBINEFUNC = ' || nullif(a.aggcombinefn, 0)::regproc::text,
           'SERIALFUNC = ' || nullif(a.aggserialfn, 0)::regproc::text,
           'DESERIALFUNC = ' || nullif(a.aggdeserialfn, 0)::regproc::text,
           'INITCOND = ' || quote_literal(a.agginitval),
           'MSFUNC = ' || nullif(a.aggmtransfn, 0)::regproc::text,
           'MINVFUNC = ' || nullif(a.aggminvtransfn, 0)::regproc::text,
           'MSTYPE = ' || format_type(nullif(a.aggmtranstype, 0), NULL),
           'MSSPACE = ' || nullif(a.aggmtransspace, 0),
           'MFINALFUNC = ' || nullif(a.aggmfinalfn, 0)::regproc::text,
           CASE WHEN a.aggmfinalextra THEN 'MFINALFUNC_EXTRA' END,
           'MINITCOND = ' || quote_literal(a.aggminitval),
           'SORTOP = ' || nullif(a.aggsortop, 0)::regoperator::text,
           CASE WHEN p.proparallel <> 'u' THEN 'PARALLEL = '
                || CASE p.proparallel WHEN 's' THEN 'SAFE' ELSE 'RESTRICTED' END END,
           CASE WHEN a.aggkind = 'h' THEN 'HYPOTHETICAL' END) END AS aggregate,
       CASE WHEN p.prokind = 'a' AND a.aggkind <> 'n' THEN 'ordered-set' END AS aggregate_kind,
       (SELECT string_agg(aclitem, ',' ORDER BY aclitem) FROM (
            SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                        WHEN x.grantee = p.proowner THEN '@owner'
                        ELSE quote_ident(pg_get_userbyid(x.grantee)) END
                   || '=' || x.privilege_type
                   || CASE WHEN x.is_grantable THEN '*' ELSE '' END AS aclitem
              FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) x) acl) AS acl
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'confiture')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                      AND d.objid = p.oid AND d.deptype IN ('e', 'i'))
