//! `/patterns/anti-patterns`: the anti-pattern lab. For each anti-pattern,
//! the bad code beside the good, and a live demonstration that the good
//! version holds. The bad versions exist only as text in the constants below
//! (rendered in `<pre>`): they are never compiled into the product.

use super::{PatternLayout, StaticTable};
use crate::components::demo_panel::{Demo, DemoPanel};
use leptos::prelude::*;

const OBSCURITY: &[&[&str]] = &[
    &["Custom encryption algorithm", "Untested, likely breakable", "Use AES-256-GCM, ChaCha20-Poly1305", "AES-256-GCM from aws-lc-rs for columns; RS256 for tokens; Argon2id for passwords"],
    &["Hidden admin URLs", "Discovery via fuzzing", "Proper authentication + authorization", "/admin is a plain, documented URL; the policy table and the PDP guard it"],
    &["Encoded (not encrypted) secrets", "Base64 is reversible", "Use proper encryption", "Secrets are encrypted or stored as HMACs/hashes; JWT claims are readable by design and hold nothing secret"],
];

const CLIENT_INPUT_BAD: &str = r#"// BAD (text only, never compiled): the client decides who is admin.
async fn admin_users(req: HttpRequest) -> HttpResponse {
    let says_admin = req.headers().get("X-Is-Admin")
        .map_or(false, |v| v == "true");
    if says_admin {
        return list_all_users().await;   // anyone can send that header
    }
    HttpResponse::Forbidden().finish()
}"#;

const CLIENT_INPUT_GOOD: &str = r#"// GOOD: roles come from the database, for the verified user, on every
// request; the PEP asks the PDP before the handler runs.
// routes/table.rs (scope api_v1 "/api/v1")
GET "/admin/users" => admin::users, admin_read;
// http/enforce.rs: role-claiming headers are only recorded
if let Some(name) = PRIVILEGE_HEADERS.iter().find(|h| headers.contains_key(**h)) {
    audit "access.forged_header" (actor: the token's user) — never believed
}
match access::decide(&state, &request, token).await { … }"#;

const INJECTION_BAD: &str = r#"// BAD (text only, never compiled): the value becomes part of the SQL.
let sql = format!(
    "SELECT action FROM audit_log WHERE actor = '{me}' AND action LIKE '%{q}%'"
);
diesel::sql_query(sql).load::<Row>(conn)?;   // q = "' OR '1'='1" reads every row"#;

const INJECTION_GOOD: &str = r#"// GOOD: the query's shape is fixed; q is one bound value.
let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
audit_log::table
    .filter(audit_log::actor.eq(me))
    .filter(audit_log::action.like(pattern).escape('\\'))
    .select(audit_log::action)
    .load::<String>(conn)?"#;

const HARDCODED_BAD: &str = r#"// BAD (text only, never compiled): the secret ships with the source,
// in every clone, fork, log of the build and old commit.
const DB_PASSWORD: &str = "<the production password>";
const SESSION_KEY: &[u8] = b"<32 bytes pasted here>";"#;

const HARDCODED_GOOD: &str = r#"// GOOD: asked at start-up, in order: the variable, its *_FILE, Vault.
let chain = ProviderChain::standard(&env_lookup, vault.as_ref());
let url = chain.get("DATABASE_URL")?   // Option<SecretString>
    .ok_or_else(|| missing("DATABASE_URL"))?;   // missing: no start
// Types holding secrets print [redacted]; semgrep's hardcoded-secret-literal
// rule and detect-secrets fail the build on a literal like the one on the left."#;

const ERRORS_BAD: &str = r#"// BAD (text only, never compiled): the client learns the internals.
Err(e) => HttpResponse::InternalServerError().json(json!({
    "error": e.to_string(),            // "connection refused: db.internal:5432"
    "backtrace": format!("{:?}", e.backtrace()),
})),"#;

const ERRORS_GOOD: &str = r#"// GOOD: one error type; a 5xx says only that something failed.
fn error_response(&self) -> HttpResponse {
    let request_id = current_request_id().unwrap_or_default();
    if status.is_server_error() {
        tracing::error!(request_id = %request_id, error = ?self, "request failed");
    }
    // body: {"error": "internal server error", "request_id": "…"}
}"#;

/// The bad and the good version side by side.
#[component]
fn BadGood(bad: &'static str, good: &'static str) -> impl IntoView {
    view! {
        <div class="bad-good">
            <figure class="bad-code">
                <figcaption>"Bad (shown as text, never compiled)"</figcaption>
                <pre>{bad}</pre>
            </figure>
            <figure class="good-code">
                <figcaption>"Good (what this app does)"</figcaption>
                <pre>{good}</pre>
            </figure>
        </div>
    }
}

#[component]
pub fn AntiPatternsPage() -> impl IntoView {
    view! {
        <PatternLayout slug="anti-patterns">
            <p>
                "Each anti-pattern below is a habit that looks like security and is not. The lab puts "
                "the bad code next to the good, and lets you check live that the good version holds. The "
                "bad code is only text on this page: it is never compiled into the app."
            </p>
            <h2>"Security through obscurity"</h2>
            <p>
                "A secret design is not a control: URLs are fuzzed, binaries are decompiled, encodings are "
                "reversed. Assume the attacker has read the source, as anyone can here, and rely on keys "
                "and checks instead."
            </p>
            <StaticTable head=&["Bad practice", "Why it is wrong", "Correct approach", "Here"] rows=OBSCURITY/>
            <h2>"Trusting client input"</h2>
            <BadGood bad=CLIENT_INPUT_BAD good=CLIENT_INPUT_GOOD/>
            <DemoPanel demo=Demo::ForgedHeader title="Forge an X-Is-Admin header">
                <p>
                    "Calls the admin user list as you, adding " <code>"X-Is-Admin: true"</code>
                    ". Unless you really are an administrator, the answer is 403, and the attempt is "
                    "recorded as " <code>"access.forged_header"</code> " under your name."
                </p>
            </DemoPanel>
            <DemoPanel demo=Demo::Search title="A string built to break a query">
                <BadGood bad=INJECTION_BAD good=INJECTION_GOOD/>
                <p>"The search text is treated as text: see what the server bound."</p>
            </DemoPanel>
            <h2>"Hardcoded secrets"</h2>
            <BadGood bad=HARDCODED_BAD good=HARDCODED_GOOD/>
            <h2>"Verbose error messages"</h2>
            <BadGood bad=ERRORS_BAD good=ERRORS_GOOD/>
            <DemoPanel demo=Demo::Fail title="See a 500 with only a request id">
                <p>
                    "Asks a demo route that fails inside the server (a simulated database outage). "
                    "The answer names no host, query or stack: only a generic message and the request "
                    "id, under which the operators find the cause in the server log. "
                    "Signed in as an admin or auditor? Paste the id into "
                    <a href="/admin/logs">"Admin → Server log"</a>"."
                </p>
            </DemoPanel>
        </PatternLayout>
    }
}
