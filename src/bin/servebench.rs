//! The `servebench` command line: run the study's servers standalone, or write its images out,
//! so clients outside servebench (the study's Python client, h2load, ghz) can use them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use servebench::fixtures;
use servebench::server::{DEFAULT_BODY_LIMIT, ServerConfig, StudyServer};

#[derive(Debug, Parser)]
#[command(version, about = "Where the time goes when an image travels to a model server and back")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the study's REST and gRPC APIs until Ctrl-C.
    ServeStudy {
        /// REST listen address (HTTP/1.1 and h2c on the same port).
        #[arg(long, env = "SERVEBENCH_REST_ADDR", default_value = "127.0.0.1:8000")]
        rest: SocketAddr,
        /// gRPC listen address.
        #[arg(long, env = "SERVEBENCH_GRPC_ADDR", default_value = "127.0.0.1:50051")]
        grpc: SocketAddr,
        /// Largest request body or gRPC message accepted, in bytes.
        #[arg(long, default_value_t = DEFAULT_BODY_LIMIT)]
        body_limit: usize,
    },
    /// Serve a TorchScript image classifier behind TorchServe's REST and gRPC inference APIs
    /// until Ctrl-C.
    #[cfg(feature = "torch")]
    Serve(serve::ServeArgs),
    /// Write the study's images (noise and smooth JPEGs at its three sizes) into a folder.
    Fixtures {
        /// Folder to write into.
        #[arg(long, default_value = "fixtures/export")]
        out: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("servebench: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> std::io::Result<()> {
    match command {
        Command::ServeStudy { rest, grpc, body_limit } => {
            let config = ServerConfig { rest_addr: rest, grpc_addr: grpc, body_limit };
            let server = StudyServer::start(config).await?;
            println!("REST (HTTP/1.1 and h2c) on http://{}", server.rest_addr());
            println!("gRPC on http://{}", server.grpc_addr());
            println!("Ctrl-C stops.");
            tokio::signal::ctrl_c().await?;
            server.shutdown().await
        }
        #[cfg(feature = "torch")]
        Command::Serve(args) => serve::run(args).await,
        Command::Fixtures { out } => {
            for path in fixtures::export(&out)? {
                println!("{}", path.display());
            }
            Ok(())
        }
    }
}

#[cfg(feature = "torch")]
mod serve {
    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::time::Duration;

    use servebench::server::DEFAULT_BODY_LIMIT;
    use servebench::server::batching::BatchConfig;
    use servebench::server::torchserve::{ModelConfig, ModelServer, ModelServerConfig};

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
        /// Run on `cpu` or `cuda`.
        #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
        device: String,
        /// Most requests inferred together (TorchServe's batch_size).
        #[arg(long, default_value_t = 1)]
        batch_size: usize,
        /// Longest a batch waits to fill, in milliseconds (TorchServe's max_batch_delay).
        #[arg(long, default_value_t = 100)]
        max_batch_delay_ms: u64,
        /// Worker threads running batches.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Requests that may wait before new ones get 503.
        #[arg(long, default_value_t = 100)]
        queue: usize,
        /// Largest accepted request body or gRPC message, in bytes.
        #[arg(long, default_value_t = DEFAULT_BODY_LIMIT)]
        body_limit: usize,
    }

    pub async fn run(args: ServeArgs) -> std::io::Result<()> {
        let path = args.model.unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/models/resnet50.pt")
        });
        let device = if args.device == "cuda" { tch::Device::Cuda(0) } else { tch::Device::Cpu };
        let batch = BatchConfig {
            batch_size: args.batch_size,
            max_batch_delay: Duration::from_millis(args.max_batch_delay_ms),
            queue_capacity: args.queue,
            workers: args.workers,
        };
        let model =
            ModelConfig { name: args.name.clone(), version: args.version, path, device, batch };
        let config = ModelServerConfig {
            rest_addr: args.rest,
            grpc_addr: args.grpc,
            body_limit: args.body_limit,
            models: vec![model],
        };
        let server = ModelServer::start(config).await?;
        println!("REST (HTTP/1.1 and h2c) on http://{}", server.rest_addr());
        println!("gRPC (org.pytorch.serve.grpc.inference) on http://{}", server.grpc_addr());
        println!("curl -T image.jpg http://{}/predictions/{}", server.rest_addr(), args.name);
        println!("Ctrl-C stops.");
        tokio::signal::ctrl_c().await?;
        server.shutdown().await
    }
}
