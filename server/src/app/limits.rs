//! Rate limits on writes (`[limits]` in `steward.toml`): one GCRA bucket
//! per caller, `writes_per_minute` sustained with up to `burst` at once
//! (`governor`'s keyed limiter). The HTTP layer picks the caller
//! ([`LimitKey`]) and turns a refusal into 429 with `Retry-After`; this
//! module knows no HTTP.
//!
//! The buckets live in this process: N instances behind a load balancer
//! let a caller write N times the budget (see `docs/OPERATIONS.md`).

use crate::config::WriteLimits;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Whose budget a write is taken from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LimitKey {
    /// An API token (its database id): every write route that needs a role.
    Token(i64),
    /// A configured repository, after its webhook signature matched.
    Repository(String),
    /// The peer's address: anonymous writes (the sign-in form) and the
    /// registry's notifications.
    Peer(IpAddr),
    /// A request without a peer address (only the in-process router that
    /// tests drive has none).
    NoPeer,
}

type Keyed = RateLimiter<LimitKey, DefaultKeyedStateStore<LimitKey>, DefaultClock>;

/// Keys kept before idle ones are dropped (an idle key's bucket is full,
/// the same as a fresh one, so dropping it changes no answer).
const PRUNE_ABOVE: usize = 10_000;

/// The write limiter: off when `writes_per_minute` is 0.
pub struct WriteLimiter {
    limiter: Option<Keyed>,
    checks: AtomicU64,
}

impl WriteLimiter {
    pub fn new(limits: WriteLimits) -> WriteLimiter {
        let limiter = NonZeroU32::new(limits.writes_per_minute).map(|rate| {
            let burst = NonZeroU32::new(limits.burst).unwrap_or(NonZeroU32::MIN);
            RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst))
        });
        WriteLimiter { limiter, checks: AtomicU64::new(0) }
    }

    /// Takes one write from `key`'s budget, or says how long until it has
    /// one (at least one second, rounded up: what `Retry-After` carries).
    pub fn check(&self, key: &LimitKey) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed).is_multiple_of(1024) && limiter.len() > PRUNE_ABOVE {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(Duration::from_secs(1))
        })
    }

    /// Whether limits are on.
    pub fn enabled(&self) -> bool {
        self.limiter.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_a_refusal_per_key() {
        let l = WriteLimiter::new(WriteLimits { writes_per_minute: 60, burst: 3 });
        let a = LimitKey::Token(1);
        for _ in 0..3 {
            assert_eq!(l.check(&a), Ok(()));
        }
        let wait = l.check(&a).unwrap_err();
        assert!(wait >= Duration::from_secs(1) && wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(l.check(&LimitKey::Token(2)), Ok(()), "another key has its own budget");
        assert_eq!(l.check(&LimitKey::Repository("o/r".into())), Ok(()));
    }

    #[test]
    fn the_wait_is_rounded_up_to_whole_seconds() {
        let l = WriteLimiter::new(WriteLimits { writes_per_minute: 2, burst: 1 });
        let k = LimitKey::NoPeer;
        assert_eq!(l.check(&k), Ok(()));
        let wait = l.check(&k).unwrap_err();
        assert!(wait > Duration::from_secs(28) && wait <= Duration::from_secs(30), "{wait:?}");
        assert_eq!(wait.subsec_nanos(), 0);
    }

    #[test]
    fn zero_writes_per_minute_is_off() {
        let l = WriteLimiter::new(WriteLimits { writes_per_minute: 0, burst: 1 });
        assert!(!l.enabled());
        for _ in 0..10_000 {
            assert_eq!(l.check(&LimitKey::Token(1)), Ok(()));
        }
    }
}
