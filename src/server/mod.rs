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
pub mod clock;
mod error;
pub mod floor;
mod grpc;
pub mod study;
#[cfg(feature = "torch")]
pub mod torchserve;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::service::Routes;

pub use body::{Body, BodyError};
pub use error::ErrorBody;

use crate::timing::{self, StageTimings};
use crate::transport::{DEFAULT_BODY_LIMIT, Target, TransportConfig};

/// Where a server listens, how large a request it takes and how its HTTP/2 is configured.
#[derive(Clone, Debug)]
pub struct ListenConfig {
    /// REST listener; HTTP/1.1 and HTTP/2 cleartext (prior knowledge) share it.
    pub rest_addr: SocketAddr,
    /// gRPC listener.
    pub grpc_addr: SocketAddr,
    /// Largest accepted request body or gRPC message, in bytes.
    pub body_limit: usize,
    /// The receive windows and largest frame both listeners grant their HTTP/2 clients (its
    /// connection count is a client's knob).
    pub transport: TransportConfig,
}

/// Loopback, port 0 for both APIs (what tests and benches want), [`DEFAULT_BODY_LIMIT`],
/// hyper's and tonic's HTTP/2 defaults.
impl Default for ListenConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self {
            rest_addr: loopback,
            grpc_addr: loopback,
            body_limit: DEFAULT_BODY_LIMIT,
            transport: TransportConfig::default(),
        }
    }
}

impl ListenConfig {
    /// The same, with both listeners on `addr` (port 0: each on a port of its own), as on an
    /// emulated link's server end.
    pub fn at(self, addr: SocketAddr) -> Self {
        Self { rest_addr: addr, grpc_addr: addr, ..self }
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
    /// `config`'s body limit applied to both and every request [clocked](clock).
    pub(crate) async fn start(
        config: &ListenConfig,
        router: axum::Router,
        routes: Routes,
    ) -> io::Result<Self> {
        let rest_listener = TcpListener::bind(config.rest_addr).await?;
        let grpc_listener = TcpListener::bind(config.grpc_addr).await?;
        let (rest_addr, grpc_addr) = (rest_listener.local_addr()?, grpc_listener.local_addr()?);
        let (shutdown, signal) = watch::channel(());
        let router = body::limit(router, config.body_limit)
            .layer(tower::util::MapRequestLayer::new(clock::rest));
        let tasks = vec![
            tokio::spawn(serve_rest(
                rest_listener,
                router,
                config.transport,
                stopped(signal.clone()),
            )),
            tokio::spawn(grpc::serve(grpc_listener, routes, config.transport, stopped(signal))),
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

/// Serves `router` on `listener` (HTTP/1.1 and h2c, HTTP/2 as `transport` says) until
/// `shutdown` resolves, then lets every connection finish what it has in flight.
async fn serve_rest(
    listener: TcpListener,
    router: axum::Router,
    transport: TransportConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http2()
        .initial_stream_window_size(transport.windows())
        .initial_connection_window_size(transport.windows())
        .adaptive_window(transport.adaptive_window())
        .max_frame_size(transport.max_frame_size());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(error) => {
                    after_accept_error(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Headers and body go out as separate writes; Nagle would hold the second one back.
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = builder.serve_connection(TokioIo::new(tcp), service).into_owned();
        tokio::spawn(graceful.watch(connection));
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// What a server does when accepting fails: nothing when that one connection broke off
/// before it was accepted (its own loss); otherwise (out of descriptors, say) wait a moment for
/// some to close rather than spin.
async fn after_accept_error(error: &io::Error) {
    let one_connection = matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    );
    if !one_connection {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `response` with `timings` in its `server-timing` header.
pub(crate) fn timed(
    mut response: axum::response::Response,
    timings: &StageTimings,
) -> axum::response::Response {
    if let Ok(value) = http::HeaderValue::from_str(&timings.to_string()) {
        response.headers_mut().insert(timing::HEADER, value);
    }
    response
}
