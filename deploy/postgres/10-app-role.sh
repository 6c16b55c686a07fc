#!/bin/sh
# Runs once, when the database is created (mounted in
# /docker-entrypoint-initdb.d), as the schema owner (POSTGRES_USER, `app`).
#
# Creates the role the app servers connect as (DATABASE_URL): it may log in
# and owns nothing. Migrations run as the owner (DATABASE_MIGRATION_URL),
# and that step grants this role, at every start, what the app needs: the
# app's tables, but on audit_log only INSERT and SELECT; owning nothing, it
# can neither drop nor disable the append-only triggers
# (backend/src/db/migrations.rs, grant_app_role).
set -eu
password=$(cat /run/secrets/app_db_password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=pw="$password" --set=db="$POSTGRES_DB" <<'SQL'
CREATE ROLE app_runtime LOGIN PASSWORD :'pw';
GRANT CONNECT ON DATABASE :"db" TO app_runtime;
SQL
