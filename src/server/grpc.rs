//! gRPC for every servebench server: [`routes`] puts a service behind the body limit, and
//! [`serve`] runs routes on a listener, answering an over-limit message `RESOURCE_EXHAUSTED`.

use std::convert::Infallible;
use std::io;

use http::HeaderValue;
use tokio::net::TcpListener;
use tonic::Code;
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::timing::{self, StageTimings};
use crate::transport::TransportConfig;

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

/// Serves gRPC `routes` on `listener`, HTTP/2 as `transport` says, until `shutdown` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    routes: Routes,
    transport: TransportConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    Server::builder()
        .initial_stream_window_size(transport.windows())
        .initial_connection_window_size(transport.windows())
        .http2_adaptive_window(Some(transport.adaptive_window()))
        .max_frame_size(transport.max_frame_size())
        .layer(tower::util::MapResponseLayer::new(
            resource_exhausted_on_oversize::<tonic::body::Body>,
        ))
        .layer(tower::util::MapRequestLayer::new(super::clock::grpc))
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
