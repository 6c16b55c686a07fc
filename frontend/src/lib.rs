//! The Leptos application: pages rendered on the server (feature `ssr`, linked
//! into the backend) and hydrated in the browser (feature `hydrate`, built to
//! wasm), plus the wire types both sides share.

// The pages' view types nest deeply; release builds (without the debug
// builds' `--cfg erase_components`) need more than 128 levels for them.
#![recursion_limit = "256"]

pub mod app;
mod components;
mod format;
pub mod page_data;
mod pages;

#[cfg(feature = "hydrate")]
mod client;

pub use app::{shell, App};
/// The OAuth consent page, which the server renders outside the app's router.
#[cfg(feature = "ssr")]
pub use pages::consent;

/// Entry point of the wasm bundle: attach the reactive system to the
/// server-rendered page. Asynchronously, because some routes are lazily
/// loaded (`app::lazy_pages`): on those pages hydration waits for the route's
/// wasm chunk. (This is `leptos::mount::hydrate_lazy`, plus the mark once
/// it is done.)
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        leptos::mount::hydrate_from_async(leptos::tachys::dom::body(), App)
            .await
            .forget();
        mark_hydrated();
    });
}

/// Sets `data-hydrated="true"` on `<html>` once the wasm has taken over the
/// whole page (a lazy route included), so people (and the browser tests) can
/// tell a hydrated page from a static one.
#[cfg(feature = "hydrate")]
fn mark_hydrated() {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-hydrated", "true");
    }
}
