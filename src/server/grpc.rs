//! gRPC for every servebench server: [`routes`] puts a service behind the body limit, and
//! [`serve`] runs routes on a listener, admitting each call's message against the server's
//! [budget](super::budget) before reading it ([`Admit`]) and answering an over-limit or
//! over-budget message `RESOURCE_EXHAUSTED`.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use http::HeaderValue;
use tokio::net::TcpListener;
use tonic::Code;
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use super::body::Admission;
use super::timeouts::{Paced, TooSlow};
use crate::timing::{self, StageTimings};
use crate::transport::{GRPC_PREFIX, TransportConfig};

/// A generated tonic server that limits the messages it decodes and encodes, and takes every
/// compression servebench's clients send.
pub(crate) trait MessageLimits {
    /// The service refusing messages over `bytes` either way, taking gzip and zstd requests
    /// and answering in whichever of them a client asks for.
    fn limited(self, bytes: usize) -> Self;
}

/// [`MessageLimits`] for generated servers, whose limits and encodings are inherent methods.
macro_rules! message_limits {
    ($($server:ty),* $(,)?) => {$(
        impl crate::server::grpc::MessageLimits for $server {
            fn limited(self, bytes: usize) -> Self {
                use tonic::codec::CompressionEncoding::{Gzip, Zstd};
                self.max_decoding_message_size(bytes)
                    .max_encoding_message_size(bytes)
                    .accept_compressed(Gzip)
                    .accept_compressed(Zstd)
                    .send_compressed(Gzip)
                    .send_compressed(Zstd)
            }
        }
    )*};
}
pub(crate) use message_limits;

/// `service` as routes to serve, refusing messages over `body_limit` bytes.
pub(crate) fn routes<S>(service: S, body_limit: usize) -> Routes
where
    S: MessageLimits
        + tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        > + NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    Routes::new(service.limited(body_limit))
}

/// Serves gRPC `routes` on `listener`, HTTP/2 as `transport` says, each call admitted and its
/// connection held to time limits as `admission` says, until `shutdown` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    routes: Routes,
    transport: TransportConfig,
    admission: Admission,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let timeouts = admission.timeouts;
    Server::builder()
        .http2_keepalive_interval(Some(timeouts.keepalive_interval))
        .http2_keepalive_timeout(Some(timeouts.keepalive_timeout))
        .max_concurrent_streams(timeouts.max_concurrent_streams)
        .initial_stream_window_size(transport.windows())
        .initial_connection_window_size(transport.windows())
        .http2_adaptive_window(Some(transport.adaptive_window()))
        .max_frame_size(transport.max_frame_size())
        .layer(tower::util::MapResponseLayer::new(
            resource_exhausted_on_oversize::<tonic::body::Body>,
        ))
        .layer(tower::util::MapRequestLayer::new(super::clock::grpc))
        .layer(tower::layer::layer_fn(move |inner| Admit { inner, admission: admission.clone() }))
        .add_routes(routes)
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
        .map_err(io::Error::other)
}

/// A gRPC service behind the server's body budget and pace: each call reserves its first
/// message's length, read from the message's prefix before anything else of it, until its
/// answer is ready; a call the budget cannot take is answered `RESOURCE_EXHAUSTED` without its
/// message being read. A compressed message reserves its length on the wire: tonic inflates it
/// (to at most the body limit) where the budget cannot see. A body that falls behind
/// [`Paced`]'s deadline ends the call `DEADLINE_EXCEEDED`.
#[derive(Clone)]
struct Admit<S> {
    inner: S,
    admission: Admission,
}

type GrpcRequest = http::Request<tonic::body::Body>;
type GrpcResponse = http::Response<tonic::body::Body>;

impl<S> tower::Service<GrpcRequest> for Admit<S>
where
    S: tower::Service<GrpcRequest, Response = GrpcResponse> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = GrpcResponse;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<GrpcResponse, S::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: GrpcRequest) -> Self::Future {
        // The clone is fresh, the ready one goes into the future (tower's rule for a service
        // used after poll_ready).
        let inner = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, inner);
        let Admission { limit, budget, timeouts } = self.admission.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = tonic::body::Body::new(Paced::new(body, &timeouts).map_err(|error| {
                match error.downcast::<TooSlow>() {
                    Ok(too_slow) => tonic::Status::deadline_exceeded(too_slow.to_string()),
                    Err(error) => tonic::Status::from_error(error),
                }
            }));
            let (prefix, body) = match read_prefix(body).await {
                Ok(read) => read,
                Err(status) => return Ok(status.into_http()),
            };
            let promised = prefix.map_or(0, |[_, length @ ..]| {
                usize::try_from(u32::from_be_bytes(length))
                    .map_or(limit, |length| length.min(limit))
            });
            match budget.reserve(promised) {
                Ok(reservation) => {
                    let response = inner.call(http::Request::from_parts(parts, body)).await;
                    drop(reservation);
                    response
                }
                Err(over) => Ok(tonic::Status::resource_exhausted(over.to_string()).into_http()),
            }
        })
    }
}

/// The first message's prefix (none when the body ends first), read from `body` frame by
/// frame, and the body again as it came, the frames read put back in front.
async fn read_prefix(
    mut body: tonic::body::Body,
) -> Result<(Option<[u8; GRPC_PREFIX]>, tonic::body::Body), tonic::Status> {
    let mut read = Vec::new();
    let mut data = BytesMut::new();
    while data.len() < GRPC_PREFIX {
        let Some(frame) = body.frame().await.transpose()? else { break };
        if let Some(bytes) = frame.data_ref() {
            data.extend_from_slice(&bytes.chunk()[..bytes.len().min(GRPC_PREFIX - data.len())]);
        }
        read.push(Ok::<Frame<Bytes>, tonic::Status>(frame));
    }
    let prefix = data.as_ref().try_into().ok();
    let frames = tokio_stream::StreamExt::chain(
        tokio_stream::iter(read),
        http_body_util::BodyStream::new(body),
    );
    Ok((prefix, tonic::body::Body::new(StreamBody::new(frames))))
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

/// `response` with `timings` in its `server-timing` metadata.
pub(crate) fn timed<T>(
    mut response: tonic::Response<T>,
    timings: &StageTimings,
) -> tonic::Response<T> {
    if let Ok(value) = tonic::metadata::MetadataValue::try_from(timings.to_string()) {
        response.metadata_mut().insert(timing::HEADER, value);
    }
    response
}
