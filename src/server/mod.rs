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
pub mod budget;
pub mod clock;
mod error;
pub mod floor;
mod grpc;
pub mod study;
pub mod timeouts;
#[cfg(feature = "torch")]
pub mod torchserve;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::service::Routes;

pub use body::{Body, BodyError};
pub use budget::{BodyBudget, DEFAULT_BODY_BUDGET, OverBudget};
pub use error::ErrorBody;
pub use timeouts::{Timeouts, TooSlow};

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
    /// Bytes of request bodies the server holds at once ([`budget`]); at least `body_limit`.
    pub body_budget: usize,
    /// How long it waits on clients, and HTTP/2's keepalive and streams per connection.
    pub timeouts: Timeouts,
    /// The receive windows and largest frame both listeners grant their HTTP/2 clients (its
    /// connection count is a client's knob).
    pub transport: TransportConfig,
}

/// Loopback, port 0 for both APIs (what tests and benches want), [`DEFAULT_BODY_LIMIT`],
/// [`DEFAULT_BODY_BUDGET`], [`Timeouts::default`], hyper's and tonic's HTTP/2 windows and
/// frames.
impl Default for ListenConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self {
            rest_addr: loopback,
            grpc_addr: loopback,
            body_limit: DEFAULT_BODY_LIMIT,
            body_budget: DEFAULT_BODY_BUDGET,
            timeouts: Timeouts::default(),
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
    budget: Arc<BodyBudget>,
    shutdown: watch::Sender<()>,
    tasks: Vec<JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// Binds both listeners and serves `router` and `routes` on them in background tasks, with
    /// `config`'s body limit, budget and timeouts applied to both and every request
    /// [clocked](clock).
    pub(crate) async fn start(
        config: &ListenConfig,
        router: axum::Router,
        routes: Routes,
    ) -> io::Result<Self> {
        if config.body_budget < config.body_limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a body budget of {} bytes is under the body limit of {} bytes: bodies \
                     between the two would always be refused",
                    config.body_budget, config.body_limit
                ),
            ));
        }
        let rest_listener = TcpListener::bind(config.rest_addr).await?;
        let grpc_listener = TcpListener::bind(config.grpc_addr).await?;
        let (rest_addr, grpc_addr) = (rest_listener.local_addr()?, grpc_listener.local_addr()?);
        let (shutdown, signal) = watch::channel(());
        let budget = BodyBudget::new(config.body_budget);
        let admission = body::Admission {
            limit: config.body_limit,
            budget: Arc::clone(&budget),
            timeouts: config.timeouts,
        };
        let router = router
            .layer(axum::middleware::from_fn_with_state(admission.clone(), body::admit))
            .layer(tower::util::MapRequestLayer::new(clock::rest));
        let tasks = vec![
            tokio::spawn(serve_rest(
                rest_listener,
                router,
                config.clone(),
                stopped(signal.clone()),
            )),
            tokio::spawn(grpc::serve(
                grpc_listener,
                routes,
                config.transport,
                admission,
                stopped(signal),
            )),
        ];
        Ok(Self { rest_addr, grpc_addr, budget, shutdown, tasks })
    }

    /// The REST listener's bound address.
    pub fn rest_addr(&self) -> SocketAddr {
        self.rest_addr
    }

    /// The gRPC listener's bound address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bytes of request bodies the server holds now, against its budget.
    pub fn body_budget(&self) -> &BodyBudget {
        &self.budget
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

/// Serves `router` on `listener` (HTTP/1.1 and h2c, HTTP/2 and time limits as `config`
/// says) until `shutdown` resolves, then lets every connection finish what it has in flight.
async fn serve_rest(
    listener: TcpListener,
    router: axum::Router,
    config: ListenConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (transport, timeouts) = (config.transport, config.timeouts);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(timeouts.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(timeouts.keepalive_interval)
        .keep_alive_timeout(timeouts.keepalive_timeout)
        .max_concurrent_streams(timeouts.max_concurrent_streams)
        .initial_stream_window_size(transport.windows())
        .initial_connection_window_size(transport.windows())
        .adaptive_window(transport.adaptive_window())
        .max_frame_size(transport.max_frame_size());
    let graceful = GracefulShutdown::new();
    let (closing, closed) = watch::channel(false);
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
        let (builder, router, watcher) = (builder.clone(), router.clone(), graceful.watcher());
        let mut closed = closed.clone();
        tokio::spawn(async move {
            // hyper's header timer starts once it knows the protocol, which takes a first byte.
            let mut byte = [0; 1];
            let first_byte = tokio::time::timeout(timeouts.header_read, tcp.peek(&mut byte));
            tokio::select! {
                peeked = first_byte => if !matches!(peeked, Ok(Ok(1..))) { return },
                _ = closed.wait_for(|closed| *closed) => return,
            }
            let service = TowerToHyperService::new(router);
            let _ = watcher.watch(builder.serve_connection(TokioIo::new(tcp), service)).await;
        });
    }
    drop(listener);
    closing.send_replace(true);
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
