//! Request bodies under a limit, for every servebench REST server: [`limit`] caps a router's
//! bodies, and the [`Body`] extractor reads one whole, inflating a `Content-Encoding: gzip`
//! body under the same limit, and refuses it with a [`BodyError`] that each server turns into
//! its own error (413 when over the limit, 415 for an encoding it does not take).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ErrorBody;
use crate::codec::{CodecError, gzip};

/// The limit a router's bodies are held to, for its error messages.
#[derive(Clone, Copy, Debug)]
struct BodyLimit(usize);

/// `router` refusing bodies over `limit` bytes.
pub(crate) fn limit(router: axum::Router, limit: usize) -> axum::Router {
    router.layer(DefaultBodyLimit::max(limit)).layer(Extension(BodyLimit(limit)))
}

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is larger than the server takes.
    #[error("request body is larger than the server's limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read (for example, the connection broke off).
    #[error("could not read the request body")]
    Unreadable(#[source] BytesRejection),
    /// The body came in a `Content-Encoding` the server does not take (it takes gzip).
    #[error("unsupported content encoding {0:?}: the server takes gzip or none")]
    UnsupportedEncoding(String),
    /// The body said gzip and was not.
    #[error("the gzip body does not inflate")]
    Undecodable(#[source] CodecError),
}

impl BodyError {
    /// The HTTP status and the error body's `type`: 413 `PayloadTooLarge`, 400
    /// `BodyReadFailed`.
    pub(crate) fn http(&self) -> (StatusCode, &'static str) {
        match self {
            Self::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
            Self::Unreadable(_) | Self::Undecodable(_) => {
                (StatusCode::BAD_REQUEST, "BodyReadFailed")
            }
            Self::UnsupportedEncoding(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType")
            }
        }
    }
}

/// A handler that takes [`Body`] without its `Result` answers its rejection so: 413 or 400
/// with the [`ErrorBody`] JSON. servebench's handlers take the `Result` and answer in their
/// server's own words.
impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        let (status, kind) = self.http();
        ErrorBody::response(status, kind, &self)
    }
}

/// The whole request body, read under the limit the server applies to its router, and
/// inflated under it too when it came gzipped.
#[derive(Debug)]
pub struct Body(pub Bytes);

/// How a request body is encoded.
enum Encoding {
    Identity,
    Gzip,
}

impl Encoding {
    fn of(request: &Request) -> Result<Self, BodyError> {
        let Some(value) = request.headers().get(header::CONTENT_ENCODING) else {
            return Ok(Self::Identity);
        };
        let value = String::from_utf8_lossy(value.as_bytes()).trim().to_ascii_lowercase();
        match value.as_str() {
            "" | "identity" => Ok(Self::Identity),
            "gzip" | "x-gzip" => Ok(Self::Gzip),
            _ => Err(BodyError::UnsupportedEncoding(value)),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = BodyError;

    async fn from_request(request: Request, state: &S) -> Result<Self, BodyError> {
        let limit = request.extensions().get::<BodyLimit>().map_or(usize::MAX, |limit| limit.0);
        let encoding = Encoding::of(&request)?;
        let bytes = match Bytes::from_request(request, state).await {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(BodyError::TooLarge { limit });
            }
            Err(rejection) => return Err(BodyError::Unreadable(rejection)),
        };
        match encoding {
            Encoding::Identity => Ok(Self(bytes)),
            Encoding::Gzip => match gzip::decode(&bytes, limit) {
                Ok(inflated) => Ok(Self(inflated)),
                Err(CodecError::Inflated { limit }) => Err(BodyError::TooLarge { limit }),
                Err(error) => Err(BodyError::Undecodable(error)),
            },
        }
    }
}
