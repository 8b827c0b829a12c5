//! The side by side of TorchServe and servebench's designs that `scripts/side-by-side` runs:
//! each server measured through the end-to-end bench's external-target mode in alternating
//! rounds, each round's results a Criterion folder of its own, and the stage benches of the
//! same machine beside them for the compute floor ([`super::compute_floor`]).
//!
//! ```text
//! DIR/stages/                    Criterion's output of the vision, codec and inference benches
//! DIR/rounds/<n>/<server>/       Criterion's output of one round against one server
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use super::compare::judge;
use super::compute_floor;
use super::criterion::{self, Measurement};
use super::render;
use super::run::{self, RunInfo};
use crate::fixtures::STUDY_SIZES;
use crate::ids::{Design, Device, EndToEndId, Setup};
use crate::link::Link;
use crate::transport::{Body, HttpVersion, Route};

/// The servers compared, by the folder name a round gives each, with the column title and the
/// design whose compute floor it is held to (TorchServe's is the serial one: the same work,
/// decoded by the same libjpeg-turbo, inferred by the same libtorch).
pub const SERVERS: [(&str, &str, Design); 4] = [
    ("torchserve", "TorchServe 0.12", Design::Serial),
    ("serial", "servebench serve", Design::Serial),
    ("pipelined", "pipelined", Design::Pipelined),
    ("pipelined_scaled", "pipelined + scaled decode", Design::PipelinedScaled),
];

/// The study's three columns, B64 REST, Binary REST and Binary gRPC: the first three of the
/// report's TorchServe table.
fn routes() -> &'static [Route] {
    &render::ROUTES[..3]
}

/// The folder's rounds as a Markdown table: per image size and route, each server's median
/// time per 20 requests over the rounds (with the rounds' range), its time over its compute
/// floor, and its throughput over TorchServe's.
pub fn table(dir: &Path) -> io::Result<String> {
    let stages = criterion::load(&dir.join("stages"), criterion::LATEST)?;
    let records = run::recorded(&dir.join("stages"))?;
    let cores = records.values().map(RunInfo::cores).max().unwrap_or_default();
    let machine = run::summarize(&records).map_or_else(|| "unknown".to_owned(), |run| run.machine);
    let mut rounds: Vec<BTreeMap<&str, BTreeMap<String, Measurement>>> = Vec::new();
    let mut numbered: Vec<(usize, std::path::PathBuf)> = std::fs::read_dir(dir.join("rounds"))?
        .filter_map(Result::ok)
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path())))
        .collect();
    numbered.sort();
    for (_, round) in numbered {
        let mut servers = BTreeMap::new();
        for (server, ..) in SERVERS {
            servers.insert(server, criterion::load(&round.join(server), criterion::LATEST)?);
        }
        rounds.push(servers);
    }
    let median =
        |bench: crate::ids::BenchId| stages.get(&bench.to_string()).map(|m| m.median.point);
    let mut out = format!(
        "Seconds per 20 concurrent requests (`end_to_end/<route>/<image>/external`), the median \
         of {} alternating rounds with their range; `floor`: times the compute floor on {cores} \
         cores; `TS`: throughput over TorchServe's. Machine: {machine}.\n\n| image | route |",
        rounds.len()
    );
    for (_, title, _) in SERVERS {
        write!(out, " {title} |").unwrap();
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(SERVERS.len()));
    out.push('\n');
    for size in STUDY_SIZES {
        for &route in routes() {
            let external = EndToEndId { route, link: Link::Loopback, size, setup: Setup::External };
            let times: Vec<Option<(f64, f64, f64)>> = SERVERS
                .iter()
                .map(|(server, ..)| {
                    let mut each: Vec<f64> = rounds
                        .iter()
                        .filter_map(|round| {
                            Some(round[server].get(&external.to_string())?.median.point)
                        })
                        .collect();
                    if each.is_empty() {
                        return None;
                    }
                    let middle = judge::median(&mut each);
                    let low = each.iter().copied().fold(f64::INFINITY, f64::min);
                    let high = each.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    Some((middle, low, high))
                })
                .collect();
            write!(out, "| {size} | {route} |").unwrap();
            for ((_, _, design), time) in SERVERS.iter().zip(&times) {
                let Some((time, low, high)) = time else {
                    out.push_str(" — |");
                    continue;
                };
                let setup = Setup::Local { device: Device::Cpu, batch: 1, design: *design };
                let floor = compute_floor::floor(EndToEndId { setup, ..external }, cores, median);
                write!(out, " {:.3} [{:.3}–{:.3}]", time / 1e9, low / 1e9, high / 1e9).unwrap();
                if let Some(floor) = floor {
                    write!(out, ", x{:.2} floor", time / floor).unwrap();
                }
                if let Some((torchserve, ..)) = times[0] {
                    write!(out, ", x{:.2} TS", torchserve / time).unwrap();
                }
                out.push_str(" |");
            }
            out.push('\n');
        }
    }
    out.push_str("\nCompute floors, raw routes (s per 20):");
    for size in STUDY_SIZES {
        let floor_of = |design| {
            let setup = Setup::Local { device: Device::Cpu, batch: 1, design };
            let route = Route::Rest(HttpVersion::Http1, Body::Raw);
            let id = EndToEndId { route, link: Link::Loopback, size, setup };
            compute_floor::floor(id, cores, median)
                .map_or("—".to_owned(), |ns| format!("{:.3}", ns / 1e9))
        };
        write!(
            out,
            " {size} {} exact, {} scaled;",
            floor_of(Design::Serial),
            floor_of(Design::PipelinedScaled)
        )
        .unwrap();
    }
    out.pop();
    out.push_str(".\n");
    Ok(out)
}
