//! gRPC client (tonic): one channel, one HTTP/2 connection, requests multiplexed over it; or,
//! as a [`TransportConfig`] says, several channels taking requests round-robin, and messages
//! compressed both ways.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tonic::codec::CompressionEncoding;
use tonic::transport::{Channel, Endpoint};

use super::{ClientError, Reply, Status};
use crate::messages::grpc_benchmark_api_service_client::GrpcBenchmarkApiServiceClient;
use crate::messages::{BasicResponse, StudyRequest};
use crate::timing;
use crate::transport::config::Compression;
use crate::transport::{DEFAULT_BODY_LIMIT, TransportConfig};

/// A gRPC client of the study's service. Clones share the channels.
#[derive(Clone, Debug)]
pub struct GrpcClient {
    clients: Arc<[GrpcBenchmarkApiServiceClient<Channel>]>,
    /// The channel a call goes to next, round-robin.
    next: Arc<AtomicUsize>,
}

impl GrpcClient {
    /// Connects to the server at `url` (`http://host:port`) over the channels `config` asks
    /// for (one unless it fixes a count).
    pub async fn connect(url: &str, config: TransportConfig) -> Result<Self, ClientError> {
        let mut clients = Vec::new();
        for _ in 0..config.connections.map_or(1, usize::from) {
            let mut client = GrpcBenchmarkApiServiceClient::new(channel(url, config).await?)
                .max_decoding_message_size(DEFAULT_BODY_LIMIT)
                .max_encoding_message_size(DEFAULT_BODY_LIMIT);
            if let Some(encoding) = encoding(config.compression) {
                client = client.send_compressed(encoding).accept_compressed(encoding);
            }
            clients.push(client);
        }
        Ok(Self { clients: clients.into(), next: Arc::default() })
    }

    /// Sends `request` with the method for its type. The message is cloned into the call, as a
    /// real client builds one per request; for the binary request that is a reference count.
    /// tonic encodes and decodes the messages inside the call: the client's `wait` holds
    /// them, and its `encode` and `decode` are next to nothing.
    pub async fn send(&self, request: &StudyRequest) -> Result<Reply<BasicResponse>, ClientError> {
        let started = Instant::now();
        let channel = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len();
        let mut client = self.clients[channel].clone();
        let sent = Instant::now();
        let response = match request {
            StudyRequest::Basic(message) => client.benchmark_basic_request(message.clone()).await,
            StudyRequest::Base64(message) => client.benchmark_b64_image(message.clone()).await,
            StudyRequest::Binary(message) => client.benchmark_binary_image(message.clone()).await,
        }?;
        let received = Instant::now();
        let (metadata, answer, _) = response.into_parts();
        let server = metadata.get(timing::HEADER).map(|value| value.to_str());
        Ok(Reply::cut(answer, server, [started, sent, received]))
    }
}

/// The gRPC encoding of `compression`, where it compresses.
fn encoding(compression: Compression) -> Option<CompressionEncoding> {
    match compression {
        Compression::None => None,
        Compression::Gzip => Some(CompressionEncoding::Gzip),
        Compression::Zstd => Some(CompressionEncoding::Zstd),
    }
}

/// One HTTP/2 connection to the gRPC server at `url` (`http://host:port`), Nagle off, HTTP/2
/// as `config` says.
pub(crate) async fn channel(url: &str, config: TransportConfig) -> Result<Channel, ClientError> {
    let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|error| {
        ClientError::InvalidTarget { url: url.to_owned(), source: Box::new(error) }
    })?;
    endpoint
        .tcp_nodelay(true)
        .initial_stream_window_size(config.windows())
        .initial_connection_window_size(config.windows())
        .http2_adaptive_window(config.adaptive_window())
        .max_frame_size(config.max_frame_size())
        .connect()
        .await
        .map_err(ClientError::transport)
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        Self::Status { status: Status::Grpc(status.code()), body: status.message().to_owned() }
    }
}
