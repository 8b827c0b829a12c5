//! The CPU-bound stages counted in instructions, not timed: every codec, vision and postprocess
//! id once under Valgrind's Callgrind, through gungraun. A count is the same on any machine
//! and whatever else runs on it, so a 1 % change is a real one (`servebench compare` judges
//! these ids by it); it says nothing of caches or clocks, which the Criterion benches of the
//! same ids time.
//!
//! Not part of `cargo bench`: it needs Valgrind and `gungraun-runner` (scripts/setup installs
//! both, and scripts/env puts the runner on the `PATH`), and libtorch under Valgrind would cost
//! minutes a process, so it builds without the `torch` feature:
//!
//! ```text
//! cargo bench --no-default-features --features instructions --bench instructions
//! ```
//!
//! gungraun names each run `<stage>.each_<n>` (its bench function, one per stage, and `n`
//! counting the stage's ids in order, [`ids`]); `instructions --ids` prints which id each is, and
//! `servebench::report::instructions` reads the counts back under their ids.
//! `SERVEBENCH_FILTER`, a regular expression over ids, narrows what is counted.

#[allow(dead_code)] // Criterion's throughput (`Work::bytes`) means nothing here
#[path = "common/workload.rs"]
mod workload;

use servebench::ids::Group;
use servebench::report::instructions::{self, FILTER_ENV};

/// The ids of `group` this run counts, in the order gungraun numbers them.
fn ids(group: Group) -> Vec<servebench::ids::BenchId> {
    instructions::counted(group).expect("SERVEBENCH_FILTER is a regular expression")
}

/// gungraun's harness: a bench function per stage, each id's work made by its setup (not
/// counted) and run once by the function (counted).
mod harness {
    use std::hint::black_box;

    use gungraun::prelude::*;
    use servebench::ids::{BenchId, Group};

    use super::workload::{self, Work};
    use super::{FILTER_ENV, ids};

    /// The work of a stage's `id`.
    fn work(id: BenchId) -> Work {
        match id {
            BenchId::Codec(id) => workload::codec(id),
            BenchId::Vision(id) => workload::vision(id),
            BenchId::Postprocess(id) => workload::postprocess(id),
            other => unreachable!("{other} is not counted in instructions"),
        }
    }

    /// One run of the work; it is handed back, so freeing its inputs is not counted.
    fn run(mut work: Work) -> Work {
        work.run();
        black_box(work)
    }

    #[library_benchmark]
    #[benches::each(iter = ids(Group::Codec), setup = work)]
    fn codec(work: Work) -> Work {
        run(work)
    }

    #[library_benchmark]
    #[benches::each(iter = ids(Group::Vision), setup = work)]
    fn vision(work: Work) -> Work {
        run(work)
    }

    #[library_benchmark]
    #[benches::each(iter = ids(Group::Postprocess), setup = work)]
    fn postprocess(work: Work) -> Work {
        run(work)
    }

    library_benchmark_group!(name = stages, benchmarks = [codec, vision, postprocess]);

    main!(
        // The filter must reach every process, or their numbering would differ; the planted
        // slowdown is how `scripts/compare-check` proves a change is caught.
        // Instructions are all that is judged: without the cache simulation Callgrind runs
        // about twice as fast.
        config = LibraryBenchmarkConfig::default()
            .pass_through_envs([FILTER_ENV, servebench::planted::ENV])
            .tool(gungraun::Callgrind::with_args(["--cache-sim=no"]));
        library_benchmark_groups = stages
    );

    /// gungraun's `main`, which its macro leaves private to this module.
    pub fn run_gungraun() {
        main()
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some(instructions::IDS_FLAG) {
        let mut listing = String::new();
        for group in instructions::GROUPS {
            for (index, id) in ids(group).iter().enumerate() {
                listing.push_str(&format!("{} {id}\n", instructions::run_name(group, index)));
            }
        }
        // A reader that stops early (`| head`) is no error.
        let _ = std::io::Write::write_all(&mut std::io::stdout(), listing.as_bytes());
    } else {
        harness::run_gungraun();
    }
}
