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
        Command::Fixtures { out } => {
            for path in fixtures::export(&out)? {
                println!("{}", path.display());
            }
            Ok(())
        }
    }
}
