//! What every bench binary shares: Criterion's configuration, with the quick mode, and the one
//! way a bench names what it measures: a typed id from `servebench::ids`.

#[allow(dead_code)] // only the benches that send requests use it
pub mod link;
#[allow(dead_code)] // only the benches that send requests use it
pub mod stages;
#[allow(dead_code)] // the benches of servers and models do not use it
pub mod workload;

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{Bencher, BenchmarkGroup, BenchmarkId, Criterion};
use servebench::ids::{BenchId, Group};

/// Set to `1` for the quick mode: a smoke run of the whole suite in minutes, not for numbers.
pub const QUICK_ENV: &str = "SERVEBENCH_QUICK";

/// Whether the quick mode is on.
pub fn quick() -> bool {
    std::env::var(QUICK_ENV).is_ok_and(|value| !value.is_empty() && value != "0")
}

/// Whether this run measures: `cargo bench` passes `--bench`; Criterion's test mode
/// (`cargo test --benches`, each bench once in a debug build) does not, and must leave no
/// numbers for the report.
pub fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// Whether this is Criterion's test mode (`cargo test --benches`): each id run once to show it
/// works, neither measured nor listed (`--list`).
#[allow(dead_code)] // only the end-to-end bench trims its test mode
pub fn testing() -> bool {
    !measuring() && !std::env::args().any(|arg| arg == "--list")
}

/// Criterion as every servebench bench runs it; command-line flags still override it.
///
/// When [`measuring`], it first records where this bench runs, for the report
/// (`servebench::report::run`).
pub fn criterion() -> Criterion {
    if measuring() {
        let home = servebench::attribution::criterion_home();
        servebench::report::run::record(&home, env!("CARGO_CRATE_NAME"))
            .unwrap_or_else(|error| panic!("recording the run in {}: {error}", home.display()));
    }
    let criterion = Criterion::default()
        .sample_size(sample_size())
        .warm_up_time(warm_up_time())
        .measurement_time(measurement_time());
    if quick() { criterion.nresamples(10_000) } else { criterion }
}

/// How long Criterion measures an id: its 5 s, or 300 ms in the quick mode.
pub fn measurement_time() -> Duration {
    if quick() { Duration::from_millis(300) } else { Duration::from_secs(5) }
}

/// How long Criterion warms an id up: its 3 s, or 100 ms in the quick mode.
pub fn warm_up_time() -> Duration {
    if quick() { Duration::from_millis(100) } else { Duration::from_secs(3) }
}

/// Samples an id takes: Criterion's 100, or 10 (its least) in the quick mode.
pub fn sample_size() -> usize {
    if quick() { 10 } else { 100 }
}

/// The Criterion group for `group`'s ids.
pub fn group(c: &mut Criterion, group: Group) -> BenchmarkGroup<'_, WallTime> {
    c.benchmark_group(group.name())
}

/// Benches `routine` under `id`, filed as Criterion has always filed it: its function and,
/// where it has one, its parameter.
pub fn bench(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: impl Into<BenchId>,
    routine: impl FnMut(&mut Bencher<'_, WallTime>),
) {
    let id = id.into();
    match id.parameter() {
        Some(parameter) => {
            group.bench_function(BenchmarkId::new(id.function(), parameter), routine)
        }
        None => group.bench_function(id.function(), routine),
    };
}
