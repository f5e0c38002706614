-- The sessions holding up a publish: those holding a lock on one of the gold tables it replaces, and the
-- other publishes of the same source (named by their application_name). %(tables)s: the gold tables,
-- as schema-qualified names; %(publisher)s: the publishing sessions' application_name.
SELECT a.pid, a.usename AS role, a.application_name, a.state, a.xact_start, a.query_start,
       left(regexp_replace(a.query, '\s+', ' ', 'g'), 120) AS query
FROM pg_stat_activity a
WHERE a.pid <> pg_backend_pid()
  AND (a.application_name = %(publisher)s
       OR a.pid IN (SELECT l.pid FROM pg_locks l
                    WHERE l.granted
                      AND l.relation IN (SELECT to_regclass(t) FROM unnest(%(tables)s::text[]) AS t)))
ORDER BY a.xact_start NULLS LAST, a.pid
