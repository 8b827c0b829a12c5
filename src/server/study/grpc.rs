//! The study's gRPC server (tonic): service `ai.statsbomb.com.GrpcBenchmarkApiService`.
//!
//! Malformed messages are `INVALID_ARGUMENT` (servebench's
//! [`GrpcCodec`](crate::codec::protobuf::GrpcCodec)) and a message over the size limit is
//! `RESOURCE_EXHAUSTED`, as gRPC's own implementations answer.

use tonic::service::Routes;
use tonic::{Request, Response, Status};

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

crate::server::grpc::message_limits!(GrpcBenchmarkApiServiceServer<StudyService>);

/// The study's service, refusing messages over `body_limit` bytes, ready to serve.
pub fn routes(study: Study, body_limit: usize) -> Routes {
    crate::server::grpc::routes(
        GrpcBenchmarkApiServiceServer::new(StudyService { study }),
        body_limit,
    )
}
