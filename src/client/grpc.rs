//! gRPC client (tonic): one channel, one HTTP/2 connection, requests multiplexed over it.

use tonic::transport::{Channel, Endpoint};

use super::{ClientError, Status};
use crate::messages::grpc_benchmark_api_service_client::GrpcBenchmarkApiServiceClient;
use crate::messages::{BasicResponse, StudyRequest};
use crate::transport::DEFAULT_BODY_LIMIT;

/// A gRPC client of the study's service.
#[derive(Clone, Debug)]
pub struct GrpcClient {
    client: GrpcBenchmarkApiServiceClient<Channel>,
}

impl GrpcClient {
    /// Connects to the server at `url` (`http://host:port`).
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        let client = GrpcBenchmarkApiServiceClient::new(channel(url).await?)
            .max_decoding_message_size(DEFAULT_BODY_LIMIT)
            .max_encoding_message_size(DEFAULT_BODY_LIMIT);
        Ok(Self { client })
    }

    /// Sends `request` with the method for its type. The message is cloned into the call, as a
    /// real client builds one per request; for the binary request that is a reference count.
    pub async fn send(&self, request: &StudyRequest) -> Result<BasicResponse, ClientError> {
        let mut client = self.client.clone();
        let response = match request {
            StudyRequest::Basic(message) => client.benchmark_basic_request(message.clone()).await,
            StudyRequest::Base64(message) => client.benchmark_b64_image(message.clone()).await,
            StudyRequest::Binary(message) => client.benchmark_binary_image(message.clone()).await,
        };
        response.map(tonic::Response::into_inner).map_err(ClientError::from)
    }
}

/// One HTTP/2 connection to the gRPC server at `url` (`http://host:port`), Nagle off.
pub(crate) async fn channel(url: &str) -> Result<Channel, ClientError> {
    let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|error| {
        ClientError::InvalidTarget { url: url.to_owned(), source: Box::new(error) }
    })?;
    endpoint.tcp_nodelay(true).connect().await.map_err(ClientError::transport)
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        Self::Status { status: Status::Grpc(status.code()), body: status.message().to_owned() }
    }
}
