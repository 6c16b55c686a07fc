//! `/patterns/data-protection`: encryption at rest, secret management.

use super::{PatternLayout, StaticTable};
use crate::components::demo_panel::{Demo, DemoPanel};
use leptos::prelude::*;
use leptos_router::components::A;

const ENCRYPTION: &[&[&str]] = &[
    &["Algorithm", "Fernet (AES-128-CBC with HMAC-SHA256)", "AES-256-GCM (authenticated encryption)"],
    &["Key", "One master key; or one derived from a password with PBKDF2 (480,000 iterations)", "Random 256-bit keys from FIELD_KEYS, each with an id; never derived from a password"],
    &["Nonce", "Inside Fernet", "A fresh random 96-bit nonce per value"],
    &["Binding", "None", "Associated data names the table, column and row: a ciphertext copied to another row does not decrypt"],
    &["Rotation", "(not covered)", "v1:<key id>:… format; several keys; rotate-keys re-encrypts in resumable batches"],
    &["Reading", "Transparent property", "Decrypted only to mask it, or for a reveal that needs a fresh second factor and is audited"],
];

const SECRETS: &[&[&str]] = &[
    &[
        "Environment variables",
        "Container config",
        "DATABASE_URL",
        "DATABASE_URL, SESSION_KEY, FIELD_KEYS; or each as *_FILE (a mounted secret)",
    ],
    &[
        "Secret manager",
        "Application secrets",
        "AWS Secrets Manager, HashiCorp Vault",
        "HashiCorp Vault KV v2, with a token or AppRole, read once at start-up",
    ],
    &[
        "Hardware Security Module",
        "Cryptographic keys",
        "AWS CloudHSM",
        "Not used: signing keys are files in SIGNING_KEYS_DIR",
    ],
];

#[component]
pub fn DataProtectionPage() -> impl IntoView {
    view! {
        <PatternLayout slug="data-protection">
            <p>
                "Access control protects data while the application is the only way in. Backups, "
                "database dumps, a misconfigured replica or a leaked disk bypass it; encryption at rest "
                "and careful handling of the keys are what is left then."
            </p>
            <h2>"Encryption at rest"</h2>
            <p>
                "Sensitive columns (the SSN field, TOTP secrets) are encrypted by the application before "
                "they reach the database, so the database and its backups hold only ciphertext. The "
                "catalogue's example and this app's implementation:"
            </p>
            <StaticTable head=&["", "The catalogue", "This app"] rows=ENCRYPTION/>
            <DemoPanel demo=Demo::SsnMasked title="Read an encrypted field">
                <p>
                    "Reads your SSN field as every page does: masked. Store one on "
                    <A href="/account">"your account"</A> " first; revealing the full number there asks "
                    "for a fresh code and writes an audit entry."
                </p>
            </DemoPanel>
            <h2>"Secret management"</h2>
            <p>
                "Secrets reach the process from outside, never from the code. Every type that holds one "
                "prints " <code>"[redacted]"</code> " when logged, and no error message carries a secret value. "
                "In production a missing key stops the start instead of falling back to a default."
            </p>
            <StaticTable head=&["Storage", "Use case", "Example", "This app"] rows=SECRETS/>
        </PatternLayout>
    }
}
