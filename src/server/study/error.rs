//! The one place where the study servers' errors become HTTP and gRPC statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::codec::CodecError;
use crate::server::{BodyError, ErrorBody};

/// Why a request was refused. Every variant is the client's doing; the server keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The body or message did not parse (JSON, protobuf or base64).
    #[error(transparent)]
    Malformed(#[from] CodecError),
    /// The request parsed but carried an empty image.
    #[error("the request carries no image")]
    EmptyImage,
    /// The body was over the limit, or could not be read.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// No such path.
    #[error("no route for {0}")]
    NotFound(String),
    /// The path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
}

impl ServeError {
    /// The HTTP status and the body's `type`.
    fn http(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Malformed(_) => (StatusCode::BAD_REQUEST, "MalformedRequest"),
            Self::EmptyImage => (StatusCode::BAD_REQUEST, "EmptyImage"),
            Self::Body(error) => error.http(),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
        }
    }
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let (status, kind) = self.http();
        ErrorBody::response(status, kind, &self)
    }
}

impl From<ServeError> for tonic::Status {
    fn from(error: ServeError) -> Self {
        let message = crate::error::chain(&error);
        match error {
            ServeError::Body(BodyError::TooLarge { .. }) => Self::resource_exhausted(message),
            ServeError::Malformed(_) | ServeError::EmptyImage | ServeError::Body(_) => {
                Self::invalid_argument(message)
            }
            ServeError::NotFound(_) | ServeError::MethodNotAllowed => Self::unimplemented(message),
        }
    }
}
