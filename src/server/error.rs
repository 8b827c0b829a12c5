//! The JSON body every servebench server's REST errors share.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// `{"code": 400, "type": "BadRequest", "message": "..."}`: the study server's errors and
/// TorchServe's alike.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The HTTP status code, repeated for clients that only see the body.
    pub code: u16,
    /// A stable name for the kind of error.
    #[serde(rename = "type")]
    pub kind: String,
    /// What went wrong, for a person.
    pub message: String,
}

impl ErrorBody {
    /// The body for `error` answered with `status`: its message is the whole chain of causes.
    pub fn of(status: StatusCode, kind: &str, error: &dyn std::error::Error) -> Self {
        Self { code: status.as_u16(), kind: kind.to_owned(), message: crate::error::chain(error) }
    }

    /// `error` answered with `status` and this body, as compact JSON.
    pub(crate) fn response(
        status: StatusCode,
        kind: &str,
        error: &dyn std::error::Error,
    ) -> Response {
        (status, Json(Self::of(status, kind, error))).into_response()
    }
}
