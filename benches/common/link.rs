//! The link a bench's requests cross (`servebench::link`): which links a run takes, each one's
//! two ends ([`Ends`]) and how Criterion samples over it.

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, SamplingMode};
use servebench::error::chain;
use servebench::link::{Ends, Link};

/// Names the links to run, comma-separated: profiles (`100mbit`, `1gbit_rtt1ms`, any
/// `<n>mbit`/`<n>gbit[_rtt<n>ms]`) and sets (`bandwidth`, `rtt`, `all`); unset: `loopback`.
pub const LINKS_ENV: &str = "SERVEBENCH_LINKS";

/// The link Criterion's test mode crosses besides loopback, unless [`LINKS_ENV`] says: fast
/// enough that every id's one call stays short.
const TEST_LINK: Link = Link::shaped(1000, 0);

/// Whether this is `--list`: ids are printed, nothing runs.
fn listing() -> bool {
    std::env::args().any(|arg| arg == "--list")
}

/// The links this run takes: [`LINKS_ENV`]'s; `--list` takes every named profile, and
/// Criterion's test mode loopback and 1gbit unless the variable is set.
pub fn links() -> Vec<Link> {
    if listing() {
        return Link::PROFILES.to_vec();
    }
    match std::env::var(LINKS_ENV) {
        Ok(names) if !names.trim().is_empty() => {
            Link::parse_list(&names).unwrap_or_else(|error| panic!("{LINKS_ENV}: {error}"))
        }
        _ if super::testing() => vec![Link::Loopback, TEST_LINK],
        _ => vec![Link::Loopback],
    }
}

/// Both ends of `link` for a bench ([`Ends::new`]): `Err` says why the link cannot be measured
/// here, and the bench skips it. `--list` builds nothing, only names the link: loopback's ends
/// serve it.
pub fn ends(link: Link) -> Result<Ends, String> {
    let built = if listing() { Link::Loopback } else { link };
    let ends = Ends::new(built, None).map_err(|error| chain(&error))?;
    if let Some(check) = ends.check() {
        eprintln!("link {check}");
    }
    Ok(ends)
}

/// Criterion's sampling for ids over `link`: on loopback what `loopback` says (the benches'
/// own); over an emulated link ten samples of whole iterations, a short warm-up, since an
/// iteration there takes up to seconds of wire time (twenty 1080x1920 images over 100 Mbit/s:
/// 3.9 s). Returns the sampling set.
pub fn sampling(
    link: Link,
    group: &mut BenchmarkGroup<'_, WallTime>,
    loopback: Sampling,
) -> Sampling {
    let sampling = match link {
        Link::Loopback => loopback,
        Link::Shaped(_) if super::quick() => Sampling::LINK_QUICK,
        Link::Shaped(_) => Sampling::LINK,
    };
    group
        .sample_size(sampling.samples)
        .sampling_mode(sampling.mode)
        .warm_up_time(sampling.warm_up)
        .measurement_time(sampling.measurement);
    sampling
}

/// How Criterion samples an id.
#[derive(Clone, Copy)]
pub struct Sampling {
    /// Samples taken.
    pub samples: usize,
    /// Criterion's sampling mode.
    pub mode: SamplingMode,
    /// Warm-up time.
    pub warm_up: Duration,
    /// Target measurement time.
    pub measurement: Duration,
}

impl Sampling {
    const LINK: Self = Self {
        samples: 10,
        mode: SamplingMode::Flat,
        warm_up: Duration::from_secs(1),
        measurement: Duration::from_secs(5),
    };
    const LINK_QUICK: Self = Self {
        samples: 10,
        mode: SamplingMode::Flat,
        warm_up: Duration::from_millis(100),
        measurement: Duration::from_millis(300),
    };
}
