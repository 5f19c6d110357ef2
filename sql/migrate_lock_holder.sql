-- Who holds the migration lock: $1 is the namespace, $2 the key. A
-- session-level advisory lock has no grant time in pg_locks; confiture takes
-- it right after connecting, so the holder's backend_start is when it was
-- taken (for other holders it is an upper bound).
SELECT l.pid,
       coalesce(a.application_name, ''),
       CASE WHEN a.client_addr IS NULL THEN 'local socket'
            ELSE host(a.client_addr) || ':' || a.client_port END,
       coalesce(a.usename, ''),
       coalesce(floor(extract(epoch FROM now() - a.backend_start))::bigint, -1),
       coalesce(a.state, '')
  FROM pg_locks l
  LEFT JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted
   AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
 LIMIT 1
