//! [`Outcome`]: how one run of a job ended, as the worker loop records it.

use crate::store::StoreError;

/// How a job run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Finished (its result is stored).
    Done,
    /// Failed; `retry` says whether another attempt may succeed.
    Failed { error: String, retry: bool },
    /// Another worker holds the job now (our lease ran out).
    LeaseLost,
}

impl From<StoreError> for Outcome {
    fn from(e: StoreError) -> Self {
        Outcome::Failed { error: format!("database: {e}"), retry: true }
    }
}
