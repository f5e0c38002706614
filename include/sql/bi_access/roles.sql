-- The BI roles, their session defaults and what they must not have (pulse.bi_access).
--
-- Run first in every publish transaction's BI SQL (then grants.sql), by refresh_reporting, and by
-- `python -m pulse.bi_access add-user`. pulse.bi_access sets its parameters just before, as settings
-- local to the transaction: pulse_bi.role, pulse_bi.listener_group and pulse_bi.role_settings (a JSON
-- object of session defaults). Idempotent.
DO $bi_roles$
DECLARE
    bi_role text := current_setting('pulse_bi.role');
    listener_group text := current_setting('pulse_bi.listener_group');
    setting record;
BEGIN
    -- Which per-listener login sees which listener. A concurrent first publish may create it too.
    BEGIN
        CREATE SCHEMA IF NOT EXISTS pulse_meta;
        CREATE TABLE IF NOT EXISTS pulse_meta.bi_listener_logins (
            login name NOT NULL,
            listener text NOT NULL,
            PRIMARY KEY (login, listener)
        );
    EXCEPTION WHEN unique_violation OR duplicate_table OR duplicate_schema THEN
        NULL;
    END;
    -- Two transactions granting at once would update the same catalog rows: they take turns on this
    -- table's lock. A BI role cannot take it (it has no access to pulse_meta), so it cannot hold up a
    -- publish this way. Held until the transaction ends.
    LOCK TABLE pulse_meta.bi_listener_logins IN SHARE ROW EXCLUSIVE MODE;

    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = bi_role)
            OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = listener_group) THEN
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = bi_role) THEN
                EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION', bi_role);
            END IF;
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = listener_group) THEN
                EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION',
                               listener_group);
            END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE '% may not create roles, so the BI role % is missing and BI grants are skipped: '
                         'ask an administrator to run CREATE ROLE % LOGIN; CREATE ROLE % NOLOGIN',
                         current_user, bi_role, bi_role, listener_group;
            RETURN;
        END;
    END IF;

    -- Session defaults of the analyst login; a value an administrator set is kept.
    FOR setting IN SELECT key, value FROM jsonb_each_text(current_setting('pulse_bi.role_settings')::jsonb)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles r, unnest(r.rolconfig) AS c(config)
                       WHERE r.rolname = bi_role AND split_part(c.config, '=', 1) = setting.key) THEN
            EXECUTE format('ALTER ROLE %I SET %I = %L', bi_role, setting.key, setting.value);
        END IF;
    END LOOP;

    -- Temporary tables and functions: PUBLIC may create them in a new database, and a BI session can
    -- turn its read-only default off. Only the publishing role keeps the privilege.
    IF has_database_privilege('public', current_database(), 'TEMPORARY') THEN
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                AND NOT pg_has_role(current_user, (SELECT datdba FROM pg_database
                                                   WHERE datname = current_database()), 'MEMBER') THEN
            EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), current_user);
        END IF;
        EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
        IF has_database_privilege('public', current_database(), 'TEMPORARY') THEN
            RAISE WARNING 'BI roles can still create temporary tables in database %: % may not revoke it; ask '
                          'its owner to run REVOKE TEMPORARY ON DATABASE % FROM PUBLIC',
                          current_database(), current_user, current_database();
        END IF;
    END IF;

    -- The listeners a per-listener login may see, for the row-level security policies (grants.sql). It
    -- reads pulse_meta with its owner's rights, so the logins need no access to pulse_meta.
    IF to_regprocedure('pulse_meta.bi_login_listeners(name)') IS NULL THEN
        CREATE FUNCTION pulse_meta.bi_login_listeners(login name) RETURNS SETOF text
            LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
            AS $login_listeners$
                SELECT l.listener FROM pulse_meta.bi_listener_logins AS l WHERE l.login = $1
            $login_listeners$;
        REVOKE ALL ON FUNCTION pulse_meta.bi_login_listeners(name) FROM PUBLIC;
    END IF;
    IF NOT has_function_privilege(listener_group, 'pulse_meta.bi_login_listeners(name)', 'EXECUTE') THEN
        EXECUTE format('GRANT EXECUTE ON FUNCTION pulse_meta.bi_login_listeners(name) TO %I', listener_group);
    END IF;
END
$bi_roles$;
