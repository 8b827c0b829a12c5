//! TorchServe's REST inference API: `GET /ping` answers `{"status": "Healthy"}`;
//! `POST` (or `PUT`) `/predictions/{model}` and `/predictions/{model}/{version}` take the image
//! as the raw body (`curl -T image.jpg`), as a multipart form field `data` (or `body`), or as a
//! JSON string of base64 (what the study's client sent), and answer the top-5 object. Every
//! answer carries a `Server-Timing` header; errors are TorchServe's `{"code", "type", "message"}`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::{HEALTHY, Models, PredictError};
use crate::codec;
use crate::server::clock::{self, Clock};
use crate::server::{Body, BodyError};
use crate::timing::Stage;

/// The routes over `models`; the server's body limit (413 over it) is applied when it starts.
pub fn router(models: Arc<Models>) -> Router {
    Router::new()
        .route("/ping", get(ping))
        // `curl -T image.jpg` PUTs, and TorchServe's documentation uses exactly that.
        .route("/predictions/{model}", post(predict_latest).put(predict_latest))
        .route("/predictions/{model}/{version}", post(predict_version).put(predict_version))
        .method_not_allowed_fallback(|| async { PredictError::MethodNotAllowed })
        .fallback(|| async { PredictError::NoSuchPath })
        .with_state(models)
}

async fn ping() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], format!("{HEALTHY}\n"))
}

async fn predict_latest(
    State(models): State<Arc<Models>>,
    Path(model): Path<String>,
    clock: Clock,
    headers: HeaderMap,
    body: Result<Body, BodyError>,
) -> Response {
    predict(&models, &model, None, clock, &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn predict_version(
    State(models): State<Arc<Models>>,
    Path((model, version)): Path<(String, String)>,
    clock: Clock,
    headers: HeaderMap,
    body: Result<Body, BodyError>,
) -> Response {
    predict(&models, &model, Some(&version), clock, &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn predict(
    models: &Models,
    name: &str,
    version: Option<&str>,
    clock: Clock,
    headers: &HeaderMap,
    body: Result<Body, BodyError>,
) -> Result<Response, PredictError> {
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let Body(body) = body?;
    let mut arrived = clock::received(clock.as_deref());
    // Unwrapping the image (base64, a form) is decoding too: it counts under `decode`.
    let image = arrived.time(Stage::Decode, || codec::image_body::decode(content_type, body))?;
    let predicted = models.predict(name, version, image, arrived).await?;
    let response = ([(header::CONTENT_TYPE, "application/json")], predicted.body).into_response();
    Ok(crate::server::timed(response, &predicted.timings))
}
