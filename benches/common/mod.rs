//! What every bench binary shares: Criterion's configuration, with the quick mode.

use std::time::Duration;

use criterion::Criterion;

/// Set to `1` for the quick mode: a smoke run of the whole suite in minutes, not for numbers.
pub const QUICK_ENV: &str = "SERVEBENCH_QUICK";

/// Whether the quick mode is on.
pub fn quick() -> bool {
    std::env::var(QUICK_ENV).is_ok_and(|value| !value.is_empty() && value != "0")
}

/// Criterion as every servebench bench runs it; command-line flags still override it.
pub fn criterion() -> Criterion {
    let criterion = Criterion::default();
    if quick() {
        criterion
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1))
            .nresamples(10_000)
    } else {
        criterion
    }
}
