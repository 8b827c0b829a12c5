//! The instruction counts of `benches/instructions.rs` (gungraun, Callgrind): which ids it
//! counts, how its runs are named, and reading the counts back under their ids.
//!
//! gungraun numbers the runs of an iterated bench (`codec.each_0`, `codec.each_1`, ...) and
//! writes each one's `summary.json` under its home. Only the bench binary knows which id each
//! number is, so it prints the list (`instructions --ids`, [`IDS_FLAG`]), and [`load`] keys
//! the counts by that list: a side built from another commit, whose ids differ, is read with
//! its own binary's list.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use regex::Regex;
use serde::Deserialize;

use crate::ids::{BenchId, Group};

/// A regular expression over ids: only the ids it matches are counted. gungraun passes it to
/// every process of a run, so they all number the ids alike.
pub const FILTER_ENV: &str = "SERVEBENCH_FILTER";

/// The bench binary's flag that prints each run's name and id, a line each, instead of running.
pub const IDS_FLAG: &str = "--ids";

/// The stages counted, in the order the bench runs them.
pub const GROUPS: [Group; 3] = [Group::Codec, Group::Vision, Group::Postprocess];

/// The bench target.
pub const BENCH: &str = "instructions";

/// The ids of `group` counted under the [`FILTER_ENV`] filter, in the order gungraun numbers them.
pub fn counted(group: Group) -> Result<Vec<BenchId>, regex::Error> {
    let filter = match std::env::var(FILTER_ENV) {
        Ok(pattern) if !pattern.is_empty() => Some(Regex::new(&pattern)?),
        _ => None,
    };
    Ok(BenchId::all()
        .into_iter()
        .filter(|id| id.group() == group)
        .filter(|id| filter.as_ref().is_none_or(|f| f.is_match(&id.to_string())))
        .collect())
}

/// gungraun's name of the `index`th run of `group` (its bench function and bench id).
pub fn run_name(group: Group, index: usize) -> String {
    format!("{}.each_{index}", group.name())
}

/// A counted run's `summary.json`, the parts read here.
#[derive(Deserialize)]
struct Summary {
    function_name: String,
    id: Option<String>,
    profiles: Vec<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    tool: String,
    data: ProfileData,
}

#[derive(Deserialize)]
struct ProfileData {
    total: Total,
}

#[derive(Deserialize)]
struct Total {
    metrics: BTreeMap<String, Metric>,
}

#[derive(Deserialize)]
struct Metric {
    values: Values,
}

#[derive(Deserialize)]
struct Values {
    new: Option<f64>,
}

/// Every id's instruction count under gungraun's `home`, named by `listing` (what the bench
/// binary printed for [`IDS_FLAG`]). A run the listing does not name is an error: the counts
/// would be filed under the wrong ids.
pub fn load(home: &Path, listing: &str) -> io::Result<BTreeMap<String, u64>> {
    let names: BTreeMap<&str, &str> =
        listing.lines().filter_map(|line| line.split_once(' ')).collect();
    let mut counts = BTreeMap::new();
    for summary in summaries(home)? {
        let text = std::fs::read(&summary)?;
        let invalid = |error: &dyn std::fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{}: {error}", summary.display()))
        };
        let parsed: Summary = serde_json::from_slice(&text).map_err(|e| invalid(&e))?;
        let run = format!("{}.{}", parsed.function_name, parsed.id.unwrap_or_default());
        let id = names.get(run.as_str()).ok_or_else(|| invalid(&format!("no id for {run}")))?;
        let instructions = parsed
            .profiles
            .iter()
            .filter(|profile| profile.tool == "Callgrind")
            .find_map(|profile| profile.data.total.metrics.get("Ir")?.values.new)
            .ok_or_else(|| invalid(&"no Callgrind instruction count (Ir)"))?;
        counts.insert((*id).to_owned(), instructions as u64);
    }
    Ok(counts)
}

/// Every `summary.json` under `dir`.
fn summaries(dir: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let mut found = Vec::new();
    if !dir.exists() {
        return Ok(found);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(summaries(&path)?);
        } else if path.file_name().is_some_and(|name| name == "summary.json") {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(function: &str, id: &str, instructions: u64) -> String {
        serde_json::json!({
            "function_name": function,
            "id": id,
            "profiles": [{
                "tool": "Callgrind",
                "data": {"total": {"metrics": {"Ir": {"values": {"new": instructions}}}}}
            }]
        })
        .to_string()
    }

    #[test]
    fn counts_are_filed_under_the_ids_the_binary_listed() {
        let home =
            std::env::temp_dir().join(format!("servebench-instructions-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        for (dir, function, id, count) in [
            ("a/codec.each_0", "codec", "each_0", 1200),
            ("b/vision.each_1", "vision", "each_1", 99),
        ] {
            std::fs::create_dir_all(home.join(dir)).unwrap();
            std::fs::write(home.join(dir).join("summary.json"), summary(function, id, count))
                .unwrap();
        }
        let listing = "codec.each_0 codec/json_encode/basic\nvision.each_0 vision/decode/x\n\
                       vision.each_1 vision/resize/y\n";
        let counts = load(&home, listing).unwrap();
        assert_eq!(counts["codec/json_encode/basic"], 1200);
        assert_eq!(counts["vision/resize/y"], 99);
        assert_eq!(counts.len(), 2);
        // A run the binary did not list cannot be named.
        let error = load(&home, "codec.each_0 codec/json_encode/basic\n").unwrap_err();
        assert!(error.to_string().contains("no id for vision.each_1"), "{error}");
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn every_counted_stage_has_ids_and_runs_are_named_as_gungraun_names_them() {
        for group in GROUPS {
            assert!(!counted(group).unwrap().is_empty(), "{group}");
        }
        assert_eq!(run_name(Group::Vision, 3), "vision.each_3");
    }
}
