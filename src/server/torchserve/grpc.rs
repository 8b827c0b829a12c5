//! TorchServe's gRPC inference API: `org.pytorch.serve.grpc.inference.InferenceAPIsService`
//! with `Ping`, `Predictions` and `StreamPredictions`. The image is the `data` (or `body`)
//! input; `prediction` holds the same JSON bytes REST answers, and the response metadata
//! carries `server-timing` with the same value as REST's header.

use std::sync::Arc;

use tonic::service::Routes;
use tonic::{Request, Response, Status};

use super::{HEALTHY, INPUT_NAMES, Models, PredictError, Predicted};
use crate::messages::torchserve::inference_ap_is_service_server::{
    InferenceApIsService, InferenceApIsServiceServer,
};
use crate::messages::torchserve::{
    PredictionResponse, PredictionsRequest, TorchServeHealthResponse,
};
use crate::server::clock::{self, RequestClock};

/// The service over the served models.
pub struct InferenceService {
    models: Arc<Models>,
}

impl InferenceService {
    /// Answers one request. Its image is a field of the message tonic has already decoded (in
    /// nanoseconds, as `codec/protobuf_decode/binary_*` shows): nothing to add to `decode`.
    async fn predict(
        &self,
        request: Request<PredictionsRequest>,
    ) -> Result<Response<PredictionResponse>, Status> {
        let arrived = clock::received(request.extensions().get::<RequestClock>());
        let PredictionsRequest { model_name, model_version, mut input, sequence_id } =
            request.into_inner();
        let image = INPUT_NAMES
            .iter()
            .find_map(|name| input.remove(*name))
            .ok_or_else(|| PredictError::NoInput(input.keys().cloned().collect()))?;
        let version = Some(model_version.as_str()).filter(|version| !version.is_empty());
        let Predicted { body, timings } =
            self.models.predict(&model_name, version, image, arrived).await?;
        let response =
            Response::new(PredictionResponse { prediction: body, sequence_id, status: None });
        Ok(crate::server::grpc::timed(response, &timings))
    }
}

#[tonic::async_trait]
impl InferenceApIsService for InferenceService {
    async fn ping(&self, _: Request<()>) -> Result<Response<TorchServeHealthResponse>, Status> {
        Ok(Response::new(TorchServeHealthResponse { health: HEALTHY.to_owned() }))
    }

    async fn predictions(
        &self,
        request: Request<PredictionsRequest>,
    ) -> Result<Response<PredictionResponse>, Status> {
        self.predict(request).await
    }

    type StreamPredictionsStream = tokio_stream::Once<Result<PredictionResponse, Status>>;

    /// An image classifier has one answer, so the stream holds exactly it; the timings are in
    /// the response's initial metadata.
    async fn stream_predictions(
        &self,
        request: Request<PredictionsRequest>,
    ) -> Result<Response<Self::StreamPredictionsStream>, Status> {
        let (metadata, answer, extensions) = self.predict(request).await?.into_parts();
        Ok(Response::from_parts(metadata, tokio_stream::once(Ok(answer)), extensions))
    }
}

crate::server::grpc::message_limits!(InferenceApIsServiceServer<InferenceService>);

/// The inference API over `models`, refusing messages over `body_limit` bytes, ready to serve.
pub fn routes(models: Arc<Models>, body_limit: usize) -> Routes {
    crate::server::grpc::routes(
        InferenceApIsServiceServer::new(InferenceService { models }),
        body_limit,
    )
}
