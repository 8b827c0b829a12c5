//! The Open Inference Protocol over gRPC: `inference.GRPCInferenceService` with ServerLive,
//! ServerReady, ModelReady, ServerMetadata, ModelMetadata and ModelInfer. Inputs come as raw
//! contents or typed contents; the outputs go back the same way. The response metadata carries
//! `server-timing`, as TorchServe's gRPC API's does.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::super::{Models, PredictError};
use crate::codec::oip::grpc::{self as codec, Received};
use crate::codec::oip::{ModelMetadata, ServerMetadata};
use crate::messages::inference::grpc_inference_service_server::{
    GrpcInferenceService, GrpcInferenceServiceServer,
};
use crate::messages::inference::model_metadata_response::TensorMetadata;
use crate::messages::inference::{
    ModelInferRequest, ModelInferResponse, ModelMetadataRequest, ModelMetadataResponse,
    ModelReadyRequest, ModelReadyResponse, ServerLiveRequest, ServerLiveResponse,
    ServerMetadataRequest, ServerMetadataResponse, ServerReadyRequest, ServerReadyResponse,
};
use crate::server::clock::{self, RequestClock};
use crate::timing::Stage;

/// The service over the served models.
pub struct InferenceService {
    models: Arc<Models>,
}

/// The version asked for: none when empty.
fn version(version: &str) -> Option<&str> {
    Some(version).filter(|version| !version.is_empty())
}

#[tonic::async_trait]
impl GrpcInferenceService for InferenceService {
    async fn server_live(
        &self,
        _: Request<ServerLiveRequest>,
    ) -> Result<Response<ServerLiveResponse>, Status> {
        Ok(Response::new(ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<ServerReadyRequest>,
    ) -> Result<Response<ServerReadyResponse>, Status> {
        Ok(Response::new(ServerReadyResponse { ready: true }))
    }

    async fn model_ready(
        &self,
        request: Request<ModelReadyRequest>,
    ) -> Result<Response<ModelReadyResponse>, Status> {
        let ModelReadyRequest { name, version: asked } = request.into_inner();
        self.models.model(&name, version(&asked))?;
        Ok(Response::new(ModelReadyResponse { ready: true }))
    }

    async fn server_metadata(
        &self,
        _: Request<ServerMetadataRequest>,
    ) -> Result<Response<ServerMetadataResponse>, Status> {
        let ServerMetadata { name, version, extensions } = super::server_metadata();
        Ok(Response::new(ServerMetadataResponse { name, version, extensions }))
    }

    async fn model_metadata(
        &self,
        request: Request<ModelMetadataRequest>,
    ) -> Result<Response<ModelMetadataResponse>, Status> {
        let ModelMetadataRequest { name, version: asked } = request.into_inner();
        let ModelMetadata { name, versions, platform, inputs, outputs } =
            self.models.metadata(&name, version(&asked))?;
        let tensors = |tensors: Vec<crate::codec::oip::TensorMetadata>| {
            let tensors = tensors.into_iter();
            tensors.map(|t| TensorMetadata { name: t.name, datatype: t.datatype, shape: t.shape })
        };
        Ok(Response::new(ModelMetadataResponse {
            name,
            versions,
            platform,
            inputs: tensors(inputs).collect(),
            outputs: tensors(outputs).collect(),
        }))
    }

    /// The message's tensors are fields tonic has already decoded; slicing them out is this
    /// API's `decode`.
    async fn model_infer(
        &self,
        request: Request<ModelInferRequest>,
    ) -> Result<Response<ModelInferResponse>, Status> {
        let mut arrived = clock::received(request.extensions().get::<RequestClock>());
        let message = request.into_inner();
        let Received { model_name, model_version, request, raw } = arrived
            .time(Stage::Decode, || codec::decode_request(message))
            .map_err(PredictError::from)?;
        let (response, mut timings) =
            super::infer(&self.models, &model_name, version(&model_version), request, arrived)
                .await?;
        let response = timings
            .time(Stage::Encode, || codec::encode_response(response, raw))
            .map_err(PredictError::from)?;
        Ok(crate::server::grpc::timed(Response::new(response), &timings))
    }
}

crate::server::grpc::message_limits!(GrpcInferenceServiceServer<InferenceService>);

/// The service over `models`, refusing messages over `body_limit` bytes, for the model
/// server's gRPC routes.
pub fn service(
    models: Arc<Models>,
    body_limit: usize,
) -> GrpcInferenceServiceServer<InferenceService> {
    use crate::server::grpc::MessageLimits as _;
    GrpcInferenceServiceServer::new(InferenceService { models }).limited(body_limit)
}
