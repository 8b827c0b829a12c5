//! The `servebench` command line: run the study's servers standalone, or write its images out,
//! so clients outside servebench (the study's Python client, h2load, ghz) can use them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use servebench::error::chain;
use servebench::fixtures;
use servebench::server::{ServerHandle, study};
use servebench::transport::DEFAULT_BODY_LIMIT;

use server_args::{ByteSize, ServerArgs};

#[derive(Debug, Parser)]
#[command(version, about = "Where the time goes when an image travels to a model server and back")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the study's REST and gRPC APIs until SIGTERM or Ctrl-C.
    ServeStudy {
        /// REST listen address (HTTP/1.1 and h2c on the same port).
        #[arg(long, env = "SERVEBENCH_REST_ADDR", default_value = "127.0.0.1:8000")]
        rest: SocketAddr,
        /// gRPC listen address.
        #[arg(long, env = "SERVEBENCH_GRPC_ADDR", default_value = "127.0.0.1:50051")]
        grpc: SocketAddr,
        /// Largest accepted request body or gRPC message (bytes, or with KiB, MiB, GiB).
        #[arg(long, default_value_t = ByteSize(DEFAULT_BODY_LIMIT))]
        body_limit: ByteSize,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Serve a TorchScript image classifier behind TorchServe's REST and gRPC inference APIs
    /// and the Open Inference Protocol's (KServe v2, Triton) until SIGTERM or Ctrl-C.
    #[cfg(feature = "torch")]
    Serve(serve::ServeArgs),
    /// Write the study's images (noise and smooth JPEGs at its three sizes) into a folder.
    Fixtures {
        /// Folder to write into.
        #[arg(long, default_value = "fixtures/export")]
        out: PathBuf,
    },
    /// Render the benches' results into one report: target/servebench/report.html and .md.
    Report(report::ReportArgs),
    /// Compare two git refs (built and run alternately) or two saved Criterion baselines, id by
    /// id; exits 1 when anything regressed.
    Compare(report::CompareArgs),
    /// Drive workloads at a concurrency or a rate (open loop), sweep a range or search for the
    /// highest rate under a latency budget: latency percentiles, throughput and the server's
    /// stages per point, as a table, CSV and JSON (target/servebench/load/).
    Load(load::LoadArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Report(args) => report::report(args),
        Command::Compare(args) => report::compare(args),
        Command::Load(args) => load::run(args).await,
        command => run(command).await.map(|()| ExitCode::SUCCESS),
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("servebench: {}", chain(&error));
        ExitCode::FAILURE
    })
}

async fn run(command: Command) -> std::io::Result<()> {
    match command {
        Command::ServeStudy { rest, grpc, body_limit, server: args } => {
            let server = study::start(args.listen(rest, grpc, body_limit)).await?;
            let mut lines = vec![
                format!("REST (HTTP/1.1 and h2c) on http://{}", server.rest_addr()),
                format!("gRPC on http://{}", server.grpc_addr()),
            ];
            lines.extend(args.banner(body_limit));
            banner(&lines);
            serve_until_stopped(server, args).await
        }
        #[cfg(feature = "torch")]
        Command::Serve(args) => serve::run(args).await,
        Command::Fixtures { out } => {
            for path in fixtures::export(&out)? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Report(_) | Command::Compare(_) | Command::Load(_) => {
            unreachable!("handled in main")
        }
    }
}

/// Serves until SIGTERM (what Kubernetes, systemd and Docker send) or SIGINT (Ctrl-C), then
/// stops accepting and lets the requests in flight finish within the grace period: `Ok` when
/// they all did, an error naming the signal when the period ran out first.
async fn serve_until_stopped(server: ServerHandle, args: ServerArgs) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let grace = args.grace_period.0;
    let mut terminate = signal(SignalKind::terminate())?;
    let signal = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        interrupted = tokio::signal::ctrl_c() => interrupted.map(|()| "SIGINT")?,
    };
    eprintln!("servebench: {signal}: draining the requests in flight (at most {grace:?})");
    match tokio::time::timeout(grace, server.shutdown()).await {
        Ok(drained) => drained,
        Err(_) => Err(std::io::Error::other(format!(
            "{signal}: requests still in flight after the {grace:?} grace period"
        ))),
    }
}

/// A server's start-up lines. Whoever started it may stop reading (`servebench serve | head -2`):
/// the server keeps serving rather than dying of a closed stdout.
fn banner(lines: &[String]) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(stdout, "{line}");
    }
    let _ = stdout.flush();
}

mod load;
mod server_args;

mod report {
    use std::io;
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;

    use servebench::attribution;
    use servebench::report::compare::judge::Judgement;
    use servebench::report::compare::noise::NoiseProfile;
    use servebench::report::compare::{self, CompareConfig, Side, WORKING_TREE};
    use servebench::report::criterion::LATEST;
    use servebench::report::render::{self, ReportConfig};
    use servebench::report::snapshot;

    /// Where servebench writes its own output: `servebench/` beside Criterion's folder.
    pub fn out_dir() -> PathBuf {
        let home = attribution::criterion_home();
        home.parent().map_or_else(|| PathBuf::from("target"), PathBuf::from).join("servebench")
    }

    #[derive(Debug, clap::Args)]
    pub struct ReportArgs {
        /// The Criterion baseline to report: `new` (the latest run) or a --save-baseline name.
        #[arg(long, default_value = "new")]
        baseline: String,
        /// Criterion's output folder [default: target/criterion, or $CRITERION_HOME]
        #[arg(long)]
        criterion: Option<PathBuf>,
        /// Where to write report.html, report.md and the charts [default: target/servebench]
        #[arg(long)]
        out: Option<PathBuf>,
        /// A folder of edited templates to use instead of the built-in report-templates/.
        #[arg(long)]
        templates: Option<PathBuf>,
        /// Where `servebench load` wrote its runs, charted in the report's load section
        /// [default: target/servebench/load]
        #[arg(long, value_name = "DIR")]
        load: Option<PathBuf>,
        /// Also keep the run in this folder, to commit: what the report reads, without
        /// Criterion's HTML (results/<date>-<machine>); the report is then rendered from it.
        #[arg(long, value_name = "DIR")]
        save: Option<PathBuf>,
        /// Rewrite this README's generated findings from the run reported (a kept one: with
        /// --save, or --criterion results/...), between its `servebench report --readme` lines.
        #[arg(long, value_name = "README")]
        readme: Option<PathBuf>,
        /// Instead, print the table of a side by side's rounds (`scripts/side-by-side`'s
        /// folder: TorchServe and servebench's designs, each over its compute floor).
        #[arg(long, value_name = "DIR", conflicts_with_all = ["save", "readme"])]
        side_by_side: Option<PathBuf>,
    }

    pub fn report(args: ReportArgs) -> io::Result<ExitCode> {
        if let Some(dir) = args.side_by_side {
            print!("{}", servebench::report::side_by_side::table(&dir)?);
            return Ok(ExitCode::SUCCESS);
        }
        let mut config = ReportConfig {
            criterion_home: args.criterion.unwrap_or_else(attribution::criterion_home),
            baseline: args.baseline,
            out: args.out.unwrap_or_else(out_dir),
            templates: args.templates,
            load: args.load.unwrap_or_else(|| out_dir().join(servebench::report::load::FOLDER)),
        };
        if let Some(into) = args.save {
            let kept = snapshot::save(&config.criterion_home, &config.baseline, &into)?;
            println!(
                "kept {kept} ids of {} in {}",
                config.criterion_home.display(),
                into.display()
            );
            config.criterion_home = into;
            config.baseline = LATEST.to_owned();
        }
        let written = render::report(&config)?;
        println!("{} ids from {}", written.ids, config.criterion_home.display());
        println!("{}", written.html.display());
        println!("{}", written.markdown.display());
        if let Some(path) = args.readme {
            let readme = std::fs::read_to_string(&path)?;
            let findings = render::readme(&config)?;
            // The README names the kept run from its own folder, as the test reads it.
            let parent = path.parent().filter(|parent| !parent.as_os_str().is_empty());
            let folder = std::path::absolute(parent.unwrap_or(Path::new(".")))?;
            let kept = std::path::absolute(&config.criterion_home)?;
            let source = kept.strip_prefix(&folder).unwrap_or(&kept);
            let spliced = snapshot::splice(&readme, source, &findings)
                .map_err(|error| io::Error::other(format!("{}: {error}", path.display())))?;
            std::fs::write(&path, spliced)?;
            println!("{}: findings from {}", path.display(), config.criterion_home.display());
        }
        Ok(ExitCode::SUCCESS)
    }

    #[derive(Debug, clap::Args)]
    pub struct CompareArgs {
        /// The base: a git ref (`main`, a commit), `.` for the working tree, or with
        /// --baselines a saved Criterion baseline.
        #[arg(required_unless_present_any = ["rejudge", "calibrate"])]
        base: Option<String>,
        /// The head, as base; the working tree by default.
        #[arg(default_value = WORKING_TREE)]
        head: String,
        /// BASE and HEAD name saved Criterion baselines (--save-baseline): compare without
        /// building or running anything.
        #[arg(long)]
        baselines: bool,
        /// Judge again the runs an earlier comparison kept in --out (another --threshold or
        /// --confidence), without building or running anything.
        #[arg(long, conflicts_with = "baselines")]
        rejudge: bool,
        /// A bench target to run (repeatable) [default: every bench]; `instructions` counts
        /// the codec, vision and postprocess ids only, untimed
        #[arg(long = "bench")]
        benches: Vec<String>,
        /// Criterion's filter: a regular expression over ids.
        #[arg(long)]
        filter: Option<String>,
        /// Runs per side, alternating between base and head.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Runs per side again, alternating, for each id the rounds call changed by time: it
        /// keeps its verdict only where these runs, the id judged alone at 95%, call the same
        /// (0: no confirmation) [default: --rounds]
        #[arg(long)]
        confirm_rounds: Option<usize>,
        /// Criterion's full sampling instead of the quick mode.
        #[arg(long)]
        full: bool,
        /// Slower by more than this many percent counts as a regression, for every timed id
        /// [default: each id's own from the noise profile where there is one, else 5]
        #[arg(long)]
        threshold: Option<f64>,
        /// Calibrate this machine's noise: BASE (default: the working tree) against itself for
        /// --rounds rounds (5 or more recommended); each timed id's run-to-run spread goes to
        /// the noise profile, which later comparisons here then use.
        #[arg(long, conflicts_with_all = ["rejudge", "baselines"])]
        calibrate: bool,
        /// The noise profile to write (--calibrate) or use [default:
        /// target/servebench/noise.json, used when it exists and was made on this machine]
        #[arg(long)]
        noise: Option<PathBuf>,
        /// How sure, in percent, the verdicts must be: 100 less the false discovery rate
        /// allowed over all the ids compared.
        #[arg(long, default_value_t = 99.0)]
        confidence: f64,
        /// More instructions by more than this many percent counts as a regression (the
        /// codec, vision and postprocess ids, counted under Valgrind).
        #[arg(long, default_value_t = 1.0)]
        instruction_threshold: f64,
        /// Time only: do not count the codec, vision and postprocess ids' instructions.
        #[arg(long)]
        no_instructions: bool,
        /// KEY=VALUE for base's bench runs (repeatable).
        #[arg(long, value_parser = key_value)]
        base_env: Vec<(String, String)>,
        /// KEY=VALUE for head's bench runs (repeatable).
        #[arg(long, value_parser = key_value)]
        head_env: Vec<(String, String)>,
        /// Where to write compare.md and compare.json [default: target/servebench/compare]
        #[arg(long)]
        out: Option<PathBuf>,
        /// A folder of edited templates to use instead of the built-in report-templates/.
        #[arg(long)]
        templates: Option<PathBuf>,
    }

    fn key_value(text: &str) -> Result<(String, String), String> {
        text.split_once('=')
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))
    }

    pub fn compare(args: CompareArgs) -> io::Result<ExitCode> {
        let judgement = Judgement {
            threshold: args.threshold.unwrap_or(5.0) / 100.0,
            confidence: args.confidence / 100.0,
            instruction_threshold: args.instruction_threshold / 100.0,
        };
        let out = args.out.unwrap_or_else(|| out_dir().join("compare"));
        let noise_path = args.noise.clone().unwrap_or_else(|| out_dir().join(NOISE_FILE));
        // One --threshold for every id overrides the profile; a calibration makes one.
        let noise = if args.threshold.is_some() || args.calibrate {
            None
        } else {
            usable_noise(&noise_path, args.noise.is_some(), !args.full)?
        };
        let base = args.base.unwrap_or_else(|| WORKING_TREE.to_owned());
        let config = || CompareConfig {
            base: Side { git_ref: base.clone(), env: args.base_env.clone() },
            head: Side { git_ref: args.head.clone(), env: args.head_env.clone() },
            benches: args.benches.clone(),
            filter: args.filter.clone(),
            rounds: args.rounds.max(1),
            confirm_rounds: args.confirm_rounds.unwrap_or(args.rounds),
            quick: !args.full,
            judgement,
            noise: noise.clone(),
            instructions: !args.no_instructions,
            work_dir: out.clone(),
        };
        let outcome = if args.calibrate {
            let (outcome, profile) = compare::calibrate(&config())?;
            profile.save(&noise_path)?;
            describe(&profile, &noise_path);
            outcome
        } else if args.rejudge {
            compare::rejudge(&out, &judgement, noise.as_ref())?
        } else if args.baselines {
            let home = attribution::criterion_home();
            compare::compare_baselines(&home, &base, &args.head, &judgement, noise.as_ref())?
        } else {
            compare::compare(&config())?
        };
        print!("{}", outcome.table());
        std::fs::create_dir_all(&out)?;
        std::fs::write(out.join("compare.md"), outcome.markdown(args.templates.as_deref())?)?;
        std::fs::write(
            out.join("compare.json"),
            serde_json::to_vec_pretty(&outcome).map_err(io::Error::other)?,
        )?;
        println!("{}", out.join("compare.md").display());
        if outcome.regressed.is_empty() {
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!(
                "servebench: {} regressed{}: {}",
                outcome.regressed.len(),
                if args.calibrate {
                    " in the calibration's A/A: this machine is noisy"
                } else {
                    ""
                },
                outcome.regressed.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            );
            Ok(ExitCode::from(1))
        }
    }

    /// The noise profile's file under servebench's output folder.
    const NOISE_FILE: &str = "noise.json";

    /// The profile at `path` if it holds here: made on this machine, in this mode. A missing
    /// file is no profile, unless it was named (`--noise`).
    fn usable_noise(path: &Path, named: bool, quick: bool) -> io::Result<Option<NoiseProfile>> {
        if !named && !path.exists() {
            return Ok(None);
        }
        let profile = NoiseProfile::load(path)?;
        let machine = servebench::report::run::RunInfo::here().machine;
        let unusable = if profile.machine != machine {
            Some(format!("it was calibrated on {}, this is {machine}", profile.machine))
        } else if profile.quick != quick {
            let mode = |quick| if quick { "quick" } else { "full" };
            Some(format!("it was calibrated in the {} mode", mode(profile.quick)))
        } else {
            None
        };
        if let Some(reason) = unusable {
            eprintln!("servebench: not using the noise profile {}: {reason}", path.display());
            return Ok(None);
        }
        eprintln!(
            "servebench: each timed id's threshold from the noise profile {} (calibrated {})",
            path.display(),
            profile.calibrated
        );
        Ok(Some(profile))
    }

    /// Says where a new profile went and its range of thresholds.
    fn describe(profile: &NoiseProfile, path: &Path) {
        let mut thresholds: Vec<(f64, &String)> =
            profile.spread.keys().filter_map(|id| Some((profile.threshold(id)?, id))).collect();
        thresholds.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let (Some(low), Some(high)) = (thresholds.first(), thresholds.last()) {
            eprintln!(
                "servebench: noise profile of {} ids written to {}: thresholds from {:.1}% ({}) \
                 to {:.1}% ({})",
                thresholds.len(),
                path.display(),
                low.0 * 100.0,
                low.1,
                high.0 * 100.0,
                high.1
            );
        }
    }
}

#[cfg(feature = "torch")]
mod serve {
    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::time::Duration;

    use servebench::ids::{Device, Model};
    use servebench::inference;
    use servebench::server::batching::BatchConfig;
    use servebench::server::torchserve::{
        self, DEFAULT_BODY_LIMIT, ModelConfig, ModelServerConfig, Pipeline,
    };
    use servebench::vision::DecodeMode;

    use super::server_args::{ByteSize, ServerArgs};

    #[derive(Debug, clap::Args)]
    pub struct ServeArgs {
        /// TorchScript image classifier [default: the generated ResNet-50, fixtures/models/resnet50.pt]
        #[arg(long)]
        model: Option<PathBuf>,
        /// Name it is served under: /predictions/NAME.
        #[arg(long, default_value = "resnet50")]
        name: String,
        /// Version it is served under: /predictions/NAME/VERSION.
        #[arg(long, default_value = "1.0")]
        version: String,
        /// REST listen address (HTTP/1.1 and h2c), TorchServe's inference port by default.
        #[arg(long, default_value = "127.0.0.1:8080")]
        rest: SocketAddr,
        /// gRPC listen address, TorchServe's gRPC inference port by default.
        #[arg(long, default_value = "127.0.0.1:7070")]
        grpc: SocketAddr,
        /// Where the model runs.
        #[arg(long, value_enum, default_value_t = Device::Cpu)]
        device: Device,
        /// Most requests inferred together (TorchServe's batch_size).
        #[arg(long, default_value_t = 1)]
        batch_size: usize,
        /// Longest a batch waits to fill, in milliseconds (TorchServe's max_batch_delay).
        #[arg(long, default_value_t = 100)]
        max_batch_delay_ms: u64,
        /// Worker threads running batches.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Requests that may wait before new ones get 503 (for the model's workers, and as
        /// many again for the prepare threads, if any).
        #[arg(long, default_value_t = 100)]
        queue: usize,
        /// Threads decoding and preprocessing images as they arrive, so that the workers only
        /// infer (the pipelined design); 0: each worker decodes and preprocesses its batch
        /// before inferring it, as TorchServe does.
        #[arg(long, default_value_t = 0)]
        prepare_threads: usize,
        /// How JPEGs are decoded: every pixel (TorchServe's tensor, bit for bit), or scaled in
        /// libjpeg to the smallest of 1/8, 1/4, 1/2 that still covers Resize(256).
        #[arg(long, value_enum, default_value_t = DecodeMode::Exact)]
        decode: DecodeMode,
        /// libtorch's intra-op threads on each worker [default: libtorch's, one per core].
        #[arg(long)]
        torch_threads: Option<usize>,
        /// Largest accepted request body or gRPC message (bytes, or with KiB, MiB, GiB).
        #[arg(long, default_value_t = ByteSize(DEFAULT_BODY_LIMIT))]
        body_limit: ByteSize,
        #[command(flatten)]
        server: ServerArgs,
    }

    pub async fn run(args: ServeArgs) -> std::io::Result<()> {
        let path = args.model.unwrap_or_else(|| inference::model_path(Model::Resnet50));
        let device = inference::device(args.device);
        let batch = BatchConfig {
            batch_size: args.batch_size,
            max_batch_delay: Duration::from_millis(args.max_batch_delay_ms),
            queue_capacity: args.queue,
            workers: args.workers,
        };
        let pipeline = Pipeline {
            prepare_threads: args.prepare_threads,
            decode: args.decode,
            torch_threads: args.torch_threads,
        };
        let model = ModelConfig {
            name: args.name.clone(),
            version: args.version,
            path,
            device,
            batch,
            pipeline,
        };
        let listen = args.server.listen(args.rest, args.grpc, args.body_limit);
        let server = torchserve::start(ModelServerConfig { listen, models: vec![model] }).await?;
        let mut lines = vec![
            format!("REST (HTTP/1.1 and h2c) on http://{}", server.rest_addr()),
            format!(
                "gRPC (org.pytorch.serve.grpc.inference, inference.GRPCInferenceService) on http://{}",
                server.grpc_addr()
            ),
            format!(
                "Open Inference Protocol: http://{}/v2/models/{}",
                server.rest_addr(),
                args.name
            ),
            format!("curl -T image.jpg http://{}/predictions/{}", server.rest_addr(), args.name),
        ];
        lines.extend(args.server.banner(args.body_limit));
        super::banner(&lines);
        super::serve_until_stopped(server, args.server).await
    }
}
