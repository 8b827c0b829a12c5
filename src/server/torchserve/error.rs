//! The one place where the model server's errors become TorchServe's HTTP and gRPC statuses.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::codec::CodecError;
use crate::server::ErrorBody;
use crate::server::batching::BatchError;
use crate::vision;

/// Why a prediction failed, as TorchServe reports it.
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
    /// The request carries no usable image.
    #[error("{0}")]
    BadRequest(String),
    /// The body is over the limit.
    #[error("request body is larger than the server's limit")]
    TooLarge,
    /// The model's queue is full.
    #[error("Model is overloaded: {0}")]
    Unavailable(String),
    /// No route for the path (TorchServe's message does not repeat it).
    #[error("Requested resource is not found, please refer to API document.")]
    NoSuchPath,
    /// The path exists, the method does not.
    #[error("Requested method is not allowed")]
    MethodNotAllowed,
    /// Something that is the server's fault.
    #[error("{0}")]
    Internal(String),
}

impl From<BatchError> for PredictError {
    fn from(error: BatchError) -> Self {
        match error {
            BatchError::QueueFull { .. } | BatchError::Closed => {
                Self::Unavailable(error.to_string())
            }
            BatchError::WorkerFailed(reason) => Self::Internal(reason),
        }
    }
}

impl From<CodecError> for PredictError {
    fn from(error: CodecError) -> Self {
        Self::BadRequest(error.to_string())
    }
}

impl From<vision::VisionError> for PredictError {
    fn from(error: vision::VisionError) -> Self {
        Self::BadRequest(error.to_string())
    }
}

impl IntoResponse for PredictError {
    fn into_response(self) -> Response {
        let (status, kind) = match &self {
            Self::ModelNotFound(_) => (StatusCode::NOT_FOUND, "ModelNotFoundException"),
            Self::ModelVersionNotFound { .. } => {
                (StatusCode::NOT_FOUND, "ModelVersionNotFoundException")
            }
            Self::NoSuchPath => (StatusCode::NOT_FOUND, "ResourceNotFoundException"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowedException"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "BadRequestException"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLargeException"),
            Self::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailableException")
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException"),
        };
        let body =
            ErrorBody { code: status.as_u16(), kind: kind.to_owned(), message: self.to_string() };
        // As TorchServe's frontend writes it: pretty-printed, two spaces, a newline after.
        let mut json = serde_json::to_vec_pretty(&body).expect("strings and a number serialize");
        json.push(b'\n');
        (status, [(header::CONTENT_TYPE, "application/json")], json).into_response()
    }
}

/// TorchServe's gRPC codes: the caller's mistakes are `INVALID_ARGUMENT` and `NOT_FOUND`, a full
/// queue is `UNAVAILABLE` (retry later), an oversized body `RESOURCE_EXHAUSTED`.
impl From<PredictError> for tonic::Status {
    fn from(error: PredictError) -> Self {
        let message = error.to_string();
        match error {
            PredictError::ModelNotFound(_)
            | PredictError::ModelVersionNotFound { .. }
            | PredictError::NoSuchPath => Self::not_found(message),
            PredictError::BadRequest(_) => Self::invalid_argument(message),
            PredictError::TooLarge => Self::resource_exhausted(message),
            PredictError::Unavailable(_) => Self::unavailable(message),
            PredictError::MethodNotAllowed => Self::unimplemented(message),
            PredictError::Internal(_) => Self::internal(message),
        }
    }
}
