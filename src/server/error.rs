//! The one place where serving errors become HTTP and gRPC statuses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::codec::CodecError;

/// Why a request was refused. Every variant is the client's doing; the server keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The body or message did not parse (JSON, protobuf or base64).
    #[error(transparent)]
    Malformed(#[from] CodecError),
    /// The request parsed but carried an empty image.
    #[error("the request carries no image")]
    EmptyImage,
    /// The body was larger than the server's limit.
    #[error("request body is larger than the server's limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read (for example, the connection broke off).
    #[error("could not read the request body: {0}")]
    Body(String),
    /// No such path.
    #[error("no route for {0}")]
    NotFound(String),
    /// The path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
}

/// The JSON body of every REST error: `{"code": 400, "type": "BadRequest", "message": "..."}`.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct ErrorBody {
    /// The HTTP status code, repeated for clients that only see the body.
    pub code: u16,
    /// A stable name for the kind of error.
    #[serde(rename = "type")]
    pub kind: String,
    /// What went wrong, for a person.
    pub message: String,
}

impl ServeError {
    fn http_status(&self) -> StatusCode {
        match self {
            Self::Malformed(_) | Self::EmptyImage | Self::Body(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "MalformedRequest",
            Self::EmptyImage => "EmptyImage",
            Self::TooLarge { .. } => "PayloadTooLarge",
            Self::Body(_) => "BodyReadFailed",
            Self::NotFound(_) => "NotFound",
            Self::MethodNotAllowed => "MethodNotAllowed",
        }
    }
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let status = self.http_status();
        let body = ErrorBody {
            code: status.as_u16(),
            kind: self.kind().to_owned(),
            message: self.to_string(),
        };
        (status, Json(body)).into_response()
    }
}

impl From<ServeError> for tonic::Status {
    fn from(error: ServeError) -> Self {
        let message = error.to_string();
        match error {
            ServeError::Malformed(_) | ServeError::EmptyImage | ServeError::Body(_) => {
                Self::invalid_argument(message)
            }
            ServeError::TooLarge { .. } => Self::resource_exhausted(message),
            ServeError::NotFound(_) | ServeError::MethodNotAllowed => Self::unimplemented(message),
        }
    }
}
