//! Transport stage, client side: one [`StudyClient`] per protocol for the study's servers, and
//! one [`torchserve::ModelClient`] per route for TorchServe's inference APIs. Each reuses its
//! connections as a real client would (a pool of HTTP/1.1 connections, one multiplexed HTTP/2
//! connection, one gRPC channel) and points at a [`Target`]: servebench's own server or anyone
//! else's. Nothing here imports the servers: what both ends agree on is [`crate::transport`].

pub mod floor;
pub mod grpc;
pub mod oip;
pub mod rest;
pub mod torchserve;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::codec::CodecError;
use crate::messages::{BasicResponse, StudyRequest};
use crate::timing::{ClientTimings, StageTimings};
use crate::transport::{HttpVersion, Protocol, Target, TransportConfig};

/// One answer with both sides' account of the time it took.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply<T> {
    /// The server's answer.
    pub answer: T,
    /// The client's stages.
    pub client: ClientTimings,
    /// The server's stages, as its `server-timing` header or metadata reported them (none
    /// where it sent none, as TorchServe and the study's Python servers do not).
    pub server: StageTimings,
}

impl<T> Reply<T> {
    /// The timings alone, the answer dropped.
    pub fn timings(self) -> Reply<()> {
        Reply { answer: (), client: self.client, server: self.server }
    }

    /// The reply, its client stages cut at the instants encoding started, the request was
    /// sent and the answer was in (decoding it ran from then to now), its server stages read
    /// from the `server-timing` value the server sent, if it sent one as text.
    pub(crate) fn cut<E>(
        answer: T,
        server_timing: Option<Result<&str, E>>,
        [started, sent, received]: [Instant; 3],
    ) -> Self {
        let client = ClientTimings {
            preprocess: Duration::ZERO,
            encode: sent - started,
            wait: received - sent,
            decode: received.elapsed(),
        };
        let server =
            server_timing.and_then(Result::ok).map(StageTimings::parse).unwrap_or_default();
        Self { answer, client, server }
    }
}

/// An error status a server answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// An HTTP status other than 200 OK.
    Http(http::StatusCode),
    /// A gRPC status other than OK.
    Grpc(tonic::Code),
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(status) => write!(f, "HTTP {status}"),
            Self::Grpc(code) => write!(f, "gRPC {code:?}"),
        }
    }
}

/// Why a call did not return the answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The target URL does not parse.
    #[error("invalid target URL {url:?}")]
    InvalidTarget {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The connection or the exchange failed.
    #[error("transport error")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The server answered with an error status.
    #[error("server answered {status}: {body}")]
    Status {
        /// The HTTP status, or the gRPC code.
        status: Status,
        /// The error body or gRPC message.
        body: String,
    },
    /// The answer did not parse.
    #[error("the answer did not parse")]
    Codec(#[from] CodecError),
    /// An Open Inference Protocol request or answer that is not the protocol's.
    #[error("not an Open Inference Protocol message")]
    Oip(#[from] crate::codec::oip::OipError),
    /// The image to send does not decode (where the client preprocesses it).
    #[error("the image to send does not decode")]
    Image(#[from] crate::vision::VisionError),
}

impl ClientError {
    /// A transport failure, its cause kept.
    pub(crate) fn transport(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Transport(Box::new(error))
    }
}

/// A connected client of one protocol. Cloning is cheap and shares the connections.
#[derive(Clone, Debug)]
pub enum StudyClient {
    /// REST over HTTP/1.1 or HTTP/2.
    Rest(rest::RestClient),
    /// gRPC.
    Grpc(grpc::GrpcClient),
}

impl StudyClient {
    /// Connects to `target` with `protocol`, configured by `config` (knobs the protocol does
    /// not have are ignored; [`TransportConfig::check`] tells).
    pub async fn connect(
        protocol: Protocol,
        config: TransportConfig,
        target: &Target,
    ) -> Result<Self, ClientError> {
        let url = target.url(protocol);
        Ok(match protocol {
            Protocol::RestH1 => Self::Rest(rest::RestClient::new(url, HttpVersion::Http1, config)?),
            Protocol::RestH2 => Self::Rest(rest::RestClient::new(url, HttpVersion::Http2, config)?),
            Protocol::Grpc => Self::Grpc(grpc::GrpcClient::connect(url, config).await?),
        })
    }

    /// Sends one request and decodes the answer, timing each client stage.
    pub async fn send(&self, request: &StudyRequest) -> Result<Reply<BasicResponse>, ClientError> {
        match self {
            Self::Rest(client) => client.send(request).await,
            Self::Grpc(client) => client.send(request).await,
        }
    }

    /// Sends `concurrency` copies of `request` at once, as tasks on the current runtime, and
    /// waits for all of them: the study's unit of measurement (it used 20). Returns every
    /// reply, in the order they came.
    pub async fn send_concurrent(
        &self,
        request: &Arc<StudyRequest>,
        concurrency: usize,
    ) -> Result<Vec<Reply<BasicResponse>>, ClientError> {
        concurrently(concurrency, || {
            let (client, request) = (self.clone(), Arc::clone(request));
            async move { client.send(&request).await }
        })
        .await
    }
}

/// Runs `concurrency` calls made by `call` at once, as tasks on the current runtime, and
/// returns their outputs (in completion order), or the first error.
pub(crate) async fn concurrently<T, F>(
    concurrency: usize,
    mut call: impl FnMut() -> F,
) -> Result<Vec<T>, ClientError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, ClientError>> + Send + 'static,
{
    let mut calls = JoinSet::new();
    for _ in 0..concurrency {
        calls.spawn(call());
    }
    let mut outputs = Vec::with_capacity(concurrency);
    while let Some(outcome) = calls.join_next().await {
        outputs.push(outcome.map_err(ClientError::transport)??);
    }
    Ok(outputs)
}
