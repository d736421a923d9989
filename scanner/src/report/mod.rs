//! Rendering scans, drift and history for people and machines: human
//! tables, JSON (documented in `scanner/REPORT_FORMAT.md`), Markdown for a
//! pull request comment, SARIF 2.1.0, and SPDX 2.3 / CycloneDX 1.6 export of
//! a scanned graph.
//!
//! Every renderer takes a value and returns a `String`; none writes to a
//! terminal or decides about colour (the caller knows whether it is a TTY).
//! The parts of a finding (version and license change, dependency path,
//! evidence) are rendered by [`finding`], the one place that spells them;
//! untrusted strings are escaped for their destination by [`escape`].

pub mod escape;
mod export;
pub mod finding;
mod human;
mod json;
mod markdown;
mod sarif;
mod table;

pub use export::{ExportOptions, cyclonedx_json, spdx_json};
pub use human::{HumanOptions, drift_human, history_human, scan_human};
pub use json::{DRIFT_SCHEMA, HISTORY_SCHEMA, SCAN_SCHEMA, drift_json, history_json, scan_json};
pub use markdown::drift_markdown;
pub use sarif::{drift_sarif, drift_sarif_with_sources};
