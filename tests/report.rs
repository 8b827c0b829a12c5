//! The report and the baseline comparison, on a small hand-made tree of Criterion output (no
//! bench runs): every section renders from what is there, what is not is said plainly, a
//! planted 20% slowdown is the one regression found, instruction counts are judged beside
//! times, and a noise profile holds each id to its own noise.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use servebench::attribution::{self, StageMeans};
use servebench::fixtures::STUDY_SIZES;
use servebench::ids::{BenchId, Carrier, Group, Payload, TransportId};
use servebench::link::{Link, LinkCheck};
use servebench::load::{LoadConfig, Point, StageSummary, Summary};
use servebench::report::compare::judge::{Judgement, Verdict};
use servebench::report::compare::noise::NoiseProfile;
use servebench::report::compare::outcome::Key;
use servebench::report::compare::{self, Counts, Measure, Measured, Runs};
use servebench::report::load::{Found, LoadRun};
use servebench::report::render::{self, ReportConfig};
use servebench::report::run::{self, RunInfo};
use servebench::report::snapshot;
use servebench::timing::{ClientStage, Stage};
use servebench::transport::Protocol;

/// The report of the latest run under `home`, written into `out` with the built-in templates.
fn report_config(home: PathBuf, out: &Path) -> ReportConfig {
    ReportConfig {
        criterion_home: home,
        baseline: "new".into(),
        out: out.to_owned(),
        templates: None,
        load: out.join("load"),
    }
}

/// A bench id the suite makes, from its text.
fn id(text: &str) -> BenchId {
    text.parse().unwrap()
}

/// Writes one benchmark's files as Criterion does, under `home/<directory>/<baseline>/`:
/// Criterion names the folders after the group, function and parameter, each with `/` made
/// `_`.
fn criterion_bench(home: &Path, baseline: &str, id: BenchId, throughput: &str, samples: &[f64]) {
    let parts = (id.group().name(), id.function(), id.parameter());
    write_bench(home, baseline, parts, throughput, samples);
}

/// [`criterion_bench`] from the id's three parts, whatever they are.
fn write_bench(
    home: &Path,
    baseline: &str,
    (group, function, value): (&str, String, Option<String>),
    throughput: &str,
    samples: &[f64],
) {
    let safe = |part: String| part.replace('/', "_");
    let full_id = [Some(group.to_owned()), Some(function.clone()), value.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("/");
    let directory = [Some(group.to_owned()), Some(safe(function.clone())), value.clone().map(safe)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("/");
    let folder = home.join(&directory).join(baseline);
    std::fs::create_dir_all(&folder).unwrap();
    let benchmark = serde_json::json!({
        "group_id": group, "function_id": function, "value_str": value,
        "throughput": serde_json::from_str::<serde_json::Value>(throughput).unwrap(),
        "full_id": full_id, "directory_name": directory, "title": full_id,
    });
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let estimate = |point: f64| {
        serde_json::json!({"confidence_interval": {"confidence_level": 0.95,
            "lower_bound": point * 0.98, "upper_bound": point * 1.02},
            "point_estimate": point, "standard_error": point * 0.01})
    };
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let estimates = serde_json::json!({"mean": estimate(mean), "median": estimate(median),
        "median_abs_dev": estimate(1.0), "slope": null, "std_dev": estimate(1.0)});
    // Two iterations per sample: sample.json holds totals.
    let sample = serde_json::json!({"sampling_mode": "Flat",
        "iters": vec![2.0; samples.len()], "times": samples.iter().map(|s| s * 2.0).collect::<Vec<_>>()});
    for (name, value) in
        [("benchmark.json", benchmark), ("estimates.json", estimates), ("sample.json", sample)]
    {
        std::fs::write(folder.join(name), serde_json::to_vec(&value).unwrap()).unwrap();
    }
}

fn around(center: f64) -> Vec<f64> {
    (0..20).map(|i| center * (1.0 + 0.002 * f64::from(i % 7) - 0.006)).collect()
}

#[test]
fn the_report_renders_every_section_there_is_and_names_what_is_missing() {
    let dir = common::TempDir::new("report");
    let home = dir.0.join("criterion");
    criterion_bench(
        &home,
        "new",
        id("transport/rest_h1/basic/c20"),
        r#"{"Bytes": 4000}"#,
        &around(600e3),
    );
    criterion_bench(
        &home,
        "new",
        id("transport/grpc/basic/c20"),
        r#"{"Bytes": 2000}"#,
        &around(1200e3),
    );
    criterion_bench(
        &home,
        "new",
        id("end_to_end/grpc_raw/360x640/cpu_b1"),
        r#"{"Elements": 20}"#,
        &around(1.05e9),
    );
    criterion_bench(
        &home,
        "new",
        id("end_to_end/oip_grpc_tensor/360x640/cpu_b1"),
        r#"{"Elements": 20}"#,
        &around(0.9e9),
    );
    criterion_bench(
        &home,
        "new",
        id("inference/resnet50_cpu/b1"),
        r#"{"Elements": 1}"#,
        &around(37e6),
    );
    for (text, time) in [
        ("vision/decode/noise_jpeg_360x640", 2e6),
        ("vision/resize/noise_jpeg_360x640", 1.2e6),
        ("vision/crop_normalize/noise_jpeg_360x640", 0.4e6),
        ("vision/preprocess/noise_jpeg_360x640", 4e6),
    ] {
        criterion_bench(&home, "new", id(text), r#"{"Bytes": 691200}"#, &around(time));
    }
    let means = StageMeans {
        requests: 200,
        client: [
            (ClientStage::Encode, 0.01),
            (ClientStage::Wait, 690.0),
            (ClientStage::Decode, 0.02),
        ]
        .into(),
        server: [
            (Stage::Queue, 620.0),
            (Stage::Decode, 2.5),
            (Stage::Preprocess, 7.2),
            (Stage::Infer, 56.0),
        ]
        .into(),
    };
    let BenchId::EndToEnd(charted) = id("end_to_end/grpc_raw/360x640/cpu_b1") else {
        unreachable!()
    };
    // An Open Inference Protocol route that preprocesses on the client: its own column.
    let BenchId::EndToEnd(tensor) = id("end_to_end/oip_grpc_tensor/360x640/cpu_b1") else {
        unreachable!()
    };
    let mut tensor_means = means.clone();
    tensor_means.client.insert(ClientStage::Preprocess, 9.5);
    tensor_means.server.remove(&Stage::Preprocess);
    let stages = [(charted, means), (tensor, tensor_means)].into();
    attribution::merge(&attribution::path(&home, Group::EndToEnd), stages).unwrap();
    // An id from another version of servebench is named, not reported.
    criterion_bench_text(&home, "vision/warp/noise_jpeg_360x640");

    // Two benches ran on one commit but on two machines.
    let ran_on = |machine: &str| RunInfo {
        commit: "0123456789ab".into(),
        machine: machine.into(),
        cores: 2,
        gpu: "none".into(),
        rustc: "rustc 1.95.0".into(),
        servebench: "0.1.0".into(),
        libtorch: "PyTorch 2.11.0+cpu".into(),
        started: "2026-11-25 16:46 UTC".into(),
    };
    attribution::merge(
        &home.join(run::FILE_NAME),
        [("transport".to_owned(), ran_on("laptop")), ("end_to_end".to_owned(), ran_on("gpu box"))]
            .into(),
    )
    .unwrap();

    let out = dir.0.join("servebench");
    let config = report_config(home, &out);
    let written = render::report(&config).unwrap();
    assert_eq!(written.ids, 10);
    let html = std::fs::read_to_string(&written.html).unwrap();
    let markdown = std::fs::read_to_string(&written.markdown).unwrap();
    // Where the run was made is the benches' record, not the machine rendering it.
    assert!(markdown.contains("- Commit: 0123456789ab\n"), "{markdown}");
    assert!(markdown.contains("- Machine: gpu box (end_to_end); laptop (transport)\n"));
    assert!(markdown.contains("- Run: started 2026-11-25 16:46 UTC, as the benches recorded it\n"));
    // The study's table: REST at 600 µs against gRPC at 1.2 ms is half the time.
    assert!(markdown.contains("| basic | 600 µs"), "{markdown}");
    assert!(markdown.contains("x0.50"), "{markdown}");
    // The TorchServe table in seconds per 20 requests, and the stacked bar with its numbers:
    // network is the wait less the server's stages (690 - 685.7).
    // Its compute floor: 20 x ((2.0 + 1.2 + 0.4 ms) / 2 cores + 37 ms) = 0.776 s, which gRPC's
    // 1.05 s is 1.35 times.
    assert!(
        markdown.contains("| 360x640 | 0.776 | — | — | 1.050 (1.029 – 1.071), x1.35 the floor |"),
        "{markdown}"
    );
    assert!(
        markdown.contains(
            "| grpc_raw | 200 | 0.00 | 0.01 | 4.30 | 0.00 | 620.00 | 2.50 | 7.20 | 56.00 |"
        ),
        "{markdown}"
    );
    assert!(
        markdown.contains(
            "| oip_grpc_tensor | 200 | 9.50 | 0.01 | 11.50 | 0.00 | 620.00 | 2.50 | 0.00 | 56.00 |"
        ),
        "{markdown}"
    );
    // Send the JPEG or the tensor: one request's bytes (the fixture's 360x640 JPEG in TorchServe's
    // gRPC message, the tensor in the OIP's), client and server ms but the queue, the time.
    let inputs = markdown.split("### 360x640, cpu_b1").nth(1).expect("the inputs table");
    assert!(
        inputs.contains("| grpc_raw | JPEG | 273,804 | 0.0 | 0.0 | 65.7 | 620.0 | 1.050 ("),
        "{inputs}"
    );
    assert!(
        inputs
            .contains("| oip_grpc_tensor | tensor | 602,165 | 9.5 | 9.5 | 58.5 | 620.0 | 0.900 ("),
        "{inputs}"
    );
    // The client's preprocess has a column where a route has one.
    assert!(markdown.contains(
        "| route | requests | client preprocess | client encode | network | receive | queue | \
         decode | preprocess | infer | postprocess | answer | server encode | client decode | \
         total |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    ));
    // Beside the bar, the stage benches that are the server's stages: preprocess is the resize
    // (and crop) of the decoded image, not `vision/preprocess`, which decodes as well.
    let alone = markdown.lines().find(|line| line.starts_with("Stage benches alone")).unwrap();
    assert!(alone.contains("`inference/resnet50_cpu/b1` 37.0 ms"), "{alone}");
    assert!(alone.contains("`vision/resize/noise_jpeg_360x640` 1.20 ms"), "{alone}");
    assert!(!alone.contains("vision/preprocess"), "{alone}");
    assert!(out.join("end_to_end_360x640_cpu_b1.svg").is_file());
    assert!(html.contains("<svg") && html.contains("infer"), "the chart is inline");
    // HTML escapes the slashes of the links to Criterion's pages.
    let unescaped = html.replace("&#x2f;", "/");
    assert!(unescaped.contains("../criterion/transport/grpc/basic_c20/report/index.html"));
    // What the run lacks is said, not left as empty tables.
    for missing in [
        "No codec results",
        "No postprocess results",
        "No CUDA results",
        "Not reported: results under ids this servebench does not make (another version's?): \
         vision/warp/noise_jpeg_360x640.",
    ] {
        let html = unescaped.replace("&#x27;", "'");
        assert!(markdown.contains(missing) && html.contains(missing), "{missing}");
    }
    assert!(!markdown.contains("No transport results"));

    // Kept for the record (`--save`), the run renders the same report; the README's findings
    // come from it, with where it ran.
    let kept = dir.0.join("results").join("kept");
    assert_eq!(snapshot::save(&config.criterion_home, "new", &kept).unwrap(), 10);
    let from_kept = ReportConfig { criterion_home: kept.clone(), ..config.clone() };
    render::report(&from_kept).unwrap();
    let without_written = |text: &str| -> String {
        text.lines().filter(|line| !line.starts_with("- Results:")).collect::<Vec<_>>().join("\n")
    };
    let again = std::fs::read_to_string(&written.markdown).unwrap();
    assert_eq!(without_written(&again), without_written(&markdown));
    let findings = render::readme(&from_kept).unwrap();
    assert!(
        findings.starts_with("Run: commit `0123456789ab`, gpu box (end_to_end); laptop"),
        "{findings}"
    );
    assert!(findings.contains("| basic | 600 µs"), "{findings}");
    assert!(
        findings.contains("| 360x640 | 0.776 | — | — | 1.050 (1.029 – 1.071), x1.35"),
        "{findings}"
    );
    // Only the 1080x1920 attribution goes in the README; this run has none.
    assert!(!findings.contains("grpc_raw | 200"), "{findings}");
    // A run with no record of where it ran cannot be stated.
    std::fs::remove_file(kept.join(run::FILE_NAME)).unwrap();
    assert!(render::readme(&from_kept).is_err());
}

/// `transport/.../basic/c20` under `home`: the floor, REST over HTTP/1.1, and gRPC at its
/// defaults and under three configurations (`window_16m+frame_1m` the fastest).
fn transport_basic_c20(home: &Path) {
    for (text, time) in [
        ("transport/tcp_floor/basic/c20", 300e3),
        ("transport/rest_h1/basic/c20", 600e3),
        ("transport/grpc/basic/c20", 1200e3),
        ("transport/grpc+window_16m+frame_1m/basic/c20", 900e3),
        ("transport/grpc+conns_4/basic/c20", 1500e3),
        ("transport/grpc+frame_1m/basic/c20", 1000e3),
    ] {
        criterion_bench(home, "new", id(text), r#"{"Bytes": 2000}"#, &around(time));
    }
}

#[test]
fn transport_cells_are_held_to_their_floor_and_configurations_to_their_defaults() {
    let dir = common::TempDir::new("report-floor");
    let home = dir.0.join("criterion");
    transport_basic_c20(&home);
    // An external target that does not speak h2c: the bench skipped REST over HTTP/2.
    let why = "http://127.0.0.1:8000 did not answer it: transport error: frame with invalid size";
    let skipped = [("transport/rest_h2".to_owned(), why.to_owned())].into();
    run::record_skipped(&home, "transport", skipped).unwrap();
    let out = dir.0.join("servebench");
    let config = report_config(home, &out);
    let written = render::report(&config).unwrap();
    let markdown = std::fs::read_to_string(&written.markdown).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(
        markdown.contains(&format!("Not in this run: transport/rest_h2/... ({why}).")),
        "{markdown}"
    );
    // The study's row: the floor first, each protocol's time over it.
    let row = markdown.lines().find(|line| line.starts_with("| basic | 300 µs")).unwrap();
    assert!(row.contains("), x2.00 the floor | — | "), "{row}");
    assert!(row.contains("), x4.00 the floor | x0.50 | — |"), "{row}");
    // gRPC's defaults against its fastest configuration, both over the floor; REST over HTTP/1.1
    // has only its defaults, so no row.
    let row = markdown.lines().find(|line| line.starts_with("| basic | grpc | 300 µs")).unwrap();
    assert!(row.contains("| x4.00 | `grpc+window_16m+frame_1m` | 900 µs"), "{row}");
    // Which knob moved it: frame_1m alone (window_16m alone was not measured).
    assert!(row.ends_with("| x3.00 | x0.75 | frame_1m x0.83 | 4 |"), "{row}");
    assert!(!markdown.contains("| basic | rest_h1 |"), "{markdown}");
    assert!(html.contains("<code>grpc+window_16m+frame_1m</code>"), "{html}");
    // No stage means were written: said so.
    assert!(markdown.contains("No transport stage attribution"), "{markdown}");
    // Every transport cell, configured or not, over its floor; the floor itself has none.
    let every_id = markdown.split("## Every id").nth(1).unwrap();
    for (id, over) in [
        ("transport/grpc+conns_4/basic/c20", "| x5.00 |"),
        ("transport/grpc+frame_1m/basic/c20", "| x3.33 |"),
        ("transport/tcp_floor/basic/c20", "| — |"),
    ] {
        let row = every_id.lines().find(|line| line.starts_with(&format!("| {id} |"))).unwrap();
        assert!(row.ends_with(over), "{row}");
    }
}

#[test]
fn transport_requests_are_charted_stage_by_stage_at_defaults_and_fastest() {
    let dir = common::TempDir::new("report-transport-stages");
    let home = dir.0.join("criterion");
    transport_basic_c20(&home);
    criterion_bench(
        &home,
        "new",
        id("codec/protobuf_decode/basic"),
        r#"{"Bytes": 60}"#,
        &around(400.0),
    );
    let means = |wait: f64, receive: f64| StageMeans {
        requests: 1000,
        client: [
            (ClientStage::Encode, 0.01),
            (ClientStage::Wait, wait),
            (ClientStage::Decode, 0.0),
        ]
        .into(),
        server: [(Stage::Receive, receive), (Stage::Decode, 0.05), (Stage::Answer, 0.01)].into(),
    };
    let stages: BTreeMap<TransportId, StageMeans> = [
        ("transport/rest_h1/basic/c20", means(0.5, 0.1)),
        ("transport/grpc/basic/c20", means(1.1, 0.6)),
        ("transport/grpc+window_16m+frame_1m/basic/c20", means(0.8, 0.3)),
        // Measured but neither the defaults nor the fastest: not charted.
        ("transport/grpc+conns_4/basic/c20", means(1.4, 0.9)),
    ]
    .into_iter()
    .map(|(text, means)| (text.parse().unwrap(), means))
    .collect();
    attribution::merge(&attribution::path(&home, Group::Transport), stages).unwrap();
    let out = dir.0.join("servebench");
    let config = report_config(home, &out);
    let written = render::report(&config).unwrap();
    let markdown = std::fs::read_to_string(&written.markdown).unwrap();
    let section = markdown.split("## Where a transport request's time went").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    assert!(section.contains("### basic, c20"), "{section}");
    // network = wait less the server's stages: 1.1 - 0.66 for gRPC's defaults.
    assert!(section.contains("| grpc | 1000 | 0.01 | 0.44 | 0.60 | 0.00 | 0.05 |"), "{section}");
    assert!(section.contains("| rest_h1 | 1000 |"), "{section}");
    assert!(
        section.contains("| grpc+window_16m+frame_1m | 1000 | 0.01 | 0.44 | 0.30 |"),
        "{section}"
    );
    assert!(!section.contains("conns_4"), "{section}");
    assert!(
        section.contains("Stage benches alone: `codec/protobuf_decode/basic` 400 ns"),
        "{section}"
    );
    assert!(out.join("transport_basic_c20.svg").is_file());
    assert!(!markdown.contains("No transport stage attribution"), "{markdown}");
    let html = std::fs::read_to_string(&written.html).unwrap();
    let html = html.split("Where a transport request").nth(1).unwrap();
    assert!(html.contains("<svg") && html.contains("<td>grpc+window_16m+frame_1m</td>"), "{html}");
}

#[test]
fn links_get_their_tables_their_checks_and_a_chart_against_bandwidth() {
    let dir = common::TempDir::new("report-links");
    let home = dir.0.join("criterion");
    // Twenty 2.5 MB bodies an iteration: 4 s of wire time at 100 Mbit/s, 0.4 s at 1 Gbit/s.
    let [h1, h2, grpc] = Protocol::ALL.map(Carrier::defaults);
    let carriers = [(Carrier::Floor, 0.9), (h1, 1.0), (h2, 1.1), (grpc, 1.2)];
    let links = [(Link::Loopback, 0.0), (Link::shaped(1000, 0), 0.4), (Link::shaped(100, 0), 4.0)];
    for (link, wire) in links {
        for (carrier, overhead) in carriers {
            let payload = Payload::Binary(STUDY_SIZES[2]);
            let id = TransportId { carrier, link, payload, concurrency: 20 };
            let seconds = wire * 1.05 + 0.05 * overhead;
            let bytes = r#"{"Bytes": 50000000}"#;
            criterion_bench(&home, "new", id.into(), bytes, &around(seconds * 1e9));
        }
    }
    let check = |link: &str, rate_mbit: f64, transfer_ms: f64| LinkCheck {
        link: link.parse().unwrap(),
        rtt_ms: 0.02,
        rate_mbit,
        bulk_bytes: 4_000_000,
        transfer_bytes: 2_400_000,
        transfer_ms,
    };
    let checks: BTreeMap<Link, LinkCheck> =
        [check("1gbit", 956.5, 20.1), check("100mbit", 95.6, 200.7)]
            .into_iter()
            .map(|check| (check.link, check))
            .collect();
    run::record_links(&home, "transport", checks).unwrap();
    let why =
        "the kernel has no netem qdisc (sch_netem), so 100mbit_rtt20ms cannot add its round trip";
    let skipped = [("transport/*@100mbit_rtt20ms".to_owned(), why.to_owned())].into();
    run::record_skipped(&home, "transport", skipped).unwrap();
    let out = dir.0.join("servebench");
    let written = render::report(&report_config(home, &out)).unwrap();
    let markdown = std::fs::read_to_string(&written.markdown).unwrap();

    // Loopback's table first, then each link's, fastest first, its check beside it.
    let loopback = markdown.find("### c20\n").expect(&markdown);
    let gigabit = markdown.find("### c20 over 1gbit").expect(&markdown);
    let slow = markdown.find("### c20 over 100mbit").expect(&markdown);
    assert!(loopback < gigabit && gigabit < slow, "{markdown}");
    let slow_table = &markdown[slow..];
    assert!(
        slow_table.contains(
            "Link check: 100mbit: 95.6 Mbit/s (configured 100), round trip 0.02 ms (configured \
             0), 2.4 MB in 200.7 ms (wire time 192.0 ms)."
        ),
        "{slow_table}"
    );
    // The row's wire time: 50 MB at 100 Mbit/s.
    let row = slow_table.lines().find(|line| line.starts_with("| binary_1080x1920 |")).unwrap();
    assert!(row.starts_with("| binary_1080x1920 | 4.00 s | 4.2"), "{row}");
    assert!(
        markdown.contains(&format!("Not in this run: transport/*@100mbit_rtt20ms/... ({why})."))
    );

    let section = markdown.split("## Over links: time against bandwidth").nth(1).expect(&markdown);
    let section = section.split("\n## ").next().unwrap();
    assert!(
        section.contains(
            "| 1gbit | transport | 956.5 of 1000 | 0.02 of 0 | 20.1 ms (wire time 19.2 ms) |"
        ),
        "{section}"
    );
    assert!(
        section.contains("| seconds per 20 requests | 100mbit | 1gbit | loopback |"),
        "{section}"
    );
    assert!(section.contains("| grpc raw | 4.260 | 0.480 | 0.060 |"), "{section}");
    assert!(section.contains("| wire time, raw | 4.000 | 0.400 | — |"), "{section}");
    // Base64 was not measured: neither its lines nor its wire time.
    assert!(!section.contains("base64"), "{section}");
    let svg = std::fs::read_to_string(out.join("links_1080x1920.svg")).unwrap();
    assert!(svg.contains("wire time, raw") && svg.contains("100mbit"), "{svg}");
}

/// The README's findings are its kept run rendered (`servebench report --criterion
/// results/... --readme README.md` writes them), never figures copied by hand.
#[test]
fn the_readmes_findings_are_its_kept_run_rendered() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let (source, written) =
        snapshot::generated(&readme).expect("README.md has its generated findings' markers");
    let dir = common::TempDir::new("readme");
    let config = report_config(root.join(&source), &dir.0);
    let rendered = render::readme(&config).unwrap();
    assert!(
        written == rendered,
        "README.md's findings are not {}'s: run `cargo run --release -- report --criterion {} \
         --readme README.md`\n--- README.md ---\n{written}\n--- rendered ---\n{rendered}",
        source.display(),
        source.display()
    );
}

#[test]
fn comparing_baselines_flags_the_planted_slowdown_and_nothing_else() {
    let dir = common::TempDir::new("baselines");
    let home = dir.0.join("criterion");
    let ids = [
        id("codec/base64_encode/720x1280"),
        id("codec/base64_decode/720x1280"),
        id("vision/decode/noise_jpeg_720x1280"),
    ];
    for (index, id) in ids.iter().enumerate() {
        let base = 1e6 * (index + 1) as f64;
        criterion_bench(&home, "main", *id, r#"{"Bytes": 1000}"#, &around(base));
        // The planted 20% in the first id only; the others move within noise.
        let head = if index == 0 { base * 1.2 } else { base * 1.003 };
        criterion_bench(&home, "branch", *id, r#"{"Bytes": 1000}"#, &around(head));
    }
    let outcome =
        compare::compare_baselines(&home, "main", "branch", &Judgement::default(), None).unwrap();
    let planted = ids[0].to_string();
    assert_eq!(outcome.regressed, vec![Key { id: planted.clone(), measure: Measure::Time }]);
    let row = outcome.rows.iter().find(|row| row.id == planted).unwrap();
    assert!((row.change.unwrap() - 0.2).abs() < 1e-9, "{row:?}");
    assert_eq!(row.verdict, Verdict::Regressed);
    // compare.json holds numbers a CI job reads without parsing text.
    let json = serde_json::to_value(&outcome).unwrap();
    let first = &json["rows"][0];
    assert_eq!(first["id"], "codec/base64_decode/720x1280");
    assert_eq!(first["measure"], "time");
    assert!(first["base"].is_f64() && first["change"].is_f64(), "{first}");
    assert!(first["lower"].is_f64() && first["upper"].is_f64(), "{first}");
    assert!(first["p_regressed"].as_f64().unwrap() > 0.5, "{first}");
    assert_eq!(first["verdict"], "unchanged");
    let markdown = outcome.markdown(None).unwrap();
    assert!(markdown.contains("**1 regressed**") && markdown.contains(&planted), "{markdown}");
    assert!(
        markdown.contains("| `codec/base64_encode/720x1280` | time | 1000 µs | 1.20 ms | +20.0% |")
    );
    assert!(
        compare::compare_baselines(&home, "main", "nope", &Judgement::default(), None).is_err()
    );

    let same =
        compare::compare_baselines(&home, "main", "main", &Judgement::default(), None).unwrap();
    assert!(same.regressed.is_empty());
    assert!(same.markdown(None).unwrap().contains("**No regressions**"));
}

#[test]
fn instruction_counts_are_judged_by_their_change_beside_the_times() {
    let counts = |entries: &[(&str, u64)]| -> Counts {
        entries.iter().map(|&(id, count)| (id.to_owned(), count)).collect()
    };
    let base = Measured {
        times: Runs::new(),
        instructions: counts(&[
            ("codec/base64_encode/360x640", 2_000_000),
            ("codec/base64_decode/360x640", 3_000_000),
            ("postprocess/softmax/imagenet", 50_000),
        ]),
        ..Measured::default()
    };
    let head = Measured {
        times: Runs::new(),
        instructions: counts(&[
            // The plant's 10 % more work, 0.5 % from a changed environment, and a new id.
            ("codec/base64_encode/360x640", 2_200_000),
            ("codec/base64_decode/360x640", 3_015_000),
            ("vision/decode/noise_jpeg_360x640", 9_000_000),
        ]),
        ..Measured::default()
    };
    let outcome = compare::outcome::outcome(
        ("main", &base),
        ("branch", &head),
        &Judgement::default(),
        None,
        3,
        0,
    );
    let key = Key { id: "codec/base64_encode/360x640".to_owned(), measure: Measure::Instructions };
    assert_eq!(outcome.regressed, vec![key.clone()]);
    let verdicts: Vec<(&str, Verdict)> =
        outcome.rows.iter().map(|row| (row.id.as_str(), row.verdict)).collect();
    assert_eq!(
        verdicts,
        [
            ("codec/base64_decode/360x640", Verdict::Unchanged),
            ("codec/base64_encode/360x640", Verdict::Regressed),
            ("postprocess/softmax/imagenet", Verdict::OnlyInBase),
            ("vision/decode/noise_jpeg_360x640", Verdict::OnlyInHead),
        ]
    );
    let markdown = outcome.markdown(None).unwrap();
    assert!(markdown.contains("- `codec/base64_encode/360x640` (instructions)"), "{markdown}");
    assert!(
        markdown.contains(
            "| `codec/base64_encode/360x640` | instructions | 2.000 M instr | 2.200 M instr | +10.0% |"
        ),
        "{markdown}"
    );
    assert!(outcome.rule().contains("or more than 1% more instructions"), "{}", outcome.rule());
    assert!(outcome.table().contains("2.200 M instr"));
}

#[test]
fn a_noise_profile_holds_each_id_to_its_own_noise() {
    // Three runs a side, each run ten samples within 0.5 % of its center.
    let runs = |centers: &[f64]| -> Vec<Vec<f64>> {
        centers
            .iter()
            .map(|c| (0..10).map(|i| c * (1.0 + 0.001 * (i % 5) as f64)).collect())
            .collect()
    };
    let side = |quiet: &[f64], noisy: &[f64]| Measured {
        times: [("quiet".to_owned(), runs(quiet)), ("noisy".to_owned(), runs(noisy))].into(),
        ..Measured::default()
    };
    let base = side(&[100.0, 100.2, 99.9], &[100.0, 100.3, 99.8]);
    // Quiet: every run 3 % slower. Noisy: every run 10 % slower, within its usual scatter.
    let head = side(&[103.0, 103.1, 102.9], &[110.0, 110.4, 109.7]);
    let calibration: Runs = [
        ("quiet".to_owned(), runs(&[100.0, 100.2, 99.9, 100.1, 99.8, 100.0])),
        ("noisy".to_owned(), runs(&[100.0, 112.0, 91.0, 105.0, 96.0, 110.0])),
    ]
    .into();
    let profile = NoiseProfile::from_runs("m", "t", true, &calibration);
    let judgement = Judgement::default();
    let verdicts = |noise: Option<&NoiseProfile>| -> Vec<(String, Verdict)> {
        let outcome =
            compare::outcome::outcome(("b", &base), ("h", &head), &judgement, noise, 3, 0);
        outcome.rows.into_iter().map(|row| (row.id, row.verdict)).collect()
    };
    // One 5 % threshold: the quiet id's 3 % passes, the noisy id's 10 % is called.
    let flat = verdicts(None);
    assert_eq!(flat, [("noisy".into(), Verdict::Regressed), ("quiet".into(), Verdict::Unchanged)]);
    // Each id its own: the quiet id is caught at 3 %, the noisy one's 10 % is its weather.
    let own = verdicts(Some(&profile));
    assert_eq!(own, [("noisy".into(), Verdict::Unchanged), ("quiet".into(), Verdict::Regressed)]);
    let outcome =
        compare::outcome::outcome(("b", &base), ("h", &head), &judgement, Some(&profile), 3, 0);
    assert_eq!(outcome.rows[1].threshold, 0.01);
    assert!(outcome.rows[0].threshold > 0.2, "{:?}", outcome.rows[0]);
    assert!(outcome.rule().contains("its own threshold from the noise profile"));
}

#[test]
fn a_change_stands_only_where_its_confirmation_rounds_call_it_too() {
    // Ten samples a run, within 0.5 % of the run's median (µs).
    let runs = |medians: &[f64]| -> Vec<Vec<f64>> {
        medians
            .iter()
            .map(|m| (0..10).map(|i| m * (1.0 + 0.001 * (i % 5) as f64)).collect())
            .collect()
    };
    let side = |ids: &[(&str, &[f64])]| -> Runs {
        ids.iter().map(|&(id, medians)| (id.to_owned(), runs(medians))).collect()
    };
    // As measured on a 2-core VM in an A/A: `codec/protobuf_decode/response` lands near 20 or
    // near 42 µs per process. Base's three runs all landed high and head's all low; the six
    // runs after them, alternating, landed either way.
    let bimodal = "codec/protobuf_decode/response";
    let base = Measured {
        times: side(&[
            (bimodal, &[41.0, 41.7, 44.5]),
            ("real", &[100.0, 100.5, 99.6]),
            ("unconfirmable", &[100.0, 100.2, 99.9]),
        ]),
        confirmation: side(&[(bimodal, &[39.0, 18.7, 22.7]), ("real", &[100.2, 99.8, 100.1])]),
        ..Measured::default()
    };
    let head = Measured {
        times: side(&[
            (bimodal, &[20.5, 20.2, 19.3]),
            ("real", &[120.0, 121.0, 119.5]),
            ("unconfirmable", &[130.0, 130.5, 129.8]),
        ]),
        confirmation: side(&[(bimodal, &[19.7, 44.3, 30.2]), ("real", &[120.4, 119.7, 121.2])]),
        ..Measured::default()
    };
    let judgement = Judgement::default();
    let outcome = compare::outcome::outcome(("b", &base), ("h", &head), &judgement, None, 3, 3);
    let verdicts: Vec<(&str, Verdict, bool)> = outcome
        .rows
        .iter()
        .map(|row| (row.id.as_str(), row.verdict, row.confirmation.is_some()))
        .collect();
    assert_eq!(
        verdicts,
        [
            // Called a sure -53 % by its first rounds, nothing by its confirmation.
            (bimodal, Verdict::Unconfirmed, true),
            ("real", Verdict::Regressed, true),
            // Called changed, with no confirmation runs (judged again from older runs, or
            // confirmation turned off): the rounds' verdict stands.
            ("unconfirmable", Verdict::Regressed, false),
        ]
    );
    let first = compare::outcome::outcome(
        ("b", &Measured { confirmation: Runs::new(), ..base.clone() }),
        ("h", &Measured { confirmation: Runs::new(), ..head.clone() }),
        &judgement,
        None,
        3,
        0,
    );
    assert_eq!(first.changed_times(), [bimodal, "real", "unconfirmable"]);
    assert_eq!(first.rows[0].verdict, Verdict::Improved);
    let again = outcome.rows[1].confirmation.as_ref().unwrap();
    assert!((again.change - 0.2).abs() < 0.02, "{again:?}");
    assert!(outcome.rule().contains("again in 3 confirmation rounds"), "{}", outcome.rule());
    assert!(outcome.table().contains("unconfirmed (confirmation rounds: "), "{}", outcome.table());
    let markdown = outcome.markdown(None).unwrap();
    assert!(markdown.contains("unconfirmed (confirmation rounds: "), "{markdown}");
    let regressed: Vec<&str> = outcome.regressed.iter().map(|key| key.id.as_str()).collect();
    assert_eq!(regressed, ["real", "unconfirmable"]);
}

/// A result under an id this version does not make, as an older or newer servebench wrote it.
fn criterion_bench_text(home: &Path, id: &str) {
    let (group, rest) = id.split_once('/').unwrap();
    let (function, value) = rest.split_once('/').unwrap();
    let parts = (group, function.to_owned(), Some(value.to_owned()));
    write_bench(home, "new", parts, "null", &around(1e6));
}

/// A load point of `throughput` a second, its p99 `p99` ms, and the model server's queue and
/// infer stages.
fn load_point(load: &str, throughput: f64, p99: f64, queue: f64, stable: bool) -> Point {
    let stage = |mean| StageSummary { mean, p99: mean * 2.0 };
    Point {
        load: load.parse().unwrap(),
        stable,
        throughput,
        sent: 100,
        delayed: 0,
        succeeded: 100,
        errors: Default::default(),
        latency: Summary {
            mean: p99 / 2.0,
            p50: p99 / 2.0,
            p90: p99 * 0.9,
            p95: p99 * 0.95,
            p99,
            p999: p99,
            max: p99,
        },
        client: ClientStage::ALL.map(|stage| (stage, 0.1)).into(),
        server: [(Stage::Queue, stage(queue)), (Stage::Infer, stage(110.0))].into(),
        windows: Vec::new(),
    }
}

#[test]
fn load_runs_are_charted_with_their_server_stages() {
    let dir = common::TempDir::new("report-load");
    let home = dir.0.join("criterion");
    transport_basic_c20(&home);
    let out = dir.0.join("servebench");
    let config = report_config(home, &out);
    let markdown = std::fs::read_to_string(render::report(&config).unwrap().markdown).unwrap();
    assert!(markdown.contains("No load runs"), "{markdown}");

    let run = LoadRun {
        workload: "model/rest_h1_raw@100mbit/360x640/cpu_b1".parse().unwrap(),
        target: "in-process".into(),
        link: Some(LinkCheck {
            link: Link::shaped(100, 0),
            rtt_ms: 0.03,
            rate_mbit: 95.6,
            bulk_bytes: 4_000_000,
            transfer_bytes: 2_400_000,
            transfer_ms: 200.7,
        }),
        config: LoadConfig::default(),
        run: RunInfo::here(),
        // Measured out of order, as a search does: the report puts them in order of load.
        points: vec![
            load_point("r8", 7.1, 2400.0, 1900.0, false),
            load_point("r2", 2.0, 260.0, 20.0, true),
            load_point("r4", 4.0, 330.0, 80.0, true),
        ],
        search: Some(Found { budget: "p99 <= 500 ms".into(), sustained: Some(4.0), at_top: false }),
    };
    run.save(&config.load).unwrap();
    let written = render::report(&config).unwrap();
    let markdown = std::fs::read_to_string(&written.markdown).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    let section = markdown.split("### model/rest_h1_raw@100mbit/360x640/cpu_b1").nth(1).unwrap();
    assert!(
        section.contains("in-process, link 100mbit: 95.6 Mbit/s (configured 100), round trip"),
        "the link's check beside its run: {section}"
    );
    assert!(section.contains("highest rate holding p99 <= 500 ms: 4/s"), "{section}");
    assert!(section.contains("| stable | queue | infer |"), "{section}");
    let rows: Vec<&str> = section.lines().filter(|line| line.starts_with("| r")).collect();
    assert_eq!(rows.len(), 3, "{section}");
    assert!(rows[0].starts_with("| r2 | 2.0 | 130.00 |"), "{}", rows[0]);
    assert!(
        rows[2].ends_with("| no | 1900.00 | 110.00 |"),
        "the queue grows at the knee: {}",
        rows[2]
    );
    let svg =
        std::fs::read_to_string(out.join("load-model-rest_h1_raw@100mbit-360x640-cpu_b1.svg"))
            .unwrap();
    assert!(svg.contains("p99") && svg.contains("<circle"), "the curve and its points");
    // HTML escapes the slashes; the curve is inline.
    let section = html.split("360x640&#x2f;cpu_b1</h3>").nth(1).unwrap();
    assert!(section.trim_start().starts_with("<p>in-process, link 100mbit: "), "{section}");
    assert!(
        section.contains("<svg") && section.contains("<td>no</td><td>1900.00</td>"),
        "{section}"
    );
}

#[test]
fn the_side_by_side_table_holds_each_server_to_its_floor_and_to_torchserve() {
    let dir = common::TempDir::new("side-by-side");
    let stages = dir.0.join("stages");
    for (text, time) in [
        ("vision/decode/noise_jpeg_1080x1920", 20e6),
        ("vision/resize/noise_jpeg_1080x1920", 5e6),
        ("vision/crop_normalize/noise_jpeg_1080x1920", 1e6),
        ("vision/preprocess_scaled/noise_jpeg_1080x1920", 14e6),
        ("inference/resnet50_cpu/b1", 30e6),
    ] {
        criterion_bench(&stages, "new", id(text), r#"{"Elements": 1}"#, &[time; 20]);
    }
    let record =
        RunInfo { cores: 2, machine: "test box, 2 cores, linux".into(), ..RunInfo::here() };
    attribution::merge(&stages.join(run::FILE_NAME), [("vision".to_owned(), record)].into())
        .unwrap();
    let rounds = [
        [
            ("torchserve", 1.30e9),
            ("serial", 1.2e9),
            ("pipelined", 1.1e9),
            ("pipelined_scaled", 0.90e9),
        ],
        [
            ("torchserve", 1.32e9),
            ("serial", 1.2e9),
            ("pipelined", 1.1e9),
            ("pipelined_scaled", 0.92e9),
        ],
    ];
    for (round, servers) in rounds.iter().enumerate() {
        for (server, time) in servers {
            let home = dir.0.join("rounds").join((round + 1).to_string()).join(server);
            let cell = id("end_to_end/rest_h1_raw/1080x1920/external");
            criterion_bench(&home, "new", cell, r#"{"Elements": 20}"#, &[*time; 20]);
        }
    }
    let table = servebench::report::side_by_side::table(&dir.0).unwrap();
    // Floors: exact 20 x (26 ms / 2 + 30 ms) = 0.86 s, scaled 20 x (14 / 2 + 30) = 0.74 s.
    assert!(
        table.contains(
            "| 1080x1920 | rest_h1_raw | 1.310 [1.300–1.320], x1.52 floor, x1.00 TS | 1.200 \
             [1.200–1.200], x1.40 floor, x1.09 TS | 1.100 [1.100–1.100], x1.28 floor, x1.19 TS | \
             0.910 [0.900–0.920], x1.23 floor, x1.44 TS |"
        ),
        "{table}"
    );
    assert!(table.contains("| 360x640 | grpc_raw | — | — | — | — |"), "{table}");
    assert!(table.contains("1080x1920 0.860 exact, 0.740 scaled."), "{table}");
    assert!(table.contains("the median of 2 alternating rounds") && table.contains("on 2 cores"));
}
