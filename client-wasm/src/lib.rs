//! Shotweave's browser studio: a Leptos client-side app compiled to wasm32 and served by
//! sync-server at `/`.
//!
//! Every open project is a [`shared_model::Project`] replica in the page. It is loaded from
//! IndexedDB first (so a reload while offline shows the last state and accepts edits), then
//! synced with the server over the y-websocket protocol; edits made offline merge on reconnect.
//!
//! The crate is split so that the logic is testable without a browser:
//! - sans-IO core, built and unit-tested natively: [`sync`] (the y-websocket client: frames in,
//!   frames and events out), [`presence`] (awareness states: names, views, shots, cursors) and
//!   [`lines`] (the script editor's line mirror, fed by yrs deltas so that a keystroke touches
//!   one line of the DOM, never the whole text) and [`grid`] (the storyboard's window: which
//!   scenes and rows of cards are in the DOM) and [`pages`] (the addresses of the Versions tab's
//!   pages);
//! - the browser layer, wasm32 only: `net` (the WebSocket and reconnection), `idb` (IndexedDB),
//!   `api` (REST), `session` (one open project: document, sync, storage, presence, signals),
//!   `review` (the project's review document, synced read-only, and comments waiting to post),
//!   `editor` (the script's contenteditable surface) and `ui` (the screens).

pub mod grid;
pub mod lines;
pub mod mentions;
pub mod pages;
pub mod presence;
pub mod sync;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod editor;
#[cfg(target_arch = "wasm32")]
mod idb;
#[cfg(target_arch = "wasm32")]
mod net;
#[cfg(target_arch = "wasm32")]
mod review;
#[cfg(target_arch = "wasm32")]
mod session;
#[cfg(target_arch = "wasm32")]
mod storage;
// leptos's `#[component]` gives each component's generated props struct a `pub` of its own.
#[cfg(target_arch = "wasm32")]
#[allow(unreachable_pub)]
mod ui;

/// Entry point called by the generated JavaScript once the module is instantiated.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    ui::mount();
}
