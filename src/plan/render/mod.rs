//! Views of a plan: the colored text a person reads and the JSON a program reads.
//!
//! Promise: a sensitive value never appears in either; it shows as `(sensitive value)` in text
//! and `"(sensitive)"` in JSON. Values only the cloud can tell show as `(known after apply)`.

mod json;
mod text;
mod value;

pub use json::render_json;
pub use text::{RenderOptions, render_text, summary_line};

#[cfg(test)]
mod tests;
