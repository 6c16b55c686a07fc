//! `GET /api/openapi.json` against a committed copy
//! (`backend/tests/fixtures/openapi.json`): every path, operation, schema,
//! security requirement and the refusal statuses the document adds. The
//! route declarations generate the document's paths; this pins what they
//! generate, so a change to the table that changes the document shows here.
//!
//! After an intended change to the API, refresh the copy:
//! `UPDATE_OPENAPI_SNAPSHOT=1 cargo test -p backend --test api openapi_snapshot`.

use crate::helpers::spawn_app;
use serde_json::Value;
use std::path::Path;

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi.json")
}

#[tokio::test]
async fn the_openapi_document_is_the_committed_one() {
    let app = spawn_app().await;
    let r = app.get("/api/openapi.json", None).await;
    assert_eq!(r.status(), 200);
    let served: Value = r.json().await.unwrap();
    // Keys sorted (serde_json's map), so the copy diffs line by line.
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI_SNAPSHOT").is_some() {
        std::fs::write(fixture(), &pretty).unwrap();
    }
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture()).unwrap()).unwrap();
    if served != committed {
        let actual = std::env::temp_dir().join("openapi.served.json");
        std::fs::write(&actual, &pretty).unwrap();
        panic!(
            "the served OpenAPI document differs from {} (served copy: {})",
            fixture().display(),
            actual.display()
        );
    }
}
