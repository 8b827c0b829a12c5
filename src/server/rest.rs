//! The study's REST server (axum): `POST /basic` and `/base64` take JSON, `POST /binary` takes
//! the raw image as the body. HTTP/1.1 and HTTP/2 cleartext (prior knowledge) share one listener.
//! Every error, unknown routes included, is a JSON [`ErrorBody`](super::ErrorBody).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::{ServeError, Study};
use crate::codec::{json, raw};
use crate::messages::{BasicRequest, BasicResponse, ImageBase64Request};

/// What every handler sees.
#[derive(Debug)]
pub struct RestState {
    study: Study,
    body_limit: usize,
}

/// The study's routes over `study`, refusing bodies over `body_limit` bytes with 413.
pub fn router(study: Study, body_limit: usize) -> Router {
    let state = Arc::new(RestState { study, body_limit });
    Router::new()
        .route("/basic", post(basic))
        .route("/base64", post(base64))
        .route("/binary", post(binary))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn basic(
    State(state): State<Arc<RestState>>,
    Body(body): Body,
) -> Result<Response, ServeError> {
    let request: BasicRequest = json::decode(&body)?;
    respond(state.study.basic(&request))
}

async fn base64(
    State(state): State<Arc<RestState>>,
    Body(body): Body,
) -> Result<Response, ServeError> {
    let request: ImageBase64Request = json::decode(&body)?;
    respond(state.study.base64(&request)?)
}

async fn binary(
    State(state): State<Arc<RestState>>,
    Body(body): Body,
) -> Result<Response, ServeError> {
    respond(state.study.binary(&raw::decode(body))?)
}

fn respond(answer: &BasicResponse) -> Result<Response, ServeError> {
    let body = json::encode(answer)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn not_found(uri: Uri) -> ServeError {
    ServeError::NotFound(uri.path().to_owned())
}

async fn method_not_allowed() -> ServeError {
    ServeError::MethodNotAllowed
}

/// The whole request body, with axum's rejections turned into [`ServeError`]s.
struct Body(Bytes);

impl FromRequest<Arc<RestState>> for Body {
    type Rejection = ServeError;

    async fn from_request(request: Request, state: &Arc<RestState>) -> Result<Self, ServeError> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Self(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ServeError::TooLarge { limit: state.body_limit })
            }
            Err(rejection) => Err(ServeError::Body(rejection.body_text())),
        }
    }
}
