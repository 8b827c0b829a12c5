//! `servebench load`: drives workloads against servebench's own servers (started here, on a
//! runtime of their own, as the benches do, on the server's end of the workload's link) or an
//! external one, and writes each workload's run as a table, CSV and JSON.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use servebench::error::chain;
use servebench::ids::{Arrivals, Carrier, Load, Workload};
use servebench::link::{Ends, Link};
use servebench::load::sender::{Destination, Sender};
use servebench::load::sweep::{self, Budget};
use servebench::load::{self, LoadConfig, Point, Statistic, Window, WindowStats};
use servebench::report::load::{FOLDER, Found, LoadRun};
use servebench::report::run::RunInfo;
use servebench::server::{ListenConfig, ServerHandle, floor, study};
use servebench::transport::{self, DEFAULT_BODY_LIMIT, MODEL_TARGET_ENV, STUDY_TARGET_ENV, Target};

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// What to send: study/<carrier>/<payload> (carrier rest_h1, rest_h2, grpc, with +knobs, or
    /// tcp_floor; payload basic, base64_<size>, binary_<size>) or model/<route>/<size>/<setup>
    /// (route rest_h1_raw ... grpc_raw, or the Open Inference Protocol's oip_rest_json_jpeg ...
    /// oip_grpc_tensor; setup cpu_b1, cpu_b8, cuda_b1, cuda_b8 or external).
    /// Over an emulated link: <carrier>@<link> or <route>@<link> (100mbit, 1gbit_rtt1ms, ...).
    #[arg(required = true, value_name = "WORKLOAD")]
    workloads: Vec<Workload>,
    /// Closed loop at each concurrency of FROM[:TO[:STEP]] (no STEP: doubling) [default: 1:16]
    #[arg(long, value_name = "RANGE", conflicts_with_all = ["rate", "search"])]
    concurrency: Option<Levels>,
    /// Open loop at each rate (requests a second) of FROM[:TO[:STEP]] (no STEP: doubling).
    #[arg(long, value_name = "RANGE", conflicts_with = "search")]
    rate: Option<Levels>,
    /// Search LOW:HIGH requests a second for the highest rate that meets --budget.
    #[arg(long, value_name = "LOW:HIGH", requires = "budget")]
    search: Option<Levels>,
    /// Poisson arrivals for the open loop, instead of evenly spaced.
    #[arg(long)]
    poisson: bool,
    /// A latency budget in milliseconds: a sweep stops at the first point over it (or with
    /// errors, or answering under 90% of its rate); a search looks for the highest rate within.
    #[arg(long, value_name = "MS")]
    budget: Option<f64>,
    /// The latency the budget holds: mean, p50, p90, p95, p99, p99.9 or p100.
    #[arg(long, default_value = "p99")]
    budget_statistic: Statistic,
    /// A search's precision in percent: it stops when the rates met and missed are this close.
    #[arg(long, default_value_t = 5.0)]
    precision: f64,
    /// Seconds per measurement window.
    #[arg(long, default_value_t = 2.0)]
    window: f64,
    /// Requests per measurement window, instead of --window's seconds.
    #[arg(long)]
    window_requests: Option<u64>,
    /// Most windows per point before it is reported unstable.
    #[arg(long, default_value_t = 10)]
    max_windows: usize,
    /// How close, in percent, the last three windows' throughput and latency must be.
    #[arg(long, default_value_t = 10.0)]
    tolerance: f64,
    /// The latency the windows must agree on: mean or a percentile (p50, p99, ...).
    #[arg(long, default_value = "mean")]
    stability: Statistic,
    /// Open loop: most requests out at once (later ones wait and count as delayed).
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
    /// Seconds a request may take before it fails as a timeout.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Threads sending requests (h2load's and wrk's -t) [default: one per core]
    #[arg(long)]
    client_threads: Option<usize>,
    /// The Poisson schedule's seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// An external server's REST URL (http://host:port) [env: SERVEBENCH_REST_TARGET for
    /// study workloads, SERVEBENCH_MODEL_REST_TARGET for model ones]
    #[arg(long, value_name = "URL")]
    rest: Option<String>,
    /// An external server's gRPC URL [env: SERVEBENCH_GRPC_TARGET, SERVEBENCH_MODEL_GRPC_TARGET]
    #[arg(long, value_name = "URL")]
    grpc: Option<String>,
    /// The model's name on a model server: /predictions/NAME.
    #[arg(long, default_value = "resnet50")]
    model_name: String,
    /// Where to write <workload>.json and .csv [default: target/servebench/load]
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `FROM[:TO[:STEP]]`.
#[derive(Clone, Copy, Debug)]
struct Levels {
    from: f64,
    to: f64,
    step: Option<f64>,
}

impl std::str::FromStr for Levels {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let numbers: Result<Vec<f64>, _> = text.split(':').map(str::parse::<f64>).collect();
        let wrong = || format!("{text:?} is not FROM[:TO[:STEP]] with positive numbers");
        let numbers = numbers.map_err(|_| wrong())?;
        if numbers.iter().any(|n| !n.is_finite() || *n <= 0.0) {
            return Err(wrong());
        }
        match numbers[..] {
            [from] => Ok(Self { from, to: from, step: None }),
            [from, to] if to >= from => Ok(Self { from, to, step: None }),
            [from, to, step] if to >= from => Ok(Self { from, to, step: Some(step) }),
            _ => Err(wrong()),
        }
    }
}

impl LoadArgs {
    fn config(&self) -> io::Result<LoadConfig> {
        let window = match self.window_requests {
            Some(requests) => Window::Requests(requests.max(1)),
            None => Window::Time(seconds(self.window, "--window")?),
        };
        Ok(LoadConfig {
            window,
            max_windows: self.max_windows,
            tolerance: self.tolerance / 100.0,
            stability: self.stability,
            max_in_flight: self.max_in_flight,
            timeout: seconds(self.timeout, "--timeout")?,
            seed: self.seed,
        })
    }

    fn arrivals(&self) -> Arrivals {
        if self.poisson { Arrivals::Poisson } else { Arrivals::Constant }
    }

    /// The loads of the sweep asked for (none for a search).
    fn loads(&self) -> io::Result<Vec<Load>> {
        let arrivals = self.arrivals();
        let loads: Vec<Load> = match (self.rate, self.concurrency) {
            (Some(rate), _) => sweep::levels(rate.from, rate.to, rate.step)
                .into_iter()
                .map(|per_second| Load::Rate { per_second, arrivals })
                .collect(),
            (None, concurrency) => {
                let Levels { from, to, step } =
                    concurrency.unwrap_or(Levels { from: 1.0, to: 16.0, step: None });
                let levels = sweep::levels(from.round(), to.round(), step.map(f64::round));
                levels.into_iter().map(|n| Load::Concurrency(n as usize)).collect()
            }
        };
        if loads.is_empty() {
            return Err(io::Error::other("the range holds no load to run"));
        }
        Ok(loads)
    }

    fn budget(&self) -> io::Result<Option<Budget>> {
        let Some(ms) = self.budget else { return Ok(None) };
        let limit = seconds(ms / 1000.0, "--budget")?;
        Budget::new(self.budget_statistic, limit).map(Some).map_err(io::Error::other)
    }

    /// The external server asked for, by flag or by the workload's environment variables.
    fn external(&self, workload: Workload) -> Target {
        let env = match workload {
            Workload::Study { .. } => STUDY_TARGET_ENV,
            Workload::Model { .. } => MODEL_TARGET_ENV,
        };
        let target = Target::default().overridden_by_env(env);
        Target {
            rest: self.rest.clone().unwrap_or(target.rest),
            grpc: self.grpc.clone().unwrap_or(target.grpc),
        }
    }

    /// The external server's URL `workload` goes to, if one was given for its protocol (the
    /// floor is always in-process).
    fn external_url(&self, workload: Workload) -> Option<String> {
        let protocol = match workload {
            Workload::Study { carrier: Carrier::Protocol(protocol, _), .. } => protocol,
            Workload::Study { carrier: Carrier::Floor, .. } => return None,
            Workload::Model { route, .. } => route.protocol(),
        };
        Some(self.external(workload).url(protocol).to_owned()).filter(|url| !url.is_empty())
    }

    /// An external server is wherever it is: no emulated link of this process's lies between
    /// it and the client, so a workload over one cannot go there.
    fn external_only_on_loopback(&self) -> io::Result<()> {
        for &workload in &self.workloads {
            if let Some(url) =
                self.external_url(workload).filter(|_| workload.link() != Link::Loopback)
            {
                return Err(io::Error::other(format!(
                    "{workload}: the external server {url} is not behind an emulated link: drop \
                     @{} or the external URL",
                    workload.link()
                )));
            }
        }
        Ok(())
    }
}

fn seconds(value: f64, flag: &str) -> io::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| io::Error::other(format!("{flag} {value}: expected a positive number")))
}

pub async fn run(args: LoadArgs) -> io::Result<ExitCode> {
    args.external_only_on_loopback()?;
    let config = args.config()?;
    let budget = args.budget()?;
    let loads = if args.search.is_some() { Vec::new() } else { args.loads()? };
    let out = args.out.clone().unwrap_or_else(|| super::report::out_dir().join(FOLDER));
    // The servers and the clients each on a runtime of their own, as in the benches, on either
    // side of the workload's link; consecutive workloads over one link share it.
    let mut ends: Option<Ends> = None;
    let mut failed = false;
    for &workload in &args.workloads {
        let link = workload.link();
        if ends.as_ref().is_none_or(|ends| ends.link() != link) {
            // The last link's namespaces go before the next one's are made and checked.
            drop(ends.take());
            let threads = args.client_threads;
            let built = tokio::task::spawn_blocking(move || Ends::new(link, threads));
            let built = built.await.map_err(io::Error::other)?.map_err(|error| {
                io::Error::other(format!("{workload}: {link}: {}", chain(&error)))
            })?;
            ends = Some(built);
        }
        let ends = ends.as_ref().expect("built above");
        let (destination, server, described) = destination(&args, workload, ends).await?;
        let (point_config, loads, search) = (config.clone(), loads.clone(), args.search);
        let (arrivals, precision) = (args.arrivals(), args.precision / 100.0);
        let measured = ends.client().spawn(async move {
            let sender = Sender::connect(workload, &destination)
                .await
                .map_err(|error| io::Error::other(chain(&error)))?;
            let measure = |load: Load| measure(workload, load, &point_config, sender.clone());
            Ok::<_, io::Error>(match search {
                Some(range) => {
                    let budget = budget.expect("clap requires --budget with --search");
                    let found =
                        sweep::search(range.from, range.to, arrivals, budget, precision, measure)
                            .await;
                    let summary = Found::of(&found);
                    (found.points, Some(summary))
                }
                None => (sweep::sweep(&loads, budget, measure).await, None),
            })
        });
        let (points, search) = measured.await.map_err(io::Error::other)??;
        failed |= points.iter().any(|point| point.failed() > 0);
        let run = LoadRun {
            workload,
            target: described,
            link: ends.check().cloned(),
            config: config.clone(),
            run: RunInfo::here(),
            points,
            search,
        };
        print!("{}", run.table());
        for path in run.save(&out)? {
            println!("{}", path.display());
        }
        if let Some(server) = server {
            ends.server().spawn(server.shutdown()).await.map_err(io::Error::other)??;
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// A running in-process server of either kind.
enum Running {
    Server(ServerHandle),
    Floor(floor::FloorHandle),
}

impl Running {
    async fn shutdown(self) -> io::Result<()> {
        match self {
            Self::Server(server) => server.shutdown().await,
            Self::Floor(server) => server.shutdown().await,
        }
    }
}

/// Where `workload` goes: the external server asked for, or one started here on the server's
/// end of `ends`; and the target described for the run's record.
async fn destination(
    args: &LoadArgs,
    workload: Workload,
    ends: &Ends,
) -> io::Result<(Destination, Option<Running>, String)> {
    let model = args.model_name.clone();
    if let Some(url) = args.external_url(workload) {
        let target = args.external(workload);
        return Ok((Destination { target, floor: None, model }, None, url));
    }
    let servers = ends.server();
    let started = match workload {
        Workload::Study { carrier: Carrier::Floor, .. } => {
            let response = transport::floor::response();
            let start = floor::start(ends.server_addr(), response, DEFAULT_BODY_LIMIT);
            let server = servers.spawn(start).await.map_err(io::Error::other)??;
            let destination =
                Destination { floor: Some(server.addr()), model, ..Default::default() };
            return Ok((destination, Some(Running::Floor(server)), "in-process".to_owned()));
        }
        Workload::Study { carrier: Carrier::Protocol(_, transport), .. } => {
            let listen = ListenConfig { transport, ..Default::default() };
            servers.spawn(study::start(listen.at(ends.server_addr())))
        }
        Workload::Model { setup, .. } => {
            servers.spawn(model_server(setup, model.clone(), ends.server_addr()))
        }
    };
    let server = started.await.map_err(io::Error::other)??;
    let destination = Destination { target: server.target(), floor: None, model };
    Ok((destination, Some(Running::Server(server)), "in-process".to_owned()))
}

/// servebench's model server for `setup`, serving the generated ResNet-50 as `name` on `addr`.
#[cfg(feature = "torch")]
async fn model_server(
    setup: servebench::ids::Setup,
    name: String,
    addr: std::net::SocketAddr,
) -> io::Result<ServerHandle> {
    use servebench::server::torchserve::{self, ModelServerConfig};
    let mut config = ModelServerConfig::setup(setup, &name).ok_or_else(|| {
        io::Error::other(format!(
            "setup {setup} is another server's: give its URLs (--rest, --grpc or {} / {})",
            MODEL_TARGET_ENV.rest, MODEL_TARGET_ENV.grpc
        ))
    })?;
    config.listen = config.listen.at(addr);
    torchserve::start(config).await
}

#[cfg(not(feature = "torch"))]
async fn model_server(
    _: servebench::ids::Setup,
    _: String,
    _: std::net::SocketAddr,
) -> io::Result<ServerHandle> {
    Err(io::Error::other(
        "servebench was built without the torch feature: give a model server's URLs (--rest, --grpc)",
    ))
}

/// One point, a spinner saying how its windows go.
async fn measure(workload: Workload, load: Load, config: &LoadConfig, sender: Sender) -> Point {
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {prefix} {wide_msg} {elapsed}")
            .expect("the template parses"),
    );
    bar.set_prefix(format!("{workload} at {load}"));
    bar.enable_steady_tick(Duration::from_millis(200));
    let progress = |index: usize, window: &WindowStats| {
        bar.set_message(format!(
            "window {}: {:.1} answers/s, mean {:.2} ms, {} failed",
            index + 1,
            window.throughput(),
            window.latencies.mean().as_secs_f64() * 1000.0,
            window.errors.values().map(|errors| errors.count).sum::<u64>(),
        ));
    };
    let point = load::measure(
        load,
        config,
        move || {
            let sender = sender.clone();
            async move { sender.send().await }
        },
        progress,
    )
    .await;
    bar.finish_and_clear();
    point
}
