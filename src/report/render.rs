//! `servebench report`: Criterion's results and the end-to-end attribution, rendered through
//! `report-templates/` (minijinja) into one HTML page and one Markdown file.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::chart::{self, Bar};
use super::criterion::{self, Measurement, Throughput};
use super::run::{self, RunInfo};
use super::templates;
use crate::attribution::{self, Attribution, StageMeans};
use crate::fixtures::STUDY_SIZES;

/// The groups a full run produces, with the bench that makes each.
const GROUPS: [(&str, &str); 6] = [
    ("codec", "serialization"),
    ("transport", "transport"),
    ("vision", "vision"),
    ("inference", "inference"),
    ("postprocess", "postprocess"),
    ("end_to_end", "end_to_end"),
];
const PROTOCOLS: [&str; 3] = ["rest_h1", "rest_h2", "grpc"];
/// The study's TorchServe columns first (B64 REST, Binary REST, Binary gRPC), then the rest.
const ROUTES: [&str; 7] = [
    "rest_h1_base64",
    "rest_h1_raw",
    "grpc_raw",
    "rest_h1_multipart",
    "rest_h2_base64",
    "rest_h2_raw",
    "rest_h2_multipart",
];
const SETUPS: [&str; 5] = ["cpu_b1", "cpu_b8", "cuda_b1", "cuda_b8", "external"];

/// Where the report's inputs are and where it goes.
#[derive(Clone, Debug)]
pub struct ReportConfig {
    /// Criterion's output folder (`target/criterion`).
    pub criterion_home: PathBuf,
    /// Which baseline to report (`new`: the latest run).
    pub baseline: String,
    /// Where `report.html`, `report.md` and the charts go (`target/servebench`).
    pub out: PathBuf,
    /// Templates to use instead of the built-in copy of `report-templates/`.
    pub templates: Option<PathBuf>,
}

/// The files written.
#[derive(Debug)]
pub struct Written {
    /// `report.html`.
    pub html: PathBuf,
    /// `report.md`.
    pub markdown: PathBuf,
    /// How many bench ids the report covers.
    pub ids: usize,
}

/// Reads everything and writes the report.
pub fn report(config: &ReportConfig) -> io::Result<Written> {
    let measurements = criterion::load(&config.criterion_home, &config.baseline)?;
    let stages =
        attribution::read(&config.criterion_home.join("end_to_end").join(attribution::FILE_NAME))?;
    std::fs::create_dir_all(&config.out)?;
    let links = Links::new(&config.criterion_home, &config.out);
    let scenarios = scenarios(&measurements, &stages, &links)?;
    for scenario in &scenarios {
        std::fs::write(config.out.join(&scenario.svg_file), &scenario.svg)?;
    }
    let (run, run_recorded) = match run::summarize(&run::recorded(&config.criterion_home)?) {
        Some(recorded) => (recorded, true),
        None => (RunInfo::here(), false),
    };
    let context = Context {
        run,
        run_recorded,
        results_written: super::written_span(measurements.values()),
        baseline: config.baseline.clone(),
        study: study_tables(&measurements, &links),
        torchserve: torchserve_tables(&measurements, &links),
        scenarios,
        groups: groups(&measurements, &links),
        missing: missing(&measurements, &stages),
        ids: measurements.len(),
    };
    let environment = templates::environment(config.templates.as_deref())?;
    let render = |name: &str| {
        environment
            .get_template(name)
            .and_then(|template| template.render(minijinja::value::Serde(&context)))
            .map_err(|error| io::Error::other(format!("{name}: {error:#}")))
    };
    let written = Written {
        html: config.out.join("report.html"),
        markdown: config.out.join("report.md"),
        ids: measurements.len(),
    };
    std::fs::write(&written.html, render("report.html.j2")?)?;
    std::fs::write(&written.markdown, render("report.md.j2")?)?;
    Ok(written)
}

#[derive(Serialize)]
struct Context {
    /// Where the benches ran, as they recorded it; else this checkout and machine, now.
    run: RunInfo,
    /// Whether `run` is what the benches recorded.
    run_recorded: bool,
    /// When the oldest and newest of the reported results were written.
    results_written: String,
    baseline: String,
    study: Vec<StudyTable>,
    torchserve: Vec<TorchServeTable>,
    scenarios: Vec<Scenario>,
    groups: Vec<Group>,
    missing: Vec<String>,
    ids: usize,
}

/// A measured value as the templates show it.
#[derive(Clone, Serialize)]
struct Cell {
    /// Median, formatted with its unit.
    median: String,
    /// The median's confidence interval, formatted.
    interval: String,
    /// Criterion's page for the id.
    link: String,
    /// The id.
    id: String,
}

#[derive(Serialize)]
struct StudyTable {
    concurrency: String,
    rows: Vec<StudyRow>,
}

#[derive(Serialize)]
struct StudyRow {
    payload: String,
    cells: Vec<Option<Cell>>,
    /// REST over HTTP/1.1, then HTTP/2, divided by gRPC: the study's "x6".
    ratios: Vec<Option<String>>,
}

#[derive(Serialize)]
struct TorchServeTable {
    setup: String,
    routes: Vec<&'static str>,
    rows: Vec<TorchServeRow>,
}

#[derive(Serialize)]
struct TorchServeRow {
    size: String,
    /// Seconds per 20 concurrent requests, the study's unit.
    cells: Vec<Option<Cell>>,
}

#[derive(Serialize)]
struct Scenario {
    setup: String,
    size: String,
    svg: String,
    svg_file: String,
    rows: Vec<ScenarioRow>,
    stage_benches: Vec<Cell>,
}

#[derive(Serialize)]
struct ScenarioRow {
    route: String,
    requests: usize,
    /// Milliseconds per segment, formatted, in chart order.
    segments: Vec<String>,
    total: String,
}

#[derive(Serialize)]
struct Group {
    name: String,
    rows: Vec<GroupRow>,
}

#[derive(Serialize)]
struct GroupRow {
    cell: Cell,
    throughput: String,
}

/// Paths from the report to Criterion's pages.
struct Links {
    prefix: PathBuf,
}

impl Links {
    fn new(home: &Path, out: &Path) -> Self {
        // Side by side under one target folder, a relative link survives moving the folder.
        let prefix = if home.parent().is_some() && home.parent() == out.parent() {
            Path::new("..").join(home.file_name().unwrap_or_default())
        } else {
            std::path::absolute(home).unwrap_or_else(|_| home.to_owned())
        };
        Self { prefix }
    }

    fn cell(&self, measurement: &Measurement) -> Cell {
        self.cell_in(measurement, duration)
    }

    /// [`Self::cell`] with the median and interval written by `unit` (from nanoseconds).
    fn cell_in(&self, measurement: &Measurement, unit: fn(f64) -> String) -> Cell {
        let median = &measurement.median;
        Cell {
            median: unit(median.point),
            interval: format!(
                "{} – {}",
                unit(median.confidence_interval.lower_bound),
                unit(median.confidence_interval.upper_bound)
            ),
            link: self
                .prefix
                .join(&measurement.folder)
                .join("report/index.html")
                .display()
                .to_string(),
            id: measurement.id.clone(),
        }
    }
}

/// Nanoseconds with a unit a person reads at a glance.
pub fn duration(ns: f64) -> String {
    let (value, unit) = match ns {
        ns if ns >= 1e9 => (ns / 1e9, "s"),
        ns if ns >= 1e6 => (ns / 1e6, "ms"),
        ns if ns >= 1e3 => (ns / 1e3, "µs"),
        ns => (ns, "ns"),
    };
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$} {unit}")
}

fn study_tables(measurements: &BTreeMap<String, Measurement>, links: &Links) -> Vec<StudyTable> {
    let mut payloads = vec!["basic".to_owned()];
    for kind in ["base64", "binary"] {
        payloads.extend(STUDY_SIZES.iter().map(|size| format!("{kind}_{size}")));
    }
    ["c20", "c1"]
        .into_iter()
        .filter_map(|concurrency| {
            let rows: Vec<StudyRow> = payloads
                .iter()
                .filter_map(|payload| {
                    let found: Vec<Option<&Measurement>> = PROTOCOLS
                        .iter()
                        .map(|p| {
                            measurements.get(&format!("transport/{p}/{payload}/{concurrency}"))
                        })
                        .collect();
                    found.iter().any(Option::is_some).then(|| {
                        let grpc = found[2].map(|m| m.median.point);
                        let ratio = |rest: Option<&Measurement>| {
                            rest.zip(grpc)
                                .map(|(rest, grpc)| format!("x{:.2}", rest.median.point / grpc))
                        };
                        StudyRow {
                            payload: payload.clone(),
                            cells: found.iter().map(|m| m.map(|m| links.cell(m))).collect(),
                            ratios: vec![ratio(found[0]), ratio(found[1])],
                        }
                    })
                })
                .collect();
            (!rows.is_empty()).then(|| StudyTable { concurrency: concurrency.to_owned(), rows })
        })
        .collect()
}

fn torchserve_tables(
    measurements: &BTreeMap<String, Measurement>,
    links: &Links,
) -> Vec<TorchServeTable> {
    SETUPS
        .iter()
        .filter_map(|setup| {
            let rows: Vec<TorchServeRow> = STUDY_SIZES
                .iter()
                .filter_map(|size| {
                    let cells: Vec<Option<Cell>> = ROUTES
                        .iter()
                        .map(|route| {
                            // The study's unit: seconds, interval included.
                            measurements
                                .get(&format!("end_to_end/{route}/{size}/{setup}"))
                                .map(|m| links.cell_in(m, |ns| format!("{:.3}", ns / 1e9)))
                        })
                        .collect();
                    cells
                        .iter()
                        .any(Option::is_some)
                        .then(|| TorchServeRow { size: size.to_string(), cells })
                })
                .collect();
            (!rows.is_empty()).then(|| TorchServeTable {
                setup: (*setup).to_owned(),
                routes: ROUTES.to_vec(),
                rows,
            })
        })
        .collect()
}

/// The chart's segments for one id's stage means.
fn segments(means: &StageMeans) -> Vec<f64> {
    let client = |name: &str| means.client.get(name).copied().unwrap_or(0.0);
    let server = |name: &str| means.server.get(name).copied().unwrap_or(0.0);
    let server_total: f64 = means.server.values().sum();
    vec![
        client("encode"),
        (client("wait") - server_total).max(0.0),
        server("queue"),
        server("decode"),
        server("preprocess"),
        server("infer"),
        server("postprocess"),
        server("encode"),
        client("decode"),
    ]
}

fn scenarios(
    measurements: &BTreeMap<String, Measurement>,
    stages: &Attribution,
    links: &Links,
) -> io::Result<Vec<Scenario>> {
    let mut scenarios = Vec::new();
    for setup in SETUPS {
        for size in STUDY_SIZES {
            let found: Vec<(&str, &StageMeans)> = ROUTES
                .iter()
                .filter_map(|route| {
                    stages.get(&format!("end_to_end/{route}/{size}/{setup}")).map(|m| (*route, m))
                })
                .collect();
            if found.is_empty() {
                continue;
            }
            let bars: Vec<Bar> = found
                .iter()
                .map(|(route, means)| Bar { label: (*route).to_owned(), segments: segments(means) })
                .collect();
            let title = format!("end_to_end, {size}, {setup}: where a request's time went");
            let svg = chart::stacked_bars(&title, &bars).map_err(io::Error::other)?;
            let rows = found
                .iter()
                .zip(&bars)
                .map(|((route, means), bar)| ScenarioRow {
                    route: (*route).to_owned(),
                    requests: means.requests,
                    segments: bar.segments.iter().map(|ms| format!("{ms:.2}")).collect(),
                    total: format!("{:.2}", bar.segments.iter().sum::<f64>()),
                })
                .collect();
            let device = setup.split('_').next().unwrap_or("cpu");
            let batch = if setup.ends_with("b8") { "b8" } else { "b1" };
            // The server's stages one by one: `decode` (after base64 or the form), then
            // `preprocess`, which is Resize(256) and CenterCrop(224) + Normalize of the decoded
            // image (`vision/preprocess` would count the decode twice).
            let stage_benches = [
                format!("codec/base64_decode/{size}"),
                format!("codec/multipart_decode/{size}"),
                format!("vision/decode/noise_jpeg_{size}"),
                format!("vision/resize/noise_jpeg_{size}"),
                format!("vision/crop_normalize/noise_jpeg_{size}"),
                format!("inference/resnet50_{device}/{batch}"),
                "postprocess/classify_json/imagenet".to_owned(),
            ]
            .iter()
            .filter_map(|id| measurements.get(id).map(|m| links.cell(m)))
            .collect();
            scenarios.push(Scenario {
                setup: setup.to_owned(),
                size: size.to_string(),
                svg,
                svg_file: format!("end_to_end_{size}_{setup}.svg"),
                rows,
                stage_benches,
            });
        }
    }
    Ok(scenarios)
}

fn groups(measurements: &BTreeMap<String, Measurement>, links: &Links) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for measurement in measurements.values() {
        let name = measurement.id.split('/').next().unwrap_or_default();
        if groups.last().is_none_or(|group| group.name != name) {
            groups.push(Group { name: name.to_owned(), rows: Vec::new() });
        }
        let per_second = |count: u64| count as f64 * 1e9 / measurement.median.point;
        let throughput = match measurement.throughput {
            Some(Throughput::Bytes(n) | Throughput::BytesDecimal(n)) => {
                format!("{:.1} MB/s", per_second(n) / 1e6)
            }
            Some(Throughput::Bits(n)) => format!("{:.1} Mbit/s", per_second(n) / 1e6),
            Some(Throughput::Elements(n)) => format!("{:.1} /s", per_second(n)),
            None => String::new(),
        };
        groups
            .last_mut()
            .expect("pushed above")
            .rows
            .push(GroupRow { cell: links.cell(measurement), throughput });
    }
    groups
}

fn missing(measurements: &BTreeMap<String, Measurement>, stages: &Attribution) -> Vec<String> {
    let has = |prefix: &str| measurements.keys().any(|id| id.starts_with(prefix));
    let mut missing: Vec<String> = GROUPS
        .iter()
        .filter(|(group, _)| !has(&format!("{group}/")))
        .map(|(group, bench)| {
            format!("No {group} results: this run did not include them (`scripts/bench --bench {bench}`).")
        })
        .collect();
    let cuda = measurements.keys().any(|id| id.contains("_cuda/") || id.contains("/cuda_"));
    if !cuda {
        missing.push(
            "No CUDA results: libtorch saw no GPU on the machine the benches ran on, so the \
             inference/*_cuda and end_to_end/*/cuda_* ids were skipped."
                .to_owned(),
        );
    }
    if has("end_to_end/") && stages.is_empty() {
        missing.push(format!(
            "No stage attribution: end_to_end ran but left no {} beside Criterion's output.",
            attribution::FILE_NAME
        ));
    }
    missing
}
