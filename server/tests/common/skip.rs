//! The one way a test says it cannot run here. Shared by `common` and by
//! test support modules that do not include `common` (`oci_support`).

/// The variable that turns every skip into a failure (`.ci/run` sets it).
pub const REQUIRE_ALL: &str = "STEWARD_REQUIRE_ALL";

/// A test that cannot run here (no PostgreSQL, no Chromium, no registry
/// binary, no root…): panics when `STEWARD_REQUIRE_ALL=1`, so CI cannot go
/// green with a class of tests silently missing; otherwise writes
/// `SKIPPED: reason` straight to the process's stderr (not through
/// `eprintln!`, which libtest captures and hides for passing tests), and the
/// caller returns.
pub fn skip(reason: &str) {
    if std::env::var(REQUIRE_ALL).is_ok_and(|v| v == "1") {
        panic!("cannot run: {reason} ({REQUIRE_ALL}=1 makes a skip a failure)");
    }
    use std::io::Write as _;
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason} (set {REQUIRE_ALL}=1 to make this a failure)");
}
