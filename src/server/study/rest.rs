//! The study's REST server (axum): `POST /basic` and `/base64` take JSON, `POST /binary` takes
//! the raw image as the body. HTTP/1.1 and HTTP/2 cleartext (prior knowledge) share one listener.
//! Every error, unknown routes included, is a JSON [`ErrorBody`](crate::server::ErrorBody).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::{Decoded, ServeError, Study};
use crate::codec::{json, raw};
use crate::messages::{BasicRequest, ImageBase64Request};
use crate::server::clock::Clock;
use crate::server::{Body, BodyError};
use crate::timing::Stage;

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
    clock: Clock,
    body: Result<Body, BodyError>,
) -> Result<Response, ServeError> {
    let _: BasicRequest = json::decode(&body?.0)?;
    respond(&study, &Decoded::Basic, clock)
}

async fn base64(
    State(study): State<Arc<Study>>,
    clock: Clock,
    body: Result<Body, BodyError>,
) -> Result<Response, ServeError> {
    let request: ImageBase64Request = json::decode(&body?.0)?;
    respond(&study, &Decoded::base64(&request)?, clock)
}

async fn binary(
    State(study): State<Arc<Study>>,
    clock: Clock,
    body: Result<Body, BodyError>,
) -> Result<Response, ServeError> {
    respond(&study, &Decoded::Image(raw::decode(body?.0).image), clock)
}

/// The answer as JSON, with the request's stages in `server-timing`.
fn respond(study: &Study, request: &Decoded, clock: Clock) -> Result<Response, ServeError> {
    let (answer, mut timings) = study.answer(request, clock.as_deref())?;
    let body = timings.time(Stage::Encode, || json::encode(answer))?;
    let response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    Ok(crate::server::timed(response, &timings))
}

async fn not_found(uri: Uri) -> ServeError {
    ServeError::NotFound(uri.path().to_owned())
}

async fn method_not_allowed() -> ServeError {
    ServeError::MethodNotAllowed
}
