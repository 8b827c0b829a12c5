//! The study's gRPC server (tonic): service `ai.statsbomb.com.GrpcBenchmarkApiService`.
//!
//! Two things differ from a stock tonic server, both so clients see the statuses gRPC's own
//! implementations send: malformed messages are `INVALID_ARGUMENT` (servebench's
//! [`GrpcCodec`](crate::codec::protobuf::GrpcCodec)), and a message over the size limit is
//! `RESOURCE_EXHAUSTED` where tonic says `OUT_OF_RANGE` ([`resource_exhausted_on_oversize`]).

use std::future::Future;
use std::io;

use http::HeaderValue;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status};

use super::{ServeError, Study};
use crate::messages::grpc_benchmark_api_service_server::{
    GrpcBenchmarkApiService, GrpcBenchmarkApiServiceServer,
};
use crate::messages::{BasicRequest, BasicResponse, ImageBase64Request, ImageBinaryRequest};

/// The study's service, answering through [`Study`].
#[derive(Debug, Default)]
pub struct StudyService {
    study: Study,
}

#[tonic::async_trait]
impl GrpcBenchmarkApiService for StudyService {
    async fn benchmark_basic_request(
        &self,
        request: Request<BasicRequest>,
    ) -> Result<Response<BasicResponse>, Status> {
        Ok(Response::new(self.study.basic(request.get_ref()).clone()))
    }

    async fn benchmark_b64_image(
        &self,
        request: Request<ImageBase64Request>,
    ) -> Result<Response<BasicResponse>, Status> {
        answer(self.study.base64(request.get_ref()))
    }

    async fn benchmark_binary_image(
        &self,
        request: Request<ImageBinaryRequest>,
    ) -> Result<Response<BasicResponse>, Status> {
        answer(self.study.binary(request.get_ref()))
    }
}

fn answer(result: Result<&BasicResponse, ServeError>) -> Result<Response<BasicResponse>, Status> {
    Ok(Response::new(result?.clone()))
}

/// Serves the study's service on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    study: Study,
    body_limit: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let service = GrpcBenchmarkApiServiceServer::new(StudyService { study })
        .max_decoding_message_size(body_limit)
        .max_encoding_message_size(body_limit);
    Server::builder()
        .layer(tower::util::MapResponseLayer::new(
            resource_exhausted_on_oversize::<tonic::body::Body>,
        ))
        .add_service(service)
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
        .map_err(io::Error::other)
}

/// Rewrites tonic's `OUT_OF_RANGE` for an over-limit message to `RESOURCE_EXHAUSTED`, the code
/// gRPC's C++, Go and Python servers use (and the study's grpc.aio server sent).
pub fn resource_exhausted_on_oversize<B>(mut response: http::Response<B>) -> http::Response<B> {
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
