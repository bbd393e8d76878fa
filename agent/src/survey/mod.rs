//! `fathom-agent survey`: a live terminal view of what each carrier's modem sees, for choosing
//! where a probe goes.
//!
//! Layout:
//! - [`state`]: the pure [`SurveyState`] (the last minute of readings per modem, the 5G verdict
//!   by the shared rule, the marks), changed by events and unit-tested.
//! - [`render`]: draws it with ratatui (tested on a `TestBackend` at 80×24, both languages).
//! - [`marks`]: marks kept on disk until the collector acknowledges them, and their upload.
//!
//! The I/O loop (terminal, radio sampling, speed tests, signals) is `commands/survey.rs`.

pub mod marks;
pub mod render;
pub mod state;

pub use marks::MarkStore;
pub use state::{Lang, SurveyState};
