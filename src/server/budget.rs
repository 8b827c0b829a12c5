//! The bytes of request bodies a server holds at once, bounded: every request reserves its
//! body's size from the server's [`BodyBudget`] before the body is read, and gives it back when
//! its answer is ready, so bodies being received and bodies waiting for a worker together never
//! pass the budget. A request that would pass it is refused at once (HTTP 503, gRPC
//! `RESOURCE_EXHAUSTED`) without its body being read, rather than the server growing until
//! the kernel kills it and every other client's requests with it.
//!
//! What a request reserves first is what its headers promise: a REST body's `Content-Length`
//! (twice it for a body the server gathers and then copies into one buffer, given back to once
//! when whole), a gRPC message's length prefix. A body that promises nothing (chunked, or HTTP/2 without a
//! length) [grows](Reservation::resize) its reservation as it arrives, and a gzipped REST body
//! covers what it may inflate to while it inflates; either is refused the moment the budget
//! cannot cover it. A compressed gRPC message counts its length on the wire: tonic inflates it
//! (to at most the body limit) where the budget cannot see.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The budget a server's bodies share by default: 1 GiB, 32 bodies at the model server's
/// 16 MiB limit (a body that size holds twice it while it is read and copied), 16 at the study
/// server's 64 MiB.
pub const DEFAULT_BODY_BUDGET: usize = 1 << 30;

/// Bytes of request bodies a server may hold at once, and how many it holds now.
#[derive(Debug)]
pub struct BodyBudget {
    bytes: usize,
    held: AtomicUsize,
}

/// A request's share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<BodyBudget>,
    bytes: usize,
}

/// Why a body was refused before it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the server is holding {held} bytes of request bodies; {bytes} more would pass its budget \
     of {budget} bytes: retry later"
)]
pub struct OverBudget {
    /// What the request asked for.
    pub bytes: usize,
    /// What the server held when it asked.
    pub held: usize,
    /// The budget.
    pub budget: usize,
}

impl BodyBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Arc<Self> {
        Arc::new(Self { bytes, held: AtomicUsize::new(0) })
    }

    /// The budget in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Bytes reserved now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// Reserves `bytes`, or says why not: never waits, never reserves part.
    pub fn reserve(self: &Arc<Self>, bytes: usize) -> Result<Reservation, OverBudget> {
        self.take(bytes)?;
        Ok(Reservation { budget: Arc::clone(self), bytes })
    }

    /// Counts `bytes` more as held, or says why not.
    fn take(&self, bytes: usize) -> Result<(), OverBudget> {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|after| *after <= self.bytes)
            })
            .map(drop)
            .map_err(|held| OverBudget { bytes, held, budget: self.bytes })
    }
}

impl Reservation {
    /// Bytes reserved.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Reserves `bytes` in all instead, giving back the difference or taking it from the
    /// budget; when the budget cannot take it, nothing changes.
    pub fn resize(&mut self, bytes: usize) -> Result<(), OverBudget> {
        if bytes <= self.bytes {
            self.shrink_to(bytes);
            return Ok(());
        }
        self.budget.take(bytes - self.bytes)?;
        self.bytes = bytes;
        Ok(())
    }

    /// Gives back all but `bytes`; never grows.
    pub fn shrink_to(&mut self, bytes: usize) {
        let kept = bytes.min(self.bytes);
        self.budget.held.fetch_sub(self.bytes - kept, Ordering::AcqRel);
        self.bytes = kept;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fill_the_budget_exactly_and_come_back_when_dropped() {
        let budget = BodyBudget::new(100);
        let first = budget.reserve(60).unwrap();
        let second = budget.reserve(40).unwrap();
        assert_eq!(budget.held(), 100);
        assert_eq!(budget.reserve(1).unwrap_err(), OverBudget { bytes: 1, held: 100, budget: 100 });
        drop(first);
        assert_eq!(budget.held(), 40);
        let third = budget.reserve(60).unwrap();
        assert!(budget.reserve(1).is_err());
        drop((second, third));
        assert_eq!(budget.held(), 0);
        assert!(budget.reserve(usize::MAX).is_err(), "no overflow past the budget");
        assert_eq!(budget.held(), 0, "a refused reservation holds nothing");
    }

    #[test]
    fn a_reservation_resizes_within_the_budget() {
        let budget = BodyBudget::new(100);
        let mut first = budget.reserve(10).unwrap();
        first.resize(70).unwrap();
        let mut second = budget.reserve(0).unwrap();
        assert_eq!(second.resize(31).unwrap_err().held, 70);
        assert_eq!((second.bytes(), budget.held()), (0, 70), "a refused resize changes nothing");
        second.resize(30).unwrap();
        assert_eq!(budget.held(), 100);
        first.resize(20).unwrap();
        assert_eq!(budget.held(), 50);
        first.shrink_to(50);
        assert_eq!((first.bytes(), budget.held()), (20, 50), "shrinking never grows");
        first.shrink_to(5);
        assert_eq!(budget.held(), 35);
        first.resize(20).unwrap();
        drop((first, second));
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn concurrent_reservations_never_pass_the_budget() {
        let budget = BodyBudget::new(1000);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        if let Ok(reservation) = budget.reserve(300) {
                            assert!(budget.held() <= 1000);
                            drop(reservation);
                        }
                    }
                });
            }
        });
        assert_eq!(budget.held(), 0);
    }
}
