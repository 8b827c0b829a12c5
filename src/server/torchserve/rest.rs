//! TorchServe's REST inference API: `GET /ping` answers `{"status": "Healthy"}`;
//! `POST` (or `PUT`) `/predictions/{model}` and `/predictions/{model}/{version}` take the image
//! as the raw body (`curl -T image.jpg`), as a multipart form field `data` (or `body`), or as a
//! JSON string of base64 (what the study's client sent), and answer the top-5 object. Every
//! answer carries a `Server-Timing` header; errors are TorchServe's `{"code", "type", "message"}`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::{HEALTHY, INPUT_NAMES, Models, PredictError};
use crate::codec;
use crate::timing;

/// The routes over `models`, refusing bodies over `body_limit` bytes with 413.
pub fn router(models: Arc<Models>, body_limit: usize) -> Router {
    Router::new()
        .route("/ping", get(ping))
        // `curl -T image.jpg` PUTs, and TorchServe's documentation uses exactly that.
        .route("/predictions/{model}", post(predict_latest).put(predict_latest))
        .route("/predictions/{model}/{version}", post(predict_version).put(predict_version))
        .method_not_allowed_fallback(|| async { PredictError::MethodNotAllowed })
        .fallback(|| async { PredictError::NoSuchPath })
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(models)
}

async fn ping() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], format!("{HEALTHY}\n"))
}

async fn predict_latest(
    State(models): State<Arc<Models>>,
    Path(model): Path<String>,
    request: Request,
) -> Response {
    predict(&models, &model, None, request).await.unwrap_or_else(IntoResponse::into_response)
}

async fn predict_version(
    State(models): State<Arc<Models>>,
    Path((model, version)): Path<(String, String)>,
    request: Request,
) -> Response {
    predict(&models, &model, Some(&version), request)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn predict(
    models: &Models,
    name: &str,
    version: Option<&str>,
    request: Request,
) -> Result<Response, PredictError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body =
        Bytes::from_request(request, &()).await.map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => PredictError::TooLarge,
            _ => PredictError::BadRequest(rejection.body_text()),
        })?;
    // Unwrapping the image (base64, a form) is decoding too: it counts under `decode`.
    let started = Instant::now();
    let image = image_bytes(&content_type, body)?;
    let predicted = models.predict(name, version, image, started.elapsed()).await?;
    let mut response =
        ([(header::CONTENT_TYPE, "application/json")], predicted.body).into_response();
    if let Ok(value) = HeaderValue::from_str(&predicted.timings.to_string()) {
        response.headers_mut().insert(timing::HEADER, value);
    }
    Ok(response)
}

/// The image in a body, by its content type: a multipart form's `data` (or `body`) field, a
/// JSON string of base64 text, or else the body itself.
fn image_bytes(content_type: &str, body: Bytes) -> Result<Bytes, PredictError> {
    // Media types compare without case; the boundary parameter keeps its case.
    let media_type = content_type.to_ascii_lowercase();
    if body.is_empty() {
        return Ok(body);
    }
    if media_type.starts_with("multipart/form-data") {
        let parts = codec::multipart::decode(content_type, &body)?;
        return INPUT_NAMES
            .iter()
            .find_map(|name| parts.iter().find(|part| part.name.as_deref() == Some(name)))
            .map(|part| part.data.clone())
            .ok_or_else(|| {
                PredictError::BadRequest("the form has no field named data or body".to_owned())
            });
    }
    if !media_type.starts_with("application/json") {
        return Ok(body);
    }
    let text: String = codec::json::decode(&body).map_err(|error| {
        PredictError::BadRequest(format!("a JSON body must be one base64 string: {error}"))
    })?;
    Ok(codec::base64::decode(text.as_bytes())?)
}
