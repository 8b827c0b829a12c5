//! The study's REST server (axum): `POST /basic` and `/base64` take JSON, `POST /binary` takes
//! the raw image as the body. HTTP/1.1 and HTTP/2 cleartext (prior knowledge) share one listener.
//! Every error, unknown routes included, is a JSON [`ErrorBody`](crate::server::ErrorBody).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::{ServeError, Study};
use crate::codec::{json, raw};
use crate::messages::{BasicRequest, BasicResponse, ImageBase64Request};
use crate::server::{Body, BodyError};

/// The study's routes over `study`; the server's body limit is applied when it starts.
pub fn router(study: Study) -> Router {
    Router::new()
        .route("/basic", post(basic))
        .route("/base64", post(base64))
        .route("/binary", post(binary))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(Arc::new(study))
}

async fn basic(
    State(study): State<Arc<Study>>,
    body: Result<Body, BodyError>,
) -> Result<Response, ServeError> {
    let request: BasicRequest = json::decode(&body?.0)?;
    respond(study.basic(&request))
}

async fn base64(
    State(study): State<Arc<Study>>,
    body: Result<Body, BodyError>,
) -> Result<Response, ServeError> {
    let request: ImageBase64Request = json::decode(&body?.0)?;
    respond(study.base64(&request)?)
}

async fn binary(
    State(study): State<Arc<Study>>,
    body: Result<Body, BodyError>,
) -> Result<Response, ServeError> {
    respond(study.binary(&raw::decode(body?.0))?)
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
