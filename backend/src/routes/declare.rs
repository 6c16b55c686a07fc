//! `route_table!`: one declaration per route, from which follow its
//! registration, its policy entry and its OpenAPI entry (`routes::table`
//! uses it once, for every route). A line reads
//!
//! ```text
//! METHOD "/path" => handler, policy_kind(extra args).builder();
//! GET "/path" => handler, policy_kind, page_read = reads::function;
//! ```
//!
//! inside a group `scope name "/prefix" { … }` whose routes are registered
//! together, by `name::register`, under one actix scope (the prefix is the
//! scope's, so the policy entry is the full pattern the router matches).
//! A group marked `#[openapi]` puts its handlers' `#[utoipa::path]`
//! operations in the document (`name::Paths`). `elsewhere { … }` lists the
//! routes served outside these groups (the Leptos pages, the static
//! bundle): a policy entry only. `page_read` names the typed read that
//! answers a server-rendered page's in-process `GET` of that route
//! (`routes::pages`), under the same policy entry.
//!
//! It generates, in the invoking module: a module per group (`register`,
//! `PREFIX` and, for `#[openapi]` groups, `Paths`), `POLICIES` (every
//! entry, in declaration order), `openapi_paths` (adds the documented
//! groups' operations to a document) and `PAGE_READS` (pattern and read of
//! each route with a `page_read`). Handler paths resolve in the invoking
//! module (each group module glob-imports it); policy kinds are
//! `security::policy_table`'s.

macro_rules! route_table {
    (
        $(
            $( #[$openapi:ident] )?
            scope $group:ident $prefix:literal {
                $(
                    $method:ident $path:literal => $handler:path,
                    $kind:ident $( ( $($arg:expr),* ) )? $( . $builder:ident () )*
                    $( , page_read = $read:path )? ;
                )*
            }
        )*
        elsewhere {
            $(
                GET $other:literal =>
                    $okind:ident $( ( $($oarg:expr),* ) )? $( . $obuilder:ident () )* ;
            )*
        }
    ) => {
        $(
            pub mod $group {
                #[allow(unused_imports)]
                use super::*;

                /// The actix scope (or app) prefix these routes are registered under.
                pub const PREFIX: &str = $prefix;

                pub fn register(
                    cfg: &mut actix_web::web::ServiceConfig,
                    log: &$crate::routes::registrar::Registered,
                ) {
                    let mut r = $crate::routes::registrar::Registrar::new(cfg, PREFIX, log);
                    $( $crate::routes::declare::register_one!(r, $method, $path, $handler); )*
                }

                $crate::routes::declare::openapi_group!($($openapi)? ; $($handler),*);
            }
        )*

        /// Every route's policy entry, in declaration order.
        pub const POLICIES: &[$crate::security::policy::RoutePolicy] = &[
            $( $(
                $crate::security::policy_table::$kind(
                    stringify!($method),
                    concat!($prefix, $path)
                    $( , $($arg),* )?
                ) $( . $builder () )*,
            )* )*
            $(
                $crate::security::policy_table::$okind("GET", $other $( , $($oarg),* )?)
                    $( . $obuilder () )*,
            )*
        ];

        /// The routes a server-rendered page may read in-process: the full
        /// pattern and its read, whose answer is serialized as the API's.
        pub const PAGE_READS: &[(&str, $crate::routes::pages::reads::Read)] = &[
            $( $( $(
                (concat!($prefix, $path), |cx| {
                    ::std::boxed::Box::pin(async move {
                        $crate::routes::pages::reads::json(&$read(cx).await?)
                    })
                }),
            )? )* )*
        ];

        /// Adds every documented group's operations (and the schemas they
        /// name) to `doc`.
        pub fn openapi_paths(doc: &mut utoipa::openapi::OpenApi) {
            $( $crate::routes::declare::merge_group!($($openapi)? ; doc, $group); )*
        }
    };
}

/// One route on a [`super::registrar::Registrar`], by its method.
macro_rules! register_one {
    ($r:ident, GET, $path:literal, $handler:path) => {
        $r.get($path, $handler)
    };
    ($r:ident, POST, $path:literal, $handler:path) => {
        $r.post($path, $handler)
    };
    ($r:ident, PUT, $path:literal, $handler:path) => {
        $r.put($path, $handler)
    };
    ($r:ident, DELETE, $path:literal, $handler:path) => {
        $r.delete($path, $handler)
    };
}

/// A documented group's operations, as utoipa derives them from the
/// handlers' `#[utoipa::path]` (nothing for an undocumented group).
macro_rules! openapi_group {
    (openapi ; $($handler:path),*) => {
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($handler),*))]
        pub struct Paths;
    };
    ( ; $($handler:path),*) => {};
}

macro_rules! merge_group {
    (openapi ; $doc:ident, $group:ident) => {
        $doc.merge(<$group::Paths as utoipa::OpenApi>::openapi())
    };
    ( ; $doc:ident, $group:ident) => {};
}

pub(crate) use {merge_group, openapi_group, register_one, route_table};
