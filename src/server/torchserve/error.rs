//! The one place where the model server's errors become HTTP and gRPC statuses: TorchServe's
//! codes and bodies for its APIs; the same codes, in the Open Inference Protocol's
//! `{"error": ...}` body ([`super::oip::rest::OipError`]), for the OIP's.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::codec::CodecError;
use crate::codec::image_body::ImageBodyError;
use crate::codec::oip::{OipError, TensorError};
use crate::inference::InferenceError;
use crate::postprocess::PostprocessError;
use crate::server::batching::BatchError;
use crate::server::{BodyError, ErrorBody};
use crate::vision::VisionError;

/// Why a prediction failed, as TorchServe reports it. The message a client sees is the whole
/// chain of causes ([`crate::error::chain`]).
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    /// No model by that name.
    #[error("Model not found: {0}")]
    ModelNotFound(String),
    /// The model is served, not at that version.
    #[error("Model version: {version} does not exist for model: {model}")]
    ModelVersionNotFound {
        /// The model asked for.
        model: String,
        /// The version asked for.
        version: String,
    },
    /// The request carries no image at all.
    #[error("the request has no image: send one")]
    NoImage,
    /// A gRPC request without the image's input.
    #[error("the request has no input named data or body (it has {0:?})")]
    NoInput(Vec<String>),
    /// A REST body with no image in it: a form without the field, JSON that is not one base64
    /// string, a form or base64 that does not parse.
    #[error(transparent)]
    ImageBody(#[from] ImageBodyError),
    /// The image does not decode.
    #[error(transparent)]
    Image(#[from] VisionError),
    /// The body is over the limit, or could not be read.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The model's queue is full, or it is shutting down.
    #[error("Model is overloaded")]
    Unavailable(#[source] BatchError),
    /// No route for the path (TorchServe's message does not repeat it).
    #[error("Requested resource is not found, please refer to API document.")]
    NoSuchPath,
    /// The path exists, the method does not.
    #[error("Requested method is not allowed")]
    MethodNotAllowed,
    /// The model failed on the request's batch: the server's fault, not the request's.
    #[error("the model failed on this request's batch")]
    Inference(#[source] Arc<InferenceError>),
    /// The model's scores did not make an answer.
    #[error("the model's scores make no answer")]
    Postprocess(#[source] PostprocessError),
    /// The answer could not be written.
    #[error("the answer could not be written")]
    Encode(#[source] CodecError),
    /// The worker gave no answer for the request's batch (it panicked).
    #[error("the model's worker failed")]
    Worker(#[source] BatchError),
    /// An Open Inference Protocol message that does not read (malformed JSON, a tensor not
    /// what its header says, binary data that does not add up).
    #[error("the inference request does not read")]
    Oip(#[from] OipError),
    /// An OIP request whose inputs are not what the model takes.
    #[error(
        "the model takes one input, `image` (BYTES, [N]: encoded images) or `tensor` (FP32, \
         [N, 3, 224, 224]: preprocessed images); the request has {0}"
    )]
    OipInput(String),
    /// An OIP request for an output the model does not have.
    #[error("the model has one output, `scores`; there is no `{0}`")]
    UnknownOutput(String),
    /// An `Inference-Header-Content-Length` that is not a byte count.
    #[error("the Inference-Header-Content-Length header is not a byte count")]
    HeaderLength,
}

impl From<TensorError> for PredictError {
    fn from(error: TensorError) -> Self {
        Self::Oip(error.into())
    }
}

impl From<BatchError> for PredictError {
    fn from(error: BatchError) -> Self {
        match error {
            BatchError::QueueFull { .. } | BatchError::Closed => Self::Unavailable(error),
            BatchError::WorkerFailed(_) => Self::Worker(error),
        }
    }
}

impl PredictError {
    /// The HTTP status for the error, whichever API.
    pub fn status(&self) -> StatusCode {
        self.http().0
    }

    /// TorchServe's HTTP status and exception name for the error.
    fn http(&self) -> (StatusCode, &'static str) {
        match self {
            Self::ModelNotFound(_) => (StatusCode::NOT_FOUND, "ModelNotFoundException"),
            Self::ModelVersionNotFound { .. } => {
                (StatusCode::NOT_FOUND, "ModelVersionNotFoundException")
            }
            Self::NoSuchPath => (StatusCode::NOT_FOUND, "ResourceNotFoundException"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowedException"),
            Self::Body(BodyError::TooLarge { .. }) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLargeException")
            }
            Self::NoImage
            | Self::NoInput(_)
            | Self::ImageBody(_)
            | Self::Image(_)
            | Self::Oip(_)
            | Self::OipInput(_)
            | Self::UnknownOutput(_)
            | Self::HeaderLength
            | Self::Body(BodyError::Unreadable(_) | BodyError::Undecodable(_)) => {
                (StatusCode::BAD_REQUEST, "BadRequestException")
            }
            Self::Body(BodyError::TooSlow(_)) => {
                (StatusCode::REQUEST_TIMEOUT, "RequestTimeoutException")
            }
            Self::Body(BodyError::UnsupportedEncoding(_)) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaTypeException")
            }
            Self::Unavailable(_) | Self::Body(BodyError::OverBudget(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailableException")
            }
            Self::Inference(_) | Self::Postprocess(_) | Self::Encode(_) | Self::Worker(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException")
            }
        }
    }
}

impl IntoResponse for PredictError {
    fn into_response(self) -> Response {
        let (status, kind) = self.http();
        let body = ErrorBody::of(status, kind, &self);
        // As TorchServe's frontend writes it: pretty-printed, two spaces, a newline after.
        let mut json = serde_json::to_vec_pretty(&body).expect("strings and a number serialize");
        json.push(b'\n');
        (status, [(header::CONTENT_TYPE, "application/json")], json).into_response()
    }
}

/// TorchServe's gRPC codes: the caller's mistakes are `INVALID_ARGUMENT` and `NOT_FOUND`, a full
/// queue is `UNAVAILABLE` (retry later), an oversized body `RESOURCE_EXHAUSTED`, the server's
/// own failures `INTERNAL`.
impl From<PredictError> for tonic::Status {
    fn from(error: PredictError) -> Self {
        let message = crate::error::chain(&error);
        match error.http().0 {
            StatusCode::NOT_FOUND => Self::not_found(message),
            StatusCode::BAD_REQUEST => Self::invalid_argument(message),
            StatusCode::PAYLOAD_TOO_LARGE => Self::resource_exhausted(message),
            StatusCode::SERVICE_UNAVAILABLE => Self::unavailable(message),
            StatusCode::METHOD_NOT_ALLOWED => Self::unimplemented(message),
            _ => Self::internal(message),
        }
    }
}
