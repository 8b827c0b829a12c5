//! Transport stage, server side: the study's servers ([`study`]) and the TorchServe-compatible
//! model server ([`torchserve`], feature `torch`), on one shared lifecycle.
//!
//! Every server is a REST router (axum) and gRPC routes (tonic) over the stages; this module
//! runs them: [`ListenConfig`] says where and how much a body may weigh, and the
//! [`ServerHandle`] it starts gives back the bound addresses and shuts down. Tests, benches and
//! the CLI start every server the same way. What a server and its clients agree on lives in
//! [`crate::transport`]; nothing here imports the clients.

pub mod batching;
mod body;
mod error;
mod grpc;
pub mod study;
#[cfg(feature = "torch")]
pub mod torchserve;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::service::Routes;

pub use body::{Body, BodyError};
pub use error::ErrorBody;

use crate::transport::{DEFAULT_BODY_LIMIT, Target};

/// Where a server listens and how large a request it takes.
#[derive(Clone, Debug)]
pub struct ListenConfig {
    /// REST listener; HTTP/1.1 and HTTP/2 cleartext (prior knowledge) share it.
    pub rest_addr: SocketAddr,
    /// gRPC listener.
    pub grpc_addr: SocketAddr,
    /// Largest accepted request body or gRPC message, in bytes.
    pub body_limit: usize,
}

/// Loopback, port 0 for both APIs (what tests and benches want), [`DEFAULT_BODY_LIMIT`].
impl Default for ListenConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self { rest_addr: loopback, grpc_addr: loopback, body_limit: DEFAULT_BODY_LIMIT }
    }
}

/// A running server: its REST router and gRPC routes, each served on its own listener on the
/// current tokio runtime until shut down or dropped.
#[derive(Debug)]
pub struct ServerHandle {
    rest_addr: SocketAddr,
    grpc_addr: SocketAddr,
    shutdown: watch::Sender<()>,
    tasks: Vec<JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// Binds both listeners and serves `router` and `routes` on them in background tasks, with
    /// `config`'s body limit applied to both.
    pub(crate) async fn start(
        config: &ListenConfig,
        router: axum::Router,
        routes: Routes,
    ) -> io::Result<Self> {
        let rest_listener = TcpListener::bind(config.rest_addr).await?;
        let grpc_listener = TcpListener::bind(config.grpc_addr).await?;
        let (rest_addr, grpc_addr) = (rest_listener.local_addr()?, grpc_listener.local_addr()?);
        let (shutdown, signal) = watch::channel(());
        let router = body::limit(router, config.body_limit);
        let tasks = vec![
            tokio::spawn(serve_rest(rest_listener, router, stopped(signal.clone()))),
            tokio::spawn(grpc::serve(grpc_listener, routes, stopped(signal))),
        ];
        Ok(Self { rest_addr, grpc_addr, shutdown, tasks })
    }

    /// The REST listener's bound address.
    pub fn rest_addr(&self) -> SocketAddr {
        self.rest_addr
    }

    /// The gRPC listener's bound address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// Both listeners, as a client's [`Target`].
    pub fn target(&self) -> Target {
        Target::at(self.rest_addr, self.grpc_addr)
    }

    /// Stops accepting, lets in-flight requests finish, and returns the first serving error.
    pub async fn shutdown(self) -> io::Result<()> {
        self.shutdown.send_replace(());
        for task in self.tasks {
            task.await.map_err(io::Error::other)??;
        }
        Ok(())
    }
}

/// Resolves when the handle asks for shutdown or is dropped.
async fn stopped(mut signal: watch::Receiver<()>) {
    let _ = signal.changed().await;
}

/// Serves `router` on `listener` (HTTP/1.1 and h2c) until `shutdown` resolves, then drains
/// connections.
async fn serve_rest(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        // Headers and body go out as separate writes; Nagle would hold the second one back.
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
