//! Benches that send requests and keep where their time went: every call of an id's routine
//! has its requests' stages added up, so the measured calls' stage means can go beside
//! Criterion's output (`servebench::attribution`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;
use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use servebench::attribution::{self, StageMeans, StageSums};
use servebench::client::{ClientError, Reply};
use servebench::error::chain;
use servebench::ids::BenchId;
use servebench::ids::Group;
use servebench::link::{Link, LinkCheck};
use servebench::report::run;
use tokio::runtime::Runtime;

/// Benches `id` on `runtime`, one iteration being `call`'s requests (sent together, timed as
/// one), and returns the stages of the requests Criterion measured, its `warm_up` left out. A
/// failed call fails the bench.
pub fn requests<T, F, Fut>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: impl Into<BenchId>,
    runtime: &Runtime,
    warm_up: Duration,
    call: F,
) -> StageSums
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Vec<Reply<T>>, ClientError>>,
{
    let id = id.into();
    let recorder = Mutex::new(Recorder::default());
    super::bench(group, id, |b| {
        b.to_async(runtime).iter_custom(|iters| {
            let (call, recorder) = (&call, &recorder);
            async move {
                let mut elapsed = Duration::ZERO;
                let mut requests = StageSums::default();
                for _ in 0..iters {
                    let started = Instant::now();
                    let replies =
                        call().await.unwrap_or_else(|error| panic!("{id}: {}", chain(&error)));
                    elapsed += started.elapsed();
                    for reply in &replies {
                        requests.add(&reply.client, &reply.server);
                    }
                }
                recorder.lock().unwrap().calls.push((elapsed, requests));
                elapsed
            }
        })
    });
    recorder.into_inner().unwrap().measured(warm_up)
}

/// Every call of one bench id's routine, in order: warm-up calls first, then the measured ones.
#[derive(Default)]
struct Recorder {
    calls: Vec<(Duration, StageSums)>,
}

impl Recorder {
    /// The requests of the measured calls. Criterion warms up by calling the routine until the
    /// time it reports passes the warm-up time, so calls after that point are the measured
    /// ones; a run with none of those (`--test`, one call) keeps what it has.
    fn measured(&self, warm_up: Duration) -> StageSums {
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

/// What a bench that sends requests leaves beside Criterion's output when it measured: what it
/// skipped and why, its link checks, and its ids' stage means (`servebench::report::run`,
/// `servebench::attribution`).
pub fn record<K>(
    group: Group,
    skipped: BTreeMap<String, String>,
    checks: BTreeMap<Link, LinkCheck>,
    stages: BTreeMap<K, StageMeans>,
) where
    K: Ord + Serialize + DeserializeOwned,
{
    let home = attribution::criterion_home();
    let bench = group.bench();
    let recorded = run::record_skipped(&home, bench, skipped)
        .and_then(|()| run::record_links(&home, bench, checks));
    recorded.unwrap_or_else(|error| panic!("recording the run in {}: {error}", home.display()));
    let path = attribution::path(&home, group);
    attribution::merge(&path, stages).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
}
