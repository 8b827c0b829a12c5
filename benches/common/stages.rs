//! Where a bench's requests spent their time: each call of a routine's requests added up, so
//! that the measured calls' stage means go beside Criterion's output
//! (`servebench::attribution`).

use std::time::Duration;

use servebench::attribution::StageSums;

/// Every call of one bench id's routine, in order: warm-up calls first, then the measured ones.
#[derive(Default)]
pub struct Recorder {
    calls: Vec<(Duration, StageSums)>,
}

impl Recorder {
    /// One call: the time it reported to Criterion and its requests' stages.
    pub fn record(&mut self, elapsed: Duration, requests: StageSums) {
        self.calls.push((elapsed, requests));
    }

    /// The requests of the measured calls. Criterion warms up by calling the routine until the
    /// time it reports passes the warm-up time, so calls after that point are the measured
    /// ones; a run with none of those (`--test`, one call) keeps what it has.
    pub fn measured(&self, warm_up: Duration) -> StageSums {
        let mut reported = Duration::ZERO;
        let first_measured = self.calls.iter().position(|(elapsed, _)| {
            let warming = reported <= warm_up;
            reported += *elapsed;
            !warming
        });
        let measured = match first_measured {
            Some(first) => &self.calls[first..],
            None => &self.calls[..],
        };
        let mut sums = StageSums::default();
        for (_, requests) in measured {
            sums.extend(requests);
        }
        sums
    }
}
