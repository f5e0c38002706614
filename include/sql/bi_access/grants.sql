-- What the BI roles may read of one source: its gold tables, the gold views over them and its
-- reporting views; and, on a gold table with a `listener` column, which rows (row-level security).
--
-- Run after roles.sql, in the publish transaction (the tables are new: the grants and policies are
-- given again before any reader sees them) and by refresh_reporting. Parameters (set by
-- pulse.bi_access): pulse_bi.role, pulse_bi.listener_group, pulse_bi.gold_tables (a text array),
-- pulse_bi.view_prefix.
--
-- The analyst login (pulse_bi) reads every row. A per-listener login is a member of the listener
-- group: it reads only the sources that have per-listener tables, and of those tables only the rows of
-- the listeners pulse_meta.bi_listener_logins maps it to. Any other role except the tables' owner (the
-- publishing role, which the pipeline reads as) sees no row of a per-listener table. Views run with
-- the reader's rights (security_invoker), so the policies hold through them.
DO $bi_grants$
DECLARE
    bi_role text := current_setting('pulse_bi.role');
    listener_group text := current_setting('pulse_bi.listener_group');
    gold_tables text[] := current_setting('pulse_bi.gold_tables')::text[];
    view_prefix text := current_setting('pulse_bi.view_prefix');
    per_listener text[];
    readers text[];
    reader text;
    relation record;
    table_name text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = bi_role)
            OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = listener_group) THEN
        RETURN;  -- roles.sql said why
    END IF;
    SELECT coalesce(array_agg(t ORDER BY t), ARRAY[]::text[]) INTO per_listener
    FROM unnest(gold_tables) AS t
    WHERE EXISTS (SELECT FROM pg_attribute
                  WHERE attrelid = format('gold.%I', t)::regclass AND attname = 'listener' AND NOT attisdropped);
    readers := ARRAY[bi_role];
    IF cardinality(per_listener) > 0 THEN
        readers := readers || listener_group;
    END IF;

    FOREACH reader IN ARRAY readers
    LOOP
        IF NOT has_schema_privilege(reader, 'gold', 'USAGE') THEN
            EXECUTE format('GRANT USAGE ON SCHEMA gold TO %I', reader);
        END IF;
        IF NOT has_schema_privilege(reader, 'reporting', 'USAGE') THEN
            EXECUTE format('GRANT USAGE ON SCHEMA reporting TO %I', reader);
        END IF;
        EXECUTE format('GRANT SELECT ON %s TO %I',
                       (SELECT string_agg(format('gold.%I', t), ', ') FROM unnest(gold_tables) AS t), reader);
        -- The views over this source's gold tables (in gold: a source's older table names) and its
        -- reporting views.
        FOR relation IN
            SELECT DISTINCT n.nspname AS schema_name, c.relname AS view_name,
                   coalesce((SELECT bool_or(lower(o) IN ('security_invoker=true', 'security_invoker=on',
                                                        'security_invoker=1', 'security_invoker=yes'))
                             FROM unnest(c.reloptions) AS o), false) AS invoker_rights
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'v' AND (
                (n.nspname = 'reporting' AND starts_with(c.relname, view_prefix))
                OR (n.nspname = 'gold' AND EXISTS (
                    SELECT FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass
                                                            AND d.objid = r.oid
                    WHERE r.ev_class = c.oid AND d.refclassid = 'pg_class'::regclass
                      AND d.refobjid IN (SELECT format('gold.%I', t)::regclass FROM unnest(gold_tables) AS t))))
        LOOP
            IF reader = listener_group AND NOT relation.invoker_rights THEN
                RAISE EXCEPTION 'view %.% reads gold with its owner''s rights, so row-level security would not '
                                'apply to the per-listener logins: create it WITH (security_invoker = true)',
                                relation.schema_name, relation.view_name;
            END IF;
            EXECUTE format('GRANT SELECT ON %I.%I TO %I', relation.schema_name, relation.view_name, reader);
        END LOOP;
    END LOOP;

    FOREACH table_name IN ARRAY per_listener
    LOOP
        IF NOT (SELECT relrowsecurity FROM pg_class WHERE oid = format('gold.%I', table_name)::regclass) THEN
            EXECUTE format('ALTER TABLE gold.%I ENABLE ROW LEVEL SECURITY', table_name);
        END IF;
        IF NOT EXISTS (SELECT FROM pg_policies
                       WHERE schemaname = 'gold' AND tablename = table_name AND policyname = 'every_listener') THEN
            EXECUTE format('CREATE POLICY every_listener ON gold.%I FOR SELECT TO %I USING (true)',
                           table_name, bi_role);
        END IF;
        IF NOT EXISTS (SELECT FROM pg_policies
                       WHERE schemaname = 'gold' AND tablename = table_name AND policyname = 'own_listener') THEN
            EXECUTE format('CREATE POLICY own_listener ON gold.%I FOR SELECT TO %I '
                           'USING (listener IN (SELECT pulse_meta.bi_login_listeners(current_user)))',
                           table_name, listener_group);
        END IF;
    END LOOP;
END
$bi_grants$;
