//! Background CPU work: what jobs do with the processor (fetching a
//! repository, scanning, judging) runs on a thread of its own at a lower
//! scheduling priority than the runtime threads that answer requests, so a
//! backlog of jobs that keeps both cores busy does not slow the webhook's
//! answer or the dashboard. The job still gets every cycle nobody else
//! wants.

/// The `nice` increment of a background thread (Linux scheduling priority:
/// 0 is normal, 19 the lowest).
pub const NICE: i32 = 10;

/// Runs `work` on a new thread whose priority is lowered by [`NICE`] and
/// returns its result; `Err` with the panic's message if it panicked.
///
/// A thread per call rather than tokio's blocking pool: Linux sets the
/// priority per thread and an unprivileged process cannot raise it again,
/// so a pooled thread lowered once would stay lowered for the requests that
/// use the pool later. Starting a thread costs tens of microseconds; the
/// work it runs costs milliseconds to seconds.
pub async fn run<T, F>(name: &str, work: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            lower_priority();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = tx.send(result.map_err(|panic| panic_message(&*panic)));
        })
        .map_err(|e| format!("cannot start a background thread: {e}"))?;
    rx.await.unwrap_or_else(|_| Err("the background thread ended without an answer".into()))
}

/// Lowers this thread's priority (on Linux `setpriority` with pid 0 applies
/// to the calling thread only). Best effort: a failure leaves the thread at
/// normal priority, which is correct, only less polite.
fn lower_priority() {
    if let Err(e) = rustix::process::nice(NICE) {
        tracing::debug!(error = %e, "cannot lower a background thread's priority");
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-string payload".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_nice() -> i32 {
        // Field 19 of /proc/thread-self/stat is the thread's nice value.
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
        fields[16].parse().unwrap()
    }

    #[tokio::test]
    async fn work_runs_at_lower_priority_and_the_caller_does_not() {
        let before = own_nice();
        let inside = run("steward-test", own_nice).await.unwrap();
        assert_eq!(inside, (before + NICE).min(19));
        assert_eq!(own_nice(), before, "the caller's thread keeps its priority");
    }

    #[tokio::test]
    async fn a_panic_is_an_error_with_its_message() {
        let result: Result<(), String> = run("steward-test", || panic!("boom {}", 7)).await;
        assert_eq!(result.unwrap_err(), "boom 7");
    }
}
