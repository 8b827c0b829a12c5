//! Bench ids are an interface: every id a bench makes parses back to itself and is one the ids
//! module knows, every id the module knows (that this machine can run) is made by a bench, and
//! every id the report looks up is made by one. The benches are asked, not trusted: each bench
//! binary built beside this test lists its ids (`--list`, Criterion's dry run). And the ids
//! themselves are pinned in `tests/ids.txt`: a rename breaks every stored baseline and
//! comparison, so it must be a reviewed change to that file, never a side effect.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use servebench::ids::{BenchId, Group};
use servebench::report::render;

/// The newest binary in `dir` built from `benches/<bench>.rs`: cargo names it `<bench>-<hash>`,
/// as it names a test of the same name (`tests/transport.rs`), so its dep-info file, which
/// lists its sources, tells the two apart.
fn bench_binary(dir: &Path, bench: &str) -> Option<PathBuf> {
    let prefix = format!("{bench}-");
    let source = format!("benches/{bench}.rs");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let hash = name.strip_prefix(&prefix).unwrap_or_default();
            hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit())
        })
        .filter(|entry| {
            let dep_info = std::fs::read_to_string(entry.path().with_extension("d"));
            dep_info.is_ok_and(|text| text.contains(&source))
        })
        .filter_map(|entry| {
            let metadata = entry.metadata().ok()?;
            use std::os::unix::fs::PermissionsExt;
            (metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
                .then(|| (metadata.modified().ok(), entry.path()))
        })
        .max()
        .map(|(_, path)| path)
}

/// What each bench lists, by the bench's group; `None` when its binary is not built.
fn listed() -> BTreeMap<Group, Option<Vec<String>>> {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    Group::ALL
        .into_iter()
        .map(|group| {
            let ids = bench_binary(dir, group.bench()).map(|binary| {
                let output = Command::new(&binary)
                    .args(["--list", "--format", "terse"])
                    .current_dir(env!("CARGO_MANIFEST_DIR"))
                    .env_remove("SERVEBENCH_MODEL_REST_TARGET")
                    .env_remove("SERVEBENCH_MODEL_GRPC_TARGET")
                    .env_remove("SERVEBENCH_REST_TARGET")
                    .env_remove("SERVEBENCH_GRPC_TARGET")
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "{} --list failed: {}",
                    binary.display(),
                    String::from_utf8_lossy(&output.stderr)
                );
                String::from_utf8(output.stdout)
                    .unwrap()
                    .lines()
                    .filter_map(|line| line.strip_suffix(": benchmark"))
                    .map(str::to_owned)
                    .collect()
            });
            (group, ids)
        })
        .collect()
}

#[test]
fn every_bench_id_round_trips_and_every_id_the_report_reads_is_made() {
    let listed = listed();
    let missing: Vec<&str> =
        listed.iter().filter(|(_, ids)| ids.is_none()).map(|(group, _)| group.bench()).collect();
    if !missing.is_empty() {
        let reason = format!(
            "bench binaries not built beside this test ({}): run `cargo test --all-targets`",
            missing.join(", ")
        );
        // CI builds every target first; there a missing binary is a failure, not a skip.
        assert!(std::env::var_os("CI").is_none(), "{reason}");
        eprintln!("skipping: {reason}");
        return;
    }
    let known: BTreeSet<BenchId> = BenchId::all().into_iter().collect();
    let mut made = BTreeSet::new();
    for (group, texts) in &listed {
        let texts = texts.as_ref().expect("checked above");
        assert!(!texts.is_empty(), "{} lists no ids", group.bench());
        for text in texts {
            let id: BenchId = text.parse().unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(id.to_string(), *text, "{text} does not round-trip");
            assert_eq!(id.group(), *group, "{text} comes from the {} bench", group.bench());
            assert!(known.contains(&id), "{text} is not an id the ids module enumerates");
            assert!(made.insert(id), "{text} is listed twice");
        }
    }
    let cuda = made.iter().any(BenchId::needs_cuda);
    let runnable = |id: &BenchId| (cuda || !id.needs_cuda()) && !id.needs_external_server();
    for id in known.iter().filter(|id| runnable(id)) {
        assert!(made.contains(id), "no bench makes {id}, which the ids module enumerates");
    }
    for id in render::looked_up().iter().filter(|id| runnable(id)) {
        assert!(made.contains(id), "the report looks up {id}, which no bench makes");
    }
}

#[test]
fn the_ids_are_the_published_ones() {
    let published = include_str!("ids.txt");
    let mut ids: Vec<String> = BenchId::all().iter().map(ToString::to_string).collect();
    ids.sort();
    let ids = ids.join("\n") + "\n";
    if ids != published {
        let now: BTreeSet<&str> = ids.lines().collect();
        let then: BTreeSet<&str> = published.lines().collect();
        panic!(
            "bench ids are an interface: reports, baselines and `servebench compare` key on them.\n\
             new: {:?}\ngone: {:?}\nIf this is meant, write the new list to tests/ids.txt.",
            now.difference(&then).collect::<Vec<_>>(),
            then.difference(&now).collect::<Vec<_>>()
        );
    }
}
