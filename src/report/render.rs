//! `servebench report`: Criterion's results and the end-to-end attribution, rendered through
//! `report-templates/` (minijinja) into one HTML page and one Markdown file, and the README's
//! findings from a kept run ([`readme`]).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::Serialize;

use super::chart::{self, Bar, Segment};
use super::compute_floor;
use super::criterion::{self, Measurement, Throughput};
use super::run::{self, RunInfo};
use super::templates;
use crate::attribution::{self, Attribution, StageMeans};
use crate::fixtures::{ImageSize, ImageSpec, STUDY_SIZES};
use crate::ids::{
    BenchId, Carrier, CodecId, Design, Direction, EndToEndId, Format, Group, InferenceId, Message,
    Model, Payload, PostprocessId, Setup, TransportId, VisionId, VisionStep, Wrapping,
};
use crate::link::Link;
use crate::timing::ClientStage;
use crate::transport::{Body, HttpVersion, Protocol, Route};

/// The study's TorchServe columns first (B64 REST, Binary REST, Binary gRPC), then the rest.
pub(super) const ROUTES: [Route; 7] = [
    Route::Rest(HttpVersion::Http1, Body::Base64),
    Route::Rest(HttpVersion::Http1, Body::Raw),
    Route::Grpc,
    Route::Rest(HttpVersion::Http1, Body::Multipart),
    Route::Rest(HttpVersion::Http2, Body::Base64),
    Route::Rest(HttpVersion::Http2, Body::Raw),
    Route::Rest(HttpVersion::Http2, Body::Multipart),
];
/// The study's table at 20 concurrent requests first, then one at a time.
const CONCURRENCY: [usize; 2] = [20, 1];

/// Every setup an end-to-end table or chart may show, in report order.
fn setups() -> impl Iterator<Item = Setup> {
    Setup::all_local().chain([Setup::External])
}

/// The study's table row for `payload` over `link`: each protocol's id at its defaults, gRPC
/// last.
fn study_row(payload: Payload, concurrency: usize, link: Link) -> [TransportId; 3] {
    Protocol::ALL.map(|protocol| TransportId {
        carrier: Carrier::defaults(protocol),
        link,
        payload,
        concurrency,
    })
}

/// The id of the floor that `payload`'s row is held to.
fn floor_of(payload: Payload, concurrency: usize, link: Link) -> TransportId {
    TransportId { carrier: Carrier::Floor, link, payload, concurrency }
}

/// The TorchServe table's row for one size on loopback: each route's id.
fn torchserve_row(size: ImageSize, setup: Setup) -> [EndToEndId; 7] {
    ROUTES.map(|route| EndToEndId { route, link: Link::Loopback, size, setup })
}

/// The TorchServe table's row for one size over `link`: the routes measured over it, in the
/// table's order.
fn torchserve_ids(size: ImageSize, setup: Setup, link: Link) -> Vec<EndToEndId> {
    let over = EndToEndId::over(link, setup);
    let row = torchserve_row(size, setup).map(|id| EndToEndId { link, ..id });
    row.into_iter().filter(|id| over.contains(id)).collect()
}

/// The links `group`'s results crossed: loopback first, then the emulated links from the
/// fastest to the slowest, so the network's share grows down the report.
fn links_measured(results: &Results<'_>, group: Group) -> Vec<Link> {
    let mut links: Vec<Link> = results
        .0
        .keys()
        .filter_map(|id| match id {
            BenchId::Transport(id) if group == Group::Transport => Some(id.link),
            BenchId::EndToEnd(id) if group == Group::EndToEnd => Some(id.link),
            _ => None,
        })
        .collect();
    links.sort_by_key(|link| {
        let shape = link.shape().map(|shape| (std::cmp::Reverse(shape.mbit), shape.rtt_ms));
        (link.shape().is_some(), shape)
    });
    links.dedup();
    links
}

/// The stage benches that are the model server's stages one by one, for the chart of `size`
/// under `setup`: `decode` (after base64 or the form), then `preprocess`, which is Resize(256)
/// and CenterCrop(224) + Normalize of the decoded image (`vision/preprocess` would count the
/// decode twice), then the forward pass where servebench's server ran it, then the answer.
fn stage_benches(size: ImageSize, setup: Setup) -> Vec<BenchId> {
    let image = ImageSpec::study(size);
    let unwrap = |wrapping| CodecId::Image { wrapping, direction: Direction::Decode, size };
    let vision = |step| VisionId { step, image };
    let mut ids: Vec<BenchId> = vec![
        unwrap(Wrapping::Base64).into(),
        unwrap(Wrapping::Multipart).into(),
        vision(VisionStep::Decode).into(),
        vision(VisionStep::Resize).into(),
        vision(VisionStep::CropNormalize).into(),
    ];
    if let Setup::Local { device, batch, design } = setup {
        if design == Design::PipelinedScaled {
            ids.push(vision(VisionStep::PreprocessScaled).into());
        }
        ids.push(InferenceId::Forward { model: Model::Resnet50, device, images: batch }.into());
    }
    ids.push(PostprocessId::ClassifyJson.into());
    ids
}

/// Every id the report looks up by name (its other tables show whatever the run has).
pub fn looked_up() -> Vec<BenchId> {
    let mut ids: Vec<BenchId> = Vec::new();
    for concurrency in CONCURRENCY {
        for payload in Payload::all() {
            ids.extend(study_row(payload, concurrency, Link::Loopback).map(BenchId::from));
            ids.push(floor_of(payload, concurrency, Link::Loopback).into());
        }
    }
    for setup in setups() {
        for size in STUDY_SIZES {
            ids.extend(torchserve_row(size, setup).map(BenchId::from));
            let oip =
                Route::OIP.map(|route| EndToEndId { route, link: Link::Loopback, size, setup });
            ids.extend(oip.map(BenchId::from));
            ids.extend(stage_benches(size, setup));
        }
    }
    ids
}

/// The results under the ids servebench makes.
struct Results<'a>(HashMap<BenchId, &'a Measurement>);

impl<'a> Results<'a> {
    /// `measurements`' known ids, and the texts of those that are not.
    fn new(measurements: &'a BTreeMap<String, Measurement>) -> (Self, Vec<String>) {
        let mut known = HashMap::new();
        let mut unknown = Vec::new();
        for (text, measurement) in measurements {
            match text.parse::<BenchId>() {
                Ok(id) => {
                    known.insert(id, measurement);
                }
                Err(_) => unknown.push(text.clone()),
            }
        }
        (Self(known), unknown)
    }

    fn get(&self, id: impl Into<BenchId>) -> Option<&'a Measurement> {
        self.0.get(&id.into()).copied()
    }

    fn has(&self, group: Group) -> bool {
        self.0.keys().any(|id| id.group() == group)
    }
}

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
    /// Where `servebench load` wrote its runs (`target/servebench/load`); none is fine.
    pub load: PathBuf,
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
    let context = context(config)?;
    std::fs::create_dir_all(&config.out)?;
    for scenario in context.scenarios.iter().chain(&context.transport_scenarios) {
        std::fs::write(config.out.join(&scenario.svg_file), &scenario.svg)?;
    }
    for section in &context.load {
        std::fs::write(config.out.join(&section.svg_file), &section.svg)?;
    }
    for chart in context.links.iter().flat_map(|links| &links.charts) {
        std::fs::write(config.out.join(&chart.svg_file), &chart.svg)?;
    }
    let environment = templates::environment(config.templates.as_deref())?;
    let written = Written {
        html: config.out.join("report.html"),
        markdown: config.out.join("report.md"),
        ids: context.ids,
    };
    std::fs::write(&written.html, render(&environment, "report.html.j2", &context)?)?;
    std::fs::write(&written.markdown, render(&environment, "report.md.j2", &context)?)?;
    Ok(written)
}

/// The README's findings (`report-templates/readme.md.j2`): the study's tables, the TorchServe
/// experiment's and where a 1080x1920 request's time went, rendered from the run under
/// `config.criterion_home`, usually one kept in `results/` ([`super::snapshot`]). Writes
/// nothing; an error where the run has no record of where it ran, which the findings state.
pub fn readme(config: &ReportConfig) -> io::Result<String> {
    let context = context(config)?;
    if !context.run_recorded {
        return Err(io::Error::other(format!(
            "{} has no record of where its run was made ({}): the README's findings name it",
            config.criterion_home.display(),
            run::FILE_NAME
        )));
    }
    let environment = templates::environment(config.templates.as_deref())?;
    render(&environment, "readme.md.j2", &context)
}

/// Everything the templates show, from `config`'s run (the charts drawn, not written).
fn context(config: &ReportConfig) -> io::Result<Context> {
    let measurements = criterion::load(&config.criterion_home, &config.baseline)?;
    let (results, unknown) = Results::new(&measurements);
    let home = &config.criterion_home;
    let stages = attribution::read(&attribution::path(home, Group::EndToEnd))?;
    let transport_stages = attribution::read(&attribution::path(home, Group::Transport))?;
    let links = Links::new(&config.criterion_home, &config.out);
    let checks = run::link_checks(home)?;
    let latest_checks: BTreeMap<Link, String> = super::link::latest(&checks)
        .into_iter()
        .map(|(link, (_, check))| (link, check.to_string()))
        .collect();
    let transport_links = links_measured(&results, Group::Transport);
    let get = |id: TransportId| results.get(id);
    let link_section =
        super::link::section(&get, &transport_links, &checks).map_err(io::Error::other)?;
    let recorded = run::recorded(&config.criterion_home)?;
    // The floor divides by the cores the end-to-end bench's servers had.
    let cores = recorded.get(Group::EndToEnd.bench()).map_or(0, RunInfo::cores);
    let (run, run_recorded) = match run::summarize(&recorded) {
        Some(recorded) => (recorded, true),
        None => (RunInfo::here(), false),
    };
    Ok(Context {
        run,
        run_recorded,
        results_written: super::written_span(measurements.values()),
        baseline: config.baseline.clone(),
        study: study_tables(&results, &links, &latest_checks),
        configs: config_tables(&results, &links),
        torchserve: torchserve_tables(&results, &links, cores),
        inputs: input_tables(&results, &stages, &links)?,
        scenarios: scenarios(&results, &stages, &links)?,
        transport_scenarios: transport_scenarios(&results, &transport_stages, &links)?,
        links: link_section,
        load: super::load::sections(&config.load)?,
        groups: groups(&measurements, &links),
        missing: missing(
            &results,
            &unknown,
            (stages.is_empty(), transport_stages.is_empty()),
            &run::skipped(&config.criterion_home)?,
        ),
        ids: measurements.len(),
    })
}

/// Template `name` rendered with `context`.
fn render(environment: &Environment<'_>, name: &str, context: &Context) -> io::Result<String> {
    environment
        .get_template(name)
        .and_then(|template| template.render(minijinja::value::Serde(context)))
        .map_err(|error| io::Error::other(format!("{name}: {error:#}")))
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
    configs: Vec<ConfigTable>,
    torchserve: Vec<TorchServeTable>,
    /// Send the JPEG or the tensor: the Open Inference Protocol's routes beside TorchServe's,
    /// per setup and image size, where the run measured them.
    inputs: Vec<InputTable>,
    scenarios: Vec<Scenario>,
    /// Where a transport request's time went: per payload and concurrency, each protocol at
    /// its defaults and at its fastest configuration.
    transport_scenarios: Vec<Scenario>,
    /// The links the transport bench crossed: their checks and time against bandwidth; none
    /// when it crossed loopback only.
    links: Option<super::link::LinkSection>,
    /// The latest `servebench load` run of each workload.
    load: Vec<super::load::LoadSection>,
    groups: Vec<GroupTable>,
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
    /// The link crossed: empty for loopback.
    link: String,
    /// What the link's check measured, where it was checked.
    check: Option<String>,
    /// Whether the rows have a wire time (over an emulated link).
    has_wire: bool,
    /// Whether the run measured the floor (runs before it was added did not).
    has_floor: bool,
    rows: Vec<StudyRow>,
}

#[derive(Serialize)]
struct StudyRow {
    payload: String,
    /// The request bodies' wire time at the link's rate (REST's bodies: the JSON, or the raw
    /// image), over an emulated link.
    wire: Option<String>,
    /// The same bytes over plain TCP.
    floor: Option<Cell>,
    cells: Vec<Option<Cell>>,
    /// Each cell's time over the floor's.
    over_floor: Vec<Option<String>>,
    /// REST over HTTP/1.1, then HTTP/2, divided by gRPC: the study's "x6".
    ratios: Vec<Option<String>>,
}

/// Each protocol's configurations on the payloads they were measured on, at one concurrency.
#[derive(Serialize)]
struct ConfigTable {
    concurrency: String,
    rows: Vec<ConfigRow>,
}

/// One protocol on one payload: its defaults and its fastest configuration, each over the
/// floor.
#[derive(Serialize)]
struct ConfigRow {
    payload: String,
    protocol: String,
    floor: Option<Cell>,
    default: Option<Cell>,
    default_over_floor: Option<String>,
    /// The configuration with the lowest median, as its id names it.
    best: String,
    best_cell: Cell,
    best_over_floor: Option<String>,
    /// The best's time over the default's.
    best_over_default: Option<String>,
    /// Which knob moved it: each knob of the best configuration, alone, its time over the
    /// defaults' (`frame_1m x0.61`), where the run measured it.
    knobs_alone: Vec<String>,
    /// How many configurations were measured, the defaults included.
    measured: usize,
}

#[derive(Serialize)]
struct TorchServeTable {
    setup: String,
    routes: Vec<String>,
    rows: Vec<TorchServeRow>,
}

#[derive(Serialize)]
struct TorchServeRow {
    size: String,
    /// Seconds per 20 concurrent requests, the study's unit.
    cells: Vec<Option<Cell>>,
    /// Each cell's time over its compute floor (`x1.42`), where it has one.
    over_floor: Vec<Option<String>>,
    /// The raw routes' compute floor in seconds, where known.
    floor: Option<String>,
}

#[derive(Serialize)]
struct InputTable {
    setup: String,
    size: String,
    rows: Vec<InputRow>,
}

/// One route's request: what it sends, its bytes, where its time went, and the whole.
#[derive(Serialize)]
struct InputRow {
    route: String,
    /// `JPEG`, or `tensor` where the client preprocesses.
    input: &'static str,
    /// One request's body (gRPC: the message and its 5-byte prefix), in bytes.
    bytes: String,
    /// The client's stages, mean ms per request (preprocess, encode, decode); none without
    /// stage means.
    client: Option<String>,
    /// Of which preprocessing.
    preprocess: Option<String>,
    /// The server's stages but its queue, mean ms per request: the worker's time and the body's.
    server: Option<String>,
    /// Waiting for the worker, mean ms per request.
    queue: Option<String>,
    /// Seconds per 20 concurrent requests.
    cell: Cell,
}

#[derive(Serialize)]
struct Scenario {
    /// The end-to-end setup (`cpu_b1`), or the transport concurrency (`c20`).
    setup: String,
    /// The image size (`1080x1920`), or the transport payload (`binary_1080x1920`).
    size: String,
    svg: String,
    svg_file: String,
    /// The table's segment columns: every segment but the client's `preprocess` where no row
    /// has one (only the Open Inference Protocol's tensor routes do).
    segments: Vec<String>,
    rows: Vec<ScenarioRow>,
    stage_benches: Vec<Cell>,
}

#[derive(Serialize)]
struct ScenarioRow {
    /// The route, or the transport carrier (`grpc+window_16m`).
    route: String,
    requests: usize,
    /// Milliseconds per segment shown, formatted, in chart order.
    segments: Vec<String>,
    total: String,
}

#[derive(Serialize)]
struct GroupTable {
    name: String,
    rows: Vec<GroupRow>,
}

#[derive(Serialize)]
struct GroupRow {
    cell: Cell,
    throughput: String,
    /// A transport id's time over its payload and concurrency's floor (`x1.42`).
    over_floor: Option<String>,
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

/// `slower` over `faster`, as the tables write a ratio: `x1.42`.
fn ratio(slower: Option<&Measurement>, faster: Option<&Measurement>) -> Option<String> {
    slower
        .zip(faster)
        .map(|(slower, faster)| format!("x{:.2}", slower.median.point / faster.median.point))
}

/// The study's table at each concurrency on loopback, then at `c20` over each emulated link
/// the run crossed, with its check (`checks`, by link) and each row's wire time.
fn study_tables(
    results: &Results<'_>,
    links: &Links,
    checks: &BTreeMap<Link, String>,
) -> Vec<StudyTable> {
    let cells = links_measured(results, Group::Transport)
        .into_iter()
        .flat_map(|link| CONCURRENCY.map(|concurrency| (link, concurrency)));
    cells
        .filter_map(|(link, concurrency)| {
            let rows: Vec<StudyRow> = Payload::all()
                .into_iter()
                .filter_map(|payload| {
                    let found = study_row(payload, concurrency, link).map(|id| results.get(id));
                    let floor = results.get(floor_of(payload, concurrency, link));
                    let wire =
                        link.shape().zip(found[0]).and_then(|(shape, m)| match m.throughput {
                            Some(Throughput::Bytes(n) | Throughput::BytesDecimal(n)) => {
                                Some(duration(shape.wire_time(n).as_secs_f64() * 1e9))
                            }
                            _ => None,
                        });
                    found.iter().any(Option::is_some).then(|| StudyRow {
                        payload: payload.to_string(),
                        wire,
                        floor: floor.map(|m| links.cell(m)),
                        cells: found.iter().map(|m| m.map(|m| links.cell(m))).collect(),
                        over_floor: found.iter().map(|&m| ratio(m, floor)).collect(),
                        ratios: vec![ratio(found[0], found[2]), ratio(found[1], found[2])],
                    })
                })
                .collect();
            let has_floor = rows.iter().any(|row| row.floor.is_some());
            (!rows.is_empty()).then(|| StudyTable {
                concurrency: format!("c{concurrency}"),
                link: if link == Link::Loopback { String::new() } else { link.to_string() },
                check: checks.get(&link).cloned(),
                has_wire: link != Link::Loopback,
                has_floor,
                rows,
            })
        })
        .collect()
}

fn config_tables(results: &Results<'_>, links: &Links) -> Vec<ConfigTable> {
    CONCURRENCY
        .into_iter()
        .filter_map(|concurrency| {
            let mut rows = Vec::new();
            for payload in Payload::all() {
                for protocol in Protocol::ALL {
                    let measured = carriers_measured(results, payload, concurrency, protocol);
                    if measured.len() < 2 {
                        continue;
                    }
                    let (best, best_m) = fastest(&measured).expect("two or more were measured");
                    let floor = results.get(floor_of(payload, concurrency, Link::Loopback));
                    let default = results.get(TransportId {
                        carrier: Carrier::defaults(protocol),
                        link: Link::Loopback,
                        payload,
                        concurrency,
                    });
                    rows.push(ConfigRow {
                        payload: payload.to_string(),
                        protocol: protocol.to_string(),
                        floor: floor.map(|m| links.cell(m)),
                        default: default.map(|m| links.cell(m)),
                        default_over_floor: ratio(default, floor),
                        best: best.carrier.to_string(),
                        best_cell: links.cell(best_m),
                        best_over_floor: ratio(Some(best_m), floor),
                        best_over_default: ratio(Some(best_m), default),
                        knobs_alone: knobs_alone(results, best, default),
                        measured: measured.len(),
                    });
                }
            }
            (!rows.is_empty()).then(|| ConfigTable { concurrency: format!("c{concurrency}"), rows })
        })
        .collect()
}

/// `protocol`'s transport ids measured at `payload` and `concurrency`: its defaults and every
/// configuration the run had.
fn carriers_measured<'a>(
    results: &Results<'a>,
    payload: Payload,
    concurrency: usize,
    protocol: Protocol,
) -> Vec<(TransportId, &'a Measurement)> {
    results
        .0
        .iter()
        .filter_map(|(id, &m)| match id {
            BenchId::Transport(id) => Some((*id, m)),
            _ => None,
        })
        .filter(|(id, _)| {
            id.payload == payload
                && id.concurrency == concurrency
                && id.link == Link::Loopback
                && matches!(id.carrier, Carrier::Protocol(p, _) if p == protocol)
        })
        .collect()
}

/// Each knob of `best`'s configuration alone, as `frame_1m x0.61`: its time over `default`'s.
fn knobs_alone(
    results: &Results<'_>,
    best: TransportId,
    default: Option<&Measurement>,
) -> Vec<String> {
    let Carrier::Protocol(protocol, config) = best.carrier else { return Vec::new() };
    config
        .alone()
        .into_iter()
        .filter_map(|knob| {
            let alone =
                results.get(TransportId { carrier: Carrier::Protocol(protocol, knob), ..best });
            ratio(alone, default).map(|ratio| format!("{knob} {ratio}"))
        })
        .collect()
}

/// The one with the lowest median.
fn fastest<'a>(
    measured: &[(TransportId, &'a Measurement)],
) -> Option<(TransportId, &'a Measurement)> {
    measured.iter().copied().min_by(|a, b| a.1.median.point.total_cmp(&b.1.median.point))
}

/// The TorchServe experiment's table per setup on loopback, then over each emulated link the
/// run crossed, with the routes measured over it; each cell over its compute floor on `cores`
/// (none where 0: not recorded).
fn torchserve_tables(results: &Results<'_>, links: &Links, cores: usize) -> Vec<TorchServeTable> {
    let median = |bench: BenchId| results.get(bench).map(|m| m.median.point);
    let floor = |id: EndToEndId| compute_floor::floor(id, cores, median);
    let crossed = links_measured(results, Group::EndToEnd);
    setups()
        .flat_map(|setup| crossed.iter().map(move |&link| (setup, link)))
        .filter_map(|(setup, link)| {
            let rows: Vec<TorchServeRow> = STUDY_SIZES
                .iter()
                .filter_map(|&size| {
                    // The study's unit: seconds, interval included.
                    let ids = torchserve_ids(size, setup, link);
                    let cells: Vec<Option<Cell>> = ids
                        .iter()
                        .map(|id| results.get(*id).map(|m| links.cell_in(m, seconds)))
                        .collect();
                    let over_floor = ids
                        .iter()
                        .map(|id| {
                            let (time, floor) = (results.get(*id)?, floor(*id)?);
                            Some(format!("x{:.2}", time.median.point / floor))
                        })
                        .collect();
                    let raw = EndToEndId {
                        route: Route::Rest(HttpVersion::Http1, Body::Raw),
                        link: Link::Loopback,
                        size,
                        setup,
                    };
                    cells.iter().any(Option::is_some).then(|| TorchServeRow {
                        size: size.to_string(),
                        cells,
                        over_floor,
                        floor: floor(raw).map(seconds),
                    })
                })
                .collect();
            let routes = torchserve_ids(STUDY_SIZES[0], setup, link).into_iter();
            (!rows.is_empty()).then(|| TorchServeTable {
                setup: format!("{setup}{}", link.suffix()),
                routes: routes.map(|id| id.route.to_string()).collect(),
                rows,
            })
        })
        .collect()
}

/// Send the JPEG or the tensor: per setup and image size on loopback, each route measured,
/// TorchServe's then the Open Inference Protocol's, with one request's bytes, its client and
/// server time and the time per 20. Only where the run measured an OIP route.
fn input_tables(
    results: &Results<'_>,
    stages: &Attribution,
    links: &Links,
) -> io::Result<Vec<InputTable>> {
    let mut tables = Vec::new();
    // One request's bytes depend on the route and the image only: each is built once (a tensor
    // route decodes and preprocesses the image to build it), whatever the setups.
    let mut images = BTreeMap::new();
    let mut request_bytes = BTreeMap::new();
    for setup in setups() {
        for size in STUDY_SIZES {
            let id = |route| EndToEndId { route, link: Link::Loopback, size, setup };
            if !Route::OIP.iter().any(|&route| results.get(id(route)).is_some()) {
                continue;
            }
            let mut rows = Vec::new();
            for route in ROUTES.into_iter().chain(Route::OIP) {
                let Some(measured) = results.get(id(route)) else { continue };
                let bytes = match request_bytes.entry((route, size)) {
                    std::collections::btree_map::Entry::Occupied(known) => *known.get(),
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        let image = images
                            .entry(size)
                            .or_insert_with(|| crate::fixtures::image(ImageSpec::study(size)));
                        let bytes =
                            crate::client::torchserve::request_bytes(route, image, "resnet50")
                                .map_err(|error| io::Error::other(crate::error::chain(&error)))?;
                        *slot.insert(bytes)
                    }
                };
                let means = stages.get(&id(route));
                let ms = |value: f64| format!("{value:.1}");
                let client = |means: &StageMeans| {
                    [ClientStage::Preprocess, ClientStage::Encode, ClientStage::Decode]
                        .iter()
                        .map(|stage| means.client(*stage))
                        .sum::<f64>()
                };
                let queue = |means: &StageMeans| means.server(crate::timing::Stage::Queue);
                let server = |means: &StageMeans| means.server.values().sum::<f64>() - queue(means);
                rows.push(InputRow {
                    route: route.to_string(),
                    input: match route {
                        Route::Oip(_, crate::transport::OipInput::Tensor) => "tensor",
                        _ => "JPEG",
                    },
                    bytes: thousands(bytes),
                    client: means.map(|means| ms(client(means))),
                    preprocess: means.map(|means| ms(means.client(ClientStage::Preprocess))),
                    server: means.map(|means| ms(server(means))),
                    queue: means.map(|means| ms(queue(means))),
                    cell: links.cell_in(measured, seconds),
                });
            }
            tables.push(InputTable { setup: setup.to_string(), size: size.to_string(), rows });
        }
    }
    Ok(tables)
}

/// `2440887` as `2,440,887`.
fn thousands(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Nanoseconds as seconds with three decimals, the study's unit.
fn seconds(ns: f64) -> String {
    format!("{:.3}", ns / 1e9)
}

/// The chart's segments for one id's stage means.
fn segments(means: &StageMeans) -> Vec<f64> {
    let server_total: f64 = means.server.values().sum();
    Segment::ALL
        .iter()
        .map(|segment| match *segment {
            Segment::Client(stage) => means.client(stage),
            Segment::Network => (means.client(ClientStage::Wait) - server_total).max(0.0),
            Segment::Server(stage) => means.server(stage),
        })
        .collect()
}

fn scenarios(
    results: &Results<'_>,
    stages: &Attribution,
    links: &Links,
) -> io::Result<Vec<Scenario>> {
    let mut scenarios = Vec::new();
    let crossed = links_measured(results, Group::EndToEnd);
    for (setup, link) in setups().flat_map(|setup| crossed.iter().map(move |&link| (setup, link))) {
        for size in STUDY_SIZES {
            // TorchServe's routes, then the Open Inference Protocol's where they were measured.
            let oip = Route::OIP.map(|route| EndToEndId { route, link, size, setup });
            let found: Vec<(String, &StageMeans)> = torchserve_ids(size, setup, link)
                .iter()
                .chain(&oip)
                .filter_map(|id| stages.get(id).map(|means| (id.route.to_string(), means)))
                .collect();
            if found.is_empty() {
                continue;
            }
            let stage_benches = stage_benches(size, setup)
                .into_iter()
                .filter_map(|id| results.get(id).map(|m| links.cell(m)))
                .collect();
            let named = (Group::EndToEnd, size.to_string(), format!("{setup}{}", link.suffix()));
            scenarios.push(scenario(named, &found, stage_benches)?);
        }
    }
    Ok(scenarios)
}

/// Where a transport request's time went, for each payload at each concurrency: each protocol
/// at its defaults and, where the run measured configurations, at its fastest one. Beside
/// them, the codec stage alone on the payload's JSON and protobuf.
fn transport_scenarios(
    results: &Results<'_>,
    stages: &Attribution<TransportId>,
    links: &Links,
) -> io::Result<Vec<Scenario>> {
    let mut scenarios = Vec::new();
    let cells = links_measured(results, Group::Transport)
        .into_iter()
        .flat_map(|link| CONCURRENCY.map(|concurrency| (link, concurrency)));
    for (link, concurrency) in cells {
        for payload in Payload::all() {
            let mut shown = Vec::new();
            for protocol in Protocol::ALL {
                let carrier = Carrier::defaults(protocol);
                let default = TransportId { carrier, link, payload, concurrency };
                shown.push(default);
                if link == Link::Loopback {
                    let measured = carriers_measured(results, payload, concurrency, protocol);
                    shown.extend(fastest(&measured).map(|(id, _)| id).filter(|id| *id != default));
                }
            }
            let found: Vec<(String, &StageMeans)> = shown
                .iter()
                .filter_map(|id| stages.get(id).map(|means| (id.carrier.to_string(), means)))
                .collect();
            if found.is_empty() {
                continue;
            }
            let message = Message::Request(payload);
            let stage_benches = Format::ALL
                .into_iter()
                .flat_map(|format| {
                    Direction::ALL.map(|direction| CodecId::Message { format, direction, message })
                })
                .filter_map(|id| results.get(id).map(|m| links.cell(m)))
                .collect();
            let setup = format!("c{concurrency}{}", link.suffix());
            scenarios.push(scenario(
                (Group::Transport, payload.to_string(), setup),
                &found,
                stage_benches,
            )?);
        }
    }
    Ok(scenarios)
}

/// One chart of stacked bars and its table: `found` is each bar's label and stage means, for
/// `(group, size, setup)`.
fn scenario(
    (group, size, setup): (Group, String, String),
    found: &[(String, &StageMeans)],
    stage_benches: Vec<Cell>,
) -> io::Result<Scenario> {
    let bars: Vec<Bar> = found
        .iter()
        .map(|(label, means)| Bar { label: label.clone(), segments: segments(means) })
        .collect();
    let title = format!("{group}, {size}, {setup}: where a request's time went");
    let svg = chart::stacked_bars(&title, &bars).map_err(io::Error::other)?;
    let shown: Vec<usize> = (0..Segment::ALL.len())
        .filter(|&index| {
            Segment::ALL[index] != Segment::Client(ClientStage::Preprocess)
                || bars.iter().any(|bar| bar.segments[index] > 0.0)
        })
        .collect();
    let rows = found
        .iter()
        .zip(&bars)
        .map(|((label, means), bar)| ScenarioRow {
            route: label.clone(),
            requests: means.requests,
            segments: shown.iter().map(|&index| format!("{:.2}", bar.segments[index])).collect(),
            total: format!("{:.2}", bar.segments.iter().sum::<f64>()),
        })
        .collect();
    Ok(Scenario {
        svg_file: format!("{group}_{size}_{setup}.svg"),
        setup,
        size,
        svg,
        segments: shown.iter().map(|&index| Segment::ALL[index].label()).collect(),
        rows,
        stage_benches,
    })
}

fn groups(measurements: &BTreeMap<String, Measurement>, links: &Links) -> Vec<GroupTable> {
    let mut groups: Vec<GroupTable> = Vec::new();
    for measurement in measurements.values() {
        let Ok(id) = measurement.id.parse::<BenchId>() else { continue };
        let name = id.group().name();
        if groups.last().is_none_or(|group| group.name != name) {
            groups.push(GroupTable { name: name.to_owned(), rows: Vec::new() });
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
        let over_floor = match id {
            BenchId::Transport(id @ TransportId { carrier: Carrier::Protocol(..), .. }) => {
                let floor = TransportId { carrier: Carrier::Floor, ..id };
                let floor = measurements.get(&floor.to_string());
                ratio(Some(measurement), floor)
            }
            _ => None,
        };
        groups.last_mut().expect("pushed above").rows.push(GroupRow {
            cell: links.cell(measurement),
            throughput,
            over_floor,
        });
    }
    groups
}

/// What the report lacks and why; `no_stages` says whether the end-to-end and the transport
/// stage means are missing.
fn missing(
    results: &Results<'_>,
    unknown: &[String],
    no_stages: (bool, bool),
    skipped: &run::Skipped,
) -> Vec<String> {
    let mut missing: Vec<String> = Group::ALL
        .iter()
        .filter(|group| !results.has(**group))
        .map(|group| {
            format!(
                "No {group} results: this run did not include them (`scripts/bench --bench {}`).",
                group.bench()
            )
        })
        .collect();
    if !results.0.keys().any(BenchId::needs_cuda) {
        missing.push(
            "No CUDA results: libtorch saw no GPU on the machine the benches ran on, so the \
             inference/*_cuda and end_to_end/*/cuda_* ids were skipped. The CUDA paths are \
             built and tested for refusal only until a run on a GPU gives them numbers."
                .to_owned(),
        );
    }
    for (group, none) in [(Group::EndToEnd, no_stages.0), (Group::Transport, no_stages.1)] {
        if results.has(group) && none {
            missing.push(format!(
                "No {group} stage attribution: {group} ran but left no {} beside Criterion's \
                 output.",
                attribution::FILE_NAME
            ));
        }
    }
    for (what, why) in skipped.values().flatten() {
        missing.push(format!("Not in this run: {what}/... ({why})."));
    }
    if !unknown.is_empty() {
        missing.push(format!(
            "Not reported: results under ids this servebench does not make (another \
             version's?): {}.",
            unknown.join(", ")
        ));
    }
    missing
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::ids::Family;

    #[test]
    fn every_id_the_report_looks_up_is_one_a_bench_makes() {
        let made: HashSet<BenchId> = BenchId::all().into_iter().collect();
        for id in looked_up() {
            assert!(made.contains(&id), "the report looks up {id}, which no bench makes");
        }
        assert!(looked_up().contains(&BenchId::from(
            "vision/resize/noise_jpeg_360x640".parse::<VisionId>().unwrap()
        )));
        // Thirteen setups (four serial, eight pipelined, external) by every route (TorchServe's
        // 7, the Open Inference Protocol's 6) and size on loopback; over each of the five
        // emulated profiles, the link routes at every size for the two serial batch-1 setups.
        let links = EndToEndId::LINK_ROUTES.len() * 3 * 2 * 5;
        assert_eq!(EndToEndId::all().len(), 13 * (7 + 6) * 3 + links);
    }
}
