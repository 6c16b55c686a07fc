//! `/.well-known/jwks.json`: the public halves of the keys that may verify
//! our access tokens right now (retired keys leave once their tokens expire).

use crate::security::signing_keys;
use crate::state::AppState;
use actix_web::{web, HttpResponse};

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "JSON Web Key Set (RFC 7517), public keys only")))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let keys = state.keys.signing.current();
    HttpResponse::Ok()
        // The publication rule counts on this max-age (`signing_keys`).
        .insert_header((
            "Cache-Control",
            format!("public, max-age={}", signing_keys::JWKS_MAX_AGE_SECS),
        ))
        .json(keys.jwks(chrono::Utc::now().timestamp()))
}
