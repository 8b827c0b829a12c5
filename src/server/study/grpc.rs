//! The study's gRPC server (tonic): service `ai.statsbomb.com.GrpcBenchmarkApiService`.
//!
//! Malformed messages are `INVALID_ARGUMENT` (servebench's
//! [`GrpcCodec`](crate::codec::protobuf::GrpcCodec)) and a message over the size limit is
//! `RESOURCE_EXHAUSTED`, as gRPC's own implementations answer.

use tonic::service::Routes;
use tonic::{Request, Response, Status};

use super::{Decoded, Study};
use crate::messages::grpc_benchmark_api_service_server::{
    GrpcBenchmarkApiService, GrpcBenchmarkApiServiceServer,
};
use crate::messages::{BasicRequest, BasicResponse, ImageBase64Request, ImageBinaryRequest};
use crate::server::clock::RequestClock;

/// The study's service, answering through [`Study`].
#[derive(Debug, Default)]
pub struct StudyService {
    study: Study,
}

impl StudyService {
    /// The answer to `request`, whose message `decoded` is, with its stages in the response's
    /// `server-timing` metadata.
    fn respond<T>(
        &self,
        request: &Request<T>,
        decoded: &Decoded,
    ) -> Result<Response<BasicResponse>, Status> {
        let clock = request.extensions().get::<RequestClock>();
        let (answer, timings) = self.study.answer(decoded, clock)?;
        Ok(crate::server::grpc::timed(Response::new(answer.clone()), &timings))
    }
}

#[tonic::async_trait]
impl GrpcBenchmarkApiService for StudyService {
    async fn benchmark_basic_request(
        &self,
        request: Request<BasicRequest>,
    ) -> Result<Response<BasicResponse>, Status> {
        self.respond(&request, &Decoded::Basic)
    }

    async fn benchmark_b64_image(
        &self,
        request: Request<ImageBase64Request>,
    ) -> Result<Response<BasicResponse>, Status> {
        let decoded = Decoded::base64(request.get_ref())?;
        self.respond(&request, &decoded)
    }

    async fn benchmark_binary_image(
        &self,
        request: Request<ImageBinaryRequest>,
    ) -> Result<Response<BasicResponse>, Status> {
        let decoded = Decoded::Image(request.get_ref().image.clone());
        self.respond(&request, &decoded)
    }
}

crate::server::grpc::message_limits!(GrpcBenchmarkApiServiceServer<StudyService>);

/// The study's service, refusing messages over `body_limit` bytes, ready to serve.
pub fn routes(study: Study, body_limit: usize) -> Routes {
    crate::server::grpc::routes(
        GrpcBenchmarkApiServiceServer::new(StudyService { study }),
        body_limit,
    )
}
