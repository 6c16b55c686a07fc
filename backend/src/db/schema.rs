//! The portable schema: every column type here maps on SQLite and PostgreSQL.
//! Keep it in step with `migrations/{sqlite,postgres}`.

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        email_verified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_roles (user_id, role) {
        user_id -> Text,
        role -> Text,
        granted_at -> Nullable<Timestamp>,
        granted_by -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        device_label -> Text,
        client_ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
        mfa_verified_at -> Nullable<Timestamp>,
        oauth_scope -> Nullable<Text>,
        oauth_client_id -> Nullable<Text>,
        token_audience -> Nullable<Text>,
        device_id -> Nullable<Text>,
        reauthenticated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_mfa (user_id) {
        user_id -> Text,
        secret -> Text,
        created_at -> Timestamp,
        enabled_at -> Nullable<Timestamp>,
        last_used_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        user_id -> Text,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mfa_challenges (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        failed_attempts -> Integer,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        session_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor -> Nullable<Text>,
        action -> Text,
        target -> Nullable<Text>,
        outcome -> Text,
        client_ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        detail -> Text,
        prev_hash -> Nullable<Text>,
        hash -> Nullable<Text>,
    }
}

diesel::table! {
    user_ssn (user_id) {
        user_id -> Text,
        ciphertext -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        user_id -> Text,
        label -> Text,
        compliant -> Bool,
        registered_at -> Timestamp,
        last_seen_at -> Nullable<Timestamp>,
        reviewed_at -> Nullable<Timestamp>,
        reviewed_by -> Nullable<Text>,
    }
}

diesel::table! {
    access_decisions (id) {
        id -> BigInt,
        decided_at -> Timestamp,
        user_id -> Nullable<Text>,
        method -> Text,
        route -> Text,
        outcome -> Text,
        reason -> Text,
        client_ip -> Nullable<Text>,
        device_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    decision_counts (id) {
        id -> BigInt,
        minute -> Timestamp,
        route -> Text,
        allowed -> BigInt,
    }
}

diesel::table! {
    oauth_clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        audience -> Nullable<Text>,
        updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    oauth_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        user_id -> Text,
        redirect_uri -> Text,
        code_challenge -> Text,
        scope -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        session_id -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_consent_requests (id_hash) {
        id_hash -> Text,
        session_id -> Text,
        user_id -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        state -> Nullable<Text>,
        code_challenge -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    oauth_grants (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    workshop_solves (user_id, challenge_id) {
        user_id -> Text,
        challenge_id -> Text,
        solved_at -> Timestamp,
    }
}

diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(user_mfa -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(mfa_challenges -> users (user_id));
diesel::joinable!(devices -> users (user_id));
diesel::joinable!(user_ssn -> users (user_id));
diesel::joinable!(oauth_codes -> oauth_clients (client_id));
diesel::joinable!(workshop_solves -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    user_roles,
    user_mfa,
    devices,
    sessions,
    refresh_tokens,
    audit_log
);
