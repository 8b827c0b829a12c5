//! Transport stage, server side: the study's REST (axum) and gRPC (tonic) servers.
//!
//! Both are thin: they parse with the codec stage, hand the request to [`Study`] (what the
//! study's servers do with a request) and encode its answer. [`StudyServer::start`] binds both
//! on the configured addresses (port 0 by default), so tests, benches and the CLI start servers
//! the same way and get back the bound addresses and a shutdown handle.

pub mod batching;
mod error;
pub mod grpc;
pub mod rest;
#[cfg(feature = "torch")]
pub mod torchserve;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use http::HeaderValue;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::Code;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

pub use error::{ErrorBody, ServeError};

use crate::codec;
use crate::fixtures;
use crate::messages::{BasicRequest, BasicResponse, ImageBase64Request, ImageBinaryRequest};

/// Largest request body (REST) or message (gRPC) accepted by default: 64 MiB, room for the
/// study's largest request (2.3 MB of JPEG, 3.1 MB as base64) and far past axum's 2 MB and
/// tonic's 4 MB defaults.
pub const DEFAULT_BODY_LIMIT: usize = 64 << 20;

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// REST listener; HTTP/1.1 and HTTP/2 cleartext (prior knowledge) share it.
    pub rest_addr: SocketAddr,
    /// gRPC listener.
    pub grpc_addr: SocketAddr,
    /// Largest accepted request body or gRPC message, in bytes.
    pub body_limit: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Self { rest_addr: loopback, grpc_addr: loopback, body_limit: DEFAULT_BODY_LIMIT }
    }
}

/// What the study's servers do with a request: check that an image arrived (decoding base64
/// when it came as text) and answer with the fixed [`fixtures::basic_response`].
#[derive(Clone, Debug)]
pub struct Study {
    response: BasicResponse,
}

impl Default for Study {
    fn default() -> Self {
        Self { response: fixtures::basic_response() }
    }
}

impl Study {
    /// Answers a structured request.
    pub fn basic(&self, _request: &BasicRequest) -> &BasicResponse {
        &self.response
    }

    /// Decodes the base64 image and answers.
    pub fn base64(&self, request: &ImageBase64Request) -> Result<&BasicResponse, ServeError> {
        let image = codec::base64::decode(request.image.as_bytes())?;
        self.image(&image)
    }

    /// Answers a raw image.
    pub fn binary(&self, request: &ImageBinaryRequest) -> Result<&BasicResponse, ServeError> {
        self.image(&request.image)
    }

    fn image(&self, image: &[u8]) -> Result<&BasicResponse, ServeError> {
        if image.is_empty() {
            return Err(ServeError::EmptyImage);
        }
        Ok(&self.response)
    }
}

/// Both study servers, running on the current tokio runtime until shut down or dropped.
#[derive(Debug)]
pub struct StudyServer {
    serving: Serving,
}

impl StudyServer {
    /// Binds both listeners and starts serving in background tasks.
    pub async fn start(config: ServerConfig) -> io::Result<Self> {
        let study = Study::default();
        let router = rest::router(study.clone(), config.body_limit);
        let routes = grpc::routes(study, config.body_limit);
        let serving = Serving::start(config.rest_addr, config.grpc_addr, router, routes).await?;
        Ok(Self { serving })
    }

    /// The REST listener's bound address.
    pub fn rest_addr(&self) -> SocketAddr {
        self.serving.rest_addr
    }

    /// The gRPC listener's bound address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.serving.grpc_addr
    }

    /// Stops accepting, lets in-flight requests finish, and returns the first serving error.
    pub async fn shutdown(self) -> io::Result<()> {
        self.serving.shutdown().await
    }
}

/// A REST router and gRPC routes, each served on its own listener until shut down: how every
/// servebench server runs, whatever it answers.
#[derive(Debug)]
pub(crate) struct Serving {
    /// The REST listener's bound address.
    pub(crate) rest_addr: SocketAddr,
    /// The gRPC listener's bound address.
    pub(crate) grpc_addr: SocketAddr,
    shutdown: watch::Sender<()>,
    tasks: Vec<JoinHandle<io::Result<()>>>,
}

impl Serving {
    /// Binds both listeners and serves on them in background tasks.
    pub(crate) async fn start(
        rest_addr: SocketAddr,
        grpc_addr: SocketAddr,
        router: axum::Router,
        routes: Routes,
    ) -> io::Result<Self> {
        let rest_listener = TcpListener::bind(rest_addr).await?;
        let grpc_listener = TcpListener::bind(grpc_addr).await?;
        let (rest_addr, grpc_addr) = (rest_listener.local_addr()?, grpc_listener.local_addr()?);
        let (shutdown, signal) = watch::channel(());
        let tasks = vec![
            tokio::spawn(serve_rest(rest_listener, router, stopped(signal.clone()))),
            tokio::spawn(serve_grpc(grpc_listener, routes, stopped(signal))),
        ];
        Ok(Self { rest_addr, grpc_addr, shutdown, tasks })
    }

    /// Stops accepting, lets in-flight requests finish, and returns the first serving error.
    pub(crate) async fn shutdown(self) -> io::Result<()> {
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
/// connections: how every servebench REST server runs.
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

/// Serves gRPC `routes` on `listener` until `shutdown` resolves: how every servebench gRPC
/// server runs. A message over the limit is answered `RESOURCE_EXHAUSTED`, not tonic's
/// `OUT_OF_RANGE`.
async fn serve_grpc(
    listener: TcpListener,
    routes: Routes,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    Server::builder()
        .layer(tower::util::MapResponseLayer::new(
            resource_exhausted_on_oversize::<tonic::body::Body>,
        ))
        .add_routes(routes)
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
        .map_err(io::Error::other)
}

/// Rewrites tonic's `OUT_OF_RANGE` for an over-limit message to `RESOURCE_EXHAUSTED`, the code
/// gRPC's C++, Go and Python servers use (and the study's grpc.aio server and TorchServe send).
fn resource_exhausted_on_oversize<B>(mut response: http::Response<B>) -> http::Response<B> {
    let headers = response.headers_mut();
    let out_of_range = HeaderValue::from(Code::OutOfRange as i32);
    let is_oversize = headers.get("grpc-status") == Some(&out_of_range)
        && headers
            .get("grpc-message")
            .and_then(|message| message.to_str().ok())
            .is_some_and(|message| message.contains("message%20length%20too%20large"));
    if is_oversize {
        headers.insert("grpc-status", HeaderValue::from(Code::ResourceExhausted as i32));
    }
    response
}
