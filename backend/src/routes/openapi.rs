//! The OpenAPI 3 document, generated from the handlers' annotations: the
//! routes the table (`routes::table`) documents, then the refusals every
//! operation of a kind can answer ([`RefusalStatuses`]).

use actix_web::{web, HttpResponse};
use utoipa::{Modify, OpenApi};

/// The document's frame: its description, the schemas and the tags. The
/// operations come from the route table's `#[openapi]` groups
/// ([`document_value`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Secure Reference App API",
        description = "JSON API of the secure reference application. Browsers authenticate with the \
                       `__Host-access` / `__Host-refresh` cookies; API clients with `Authorization: Bearer` \
                       (tokens from `/api/v1/auth/token`). State-changing cookie requests must come from the app's own origin.",
    ),
    components(schemas(
        wire::RegisterRequest,
        wire::LoginRequest,
        wire::MeResponse,
        wire::RegisteredResponse,
        wire::PasswordPolicyResponse,
        wire::password_policy::PolicyKind,
        wire::StatusResponse,
        wire::ErrorBody,
        wire::SessionInfo,
        wire::ActivityEntry,
        wire::LoginResponse,
        wire::MfaLoginRequest,
        wire::MfaCodeRequest,
        wire::DisableMfaRequest,
        wire::MfaSetupResponse,
        wire::RecoveryCodesResponse,
        wire::MfaStatus,
        wire::TokenResponse,
        wire::RefreshRequest,
        wire::ChangePasswordRequest,
        wire::ReauthenticateRequest,
        wire::RevokedResponse,
        wire::accounts::FieldErrorSchema,
        wire::SsnRequest,
        wire::SsnStatus,
        wire::SsnRevealed,
        wire::RoleGrantInfo,
        wire::AdminUserSummary,
        wire::UserPage,
        wire::AdminUserDetail,
        wire::RoleChangeRequest,
        wire::DeviceInfo,
        wire::DeviceRegistration,
        wire::ComplianceRequest,
        wire::DecisionInfo,
        wire::DecisionPage,
        wire::PolicyInfo,
        wire::RolePermissions,
        wire::PoliciesResponse,
        wire::LogsResponse,
        wire::LogLineInfo,
        wire::HourStats,
        wire::LabelCount,
        wire::MyAccess,
        wire::Overview,
        wire::AuditEntryInfo,
        wire::AuditPage,
        wire::AuditVerifyResult,
        wire::AuditChainBreak,
        wire::OAuthClientInfo,
        wire::OAuthScopeInfo,
        wire::OAuthClientList,
        wire::NewOAuthClientRequest,
        wire::UpdateOAuthClientRequest,
        wire::OAuthClientCreated,
        wire::OAuthClientSecret,
        wire::workshop::ChallengeInfo,
        wire::workshop::WorkshopChallenges,
        wire::workshop::WorkshopAnswer,
        wire::workshop::WorkshopAnswerResult,
        wire::workshop::ChallengeTotal,
        wire::workshop::ParticipantProgress,
        wire::workshop::WorkshopProgress,
        wire::demo::TokenView,
        wire::demo::DemoSearchResult,
        wire::demo::PasswordCheckRequest,
        wire::demo::PasswordCheckResponse,
        wire::demo::PolicyVerdict,
        wire::demo::DemoLimitedResponse,
    )),
    tags(
        (name = "auth", description = "Registration and sessions"),
        (name = "account", description = "The signed-in user, their password and sessions"),
        (name = "mfa", description = "Two-factor authentication (TOTP, recovery codes, step-up)"),
        (name = "admin", description = "Administration: reads for admins and auditors, changes for elevated admins"),
        (name = "devices", description = "The devices a user registered"),
        (name = "ssn", description = "The encrypted SSN field: masked, revealed only after a fresh second factor"),
        (name = "health", description = "Liveness, readiness and the Prometheus metrics"),
        (name = "workshop", description = "Workshop mode (APP_WORKSHOP=1; 404 while off): challenges, answers, instructor view"),
        (name = "demo", description = "The Patterns area's live demonstrations"),
    )
)]
pub struct ApiDoc;

/// The refusals every operation of a kind can answer, documented once here
/// rather than on each handler (so a new handler cannot forget them):
/// - a JSON body ([`crate::http::json::ApiJson`]): 400 when it is not JSON
///   or not of the documented shape, 413 over 16 KiB, 415 without
///   `Content-Type: application/json`, 422 when a field's value is refused
///   (at the least a string holding a NUL, `http::json`);
/// - query parameters: 400 when one does not parse or is out of range
///   (`http::json::query_error`);
/// - the workshop API: 404 while workshop mode is off (`http::workshop`);
/// - and a time in a query may be empty ([`empty_time_means_none`]).
///
/// Each is the JSON error body, added only where the handler does not
/// already describe that status.
struct RefusalStatuses;

impl Modify for RefusalStatuses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let workshop = path.starts_with("/api/v1/workshop/");
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let has_body = op
                    .request_body
                    .as_ref()
                    .is_some_and(|b| b.content.contains_key("application/json"));
                let has_query =
                    op.parameters.iter().flatten().any(|p| {
                        matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)
                    });
                let mut add = |status: &str, why: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error_response(why).into());
                };
                if has_body {
                    add(
                        "400",
                        "the body is not JSON, or not of the documented shape",
                    );
                    add("413", "the body is larger than 16 KiB");
                    add("415", "the body is not sent as `application/json`");
                    add(
                        "422",
                        "a field's value is not accepted (for any string field: one holding a NUL character)",
                    );
                }
                if has_query {
                    add("400", "a query parameter does not parse or is out of range");
                }
                if workshop {
                    add("404", "workshop mode is off");
                }
                for p in op.parameters.iter_mut().flatten() {
                    empty_time_means_none(p);
                }
            }
        }
        // No string of a JSON body may hold a NUL (`http::json` answers 422):
        // stated on every string of the bodies' schemas.
        if let Some(components) = openapi.components.as_mut() {
            for schema in components.schemas.values_mut() {
                no_nul_in_strings(schema);
            }
        }
    }
}

/// The pattern every string of a JSON body meets: no NUL character.
const NO_NUL: &str = "^[^\\u0000]*$";

/// Sets [`NO_NUL`] on every string in `schema` that has no pattern of its
/// own (one that has says more already and excludes NUL itself, or is
/// checked by the server anyway).
fn no_nul_in_strings(schema: &mut utoipa::openapi::RefOr<utoipa::openapi::Schema>) {
    use utoipa::openapi::schema::{ArrayItems, SchemaType, Type};
    use utoipa::openapi::{RefOr, Schema};
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(o) => {
            let is_string = match &o.schema_type {
                SchemaType::Type(t) => *t == Type::String,
                SchemaType::Array(ts) => ts.contains(&Type::String),
                SchemaType::AnyValue => false,
            };
            if is_string && o.pattern.is_none() && o.format.is_none() {
                o.pattern = Some(NO_NUL.to_owned());
            }
            for p in o.properties.values_mut() {
                no_nul_in_strings(p);
            }
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                no_nul_in_strings(items);
            }
        }
        Schema::OneOf(x) => x.items.iter_mut().for_each(no_nul_in_strings),
        Schema::AllOf(x) => x.items.iter_mut().for_each(no_nul_in_strings),
        Schema::AnyOf(x) => x.items.iter_mut().for_each(no_nul_in_strings),
        _ => {}
    }
}

/// A time filter in a query (`from`, `to`) sent empty is no filter, as an
/// empty form field arrives (`admin::parse_time`): the schema says so —
/// RFC 3339, or the empty string.
fn empty_time_means_none(p: &mut utoipa::openapi::path::Parameter) {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::{RefOr, Schema};
    let is_time = matches!(
        &p.schema,
        Some(RefOr::T(Schema::Object(o)))
            if matches!(o.format, Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
    );
    if !matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query) || !is_time {
        return;
    }
    if let Some(time) = p.schema.take() {
        let empty = ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(0));
        p.schema = Some(AnyOfBuilder::new().item(time).item(empty).into());
    }
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// The whole document: the frame, every documented route's operations
/// (`paths`: the route table's), then the refusal statuses (which need the
/// operations). Built once by `routes::configure`.
pub fn document_value(paths: fn(&mut utoipa::openapi::OpenApi)) -> Document {
    let mut doc = ApiDoc::openapi();
    paths(&mut doc);
    RefusalStatuses.modify(&mut doc);
    Document(doc)
}

/// The document, as app data: the table declares this handler, so it cannot
/// ask the table itself.
pub struct Document(utoipa::openapi::OpenApi);

pub async fn document(doc: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok().json(&doc.0)
}
