//! The Leptos application: pages rendered on the server (feature `ssr`, linked
//! into the backend) and hydrated in the browser (feature `hydrate`, built to
//! wasm), plus the wire types both sides share.

// The pages' view types nest deeply; release builds (without the debug
// builds' `--cfg erase_components`) need more than 128 levels for them.
#![recursion_limit = "256"]

pub mod api;
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
/// server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
