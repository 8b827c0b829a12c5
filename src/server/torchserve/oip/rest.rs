//! The Open Inference Protocol over REST, under `/v2`:
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/v2` | the server's name, version and extensions |
//! | GET | `/v2/health/live`, `/v2/health/ready` | `{"live": true}`, `{"ready": true}` |
//! | GET | `/v2/models/{m}[/versions/{v}]` | the model's metadata |
//! | GET | `/v2/models/{m}[/versions/{v}]/ready` | `{"name": m, "ready": true}` |
//! | POST | `/v2/models/{m}[/versions/{v}]/infer` | the inference |
//!
//! Inference bodies are JSON, with the binary tensor data extension (binary tensors after the
//! JSON, its length in `Inference-Header-Content-Length`); an answer with binary outputs says
//! the same header and is `application/octet-stream`. Every error is `{"error": "..."}`, with
//! 400 for a bad request, 404 for an unknown model, version or path, 413 over the body limit,
//! 503 when the model's queue is full. Answers carry `Server-Timing`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::super::{Models, PredictError};
use crate::codec::oip::rest::{self as codec, ErrorBody, HEADER_LENGTH, Live, ModelReady, Ready};
use crate::server::clock::{self, Clock};
use crate::server::{Body, BodyError};
use crate::timing::Stage;

/// The `/v2` routes over `models`, with their own fallbacks (OIP's error body, not
/// TorchServe's); the server's body limit (413 over it) is applied when it starts.
pub fn router(models: Arc<Models>) -> Router {
    let routes = Router::new()
        .route("/", get(server_metadata))
        .route("/health/live", get(|| async { axum::Json(Live { live: true }) }))
        .route("/health/ready", get(|| async { axum::Json(Ready { ready: true }) }))
        .route("/models/{model}", get(metadata))
        .route("/models/{model}/versions/{version}", get(metadata_version))
        .route("/models/{model}/ready", get(ready))
        .route("/models/{model}/versions/{version}/ready", get(ready_version))
        .route("/models/{model}/infer", post(infer))
        .route("/models/{model}/versions/{version}/infer", post(infer_version))
        .method_not_allowed_fallback(|| async { OipError(PredictError::MethodNotAllowed) })
        .fallback(|| async { OipError(PredictError::NoSuchPath) })
        .with_state(models);
    Router::new().nest("/v2", routes)
}

/// A failure as the protocol has REST say it: `{"error": "..."}` and the status.
pub struct OipError(pub PredictError);

impl From<PredictError> for OipError {
    fn from(error: PredictError) -> Self {
        Self(error)
    }
}

impl IntoResponse for OipError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = ErrorBody { error: crate::error::chain(&self.0) };
        (status, axum::Json(body)).into_response()
    }
}

async fn server_metadata() -> impl IntoResponse {
    axum::Json(super::server_metadata())
}

async fn metadata(State(models): State<Arc<Models>>, Path(model): Path<String>) -> Response {
    answer(models.metadata(&model, None).map(axum::Json))
}

async fn metadata_version(
    State(models): State<Arc<Models>>,
    Path((model, version)): Path<(String, String)>,
) -> Response {
    answer(models.metadata(&model, Some(&version)).map(axum::Json))
}

async fn ready(State(models): State<Arc<Models>>, Path(model): Path<String>) -> Response {
    answer(models.model(&model, None).map(|_| axum::Json(ModelReady { name: model, ready: true })))
}

async fn ready_version(
    State(models): State<Arc<Models>>,
    Path((model, version)): Path<(String, String)>,
) -> Response {
    let ready = models.model(&model, Some(&version));
    answer(ready.map(|_| axum::Json(ModelReady { name: model, ready: true })))
}

fn answer(result: Result<impl IntoResponse, PredictError>) -> Response {
    result.map_or_else(|error| OipError(error).into_response(), IntoResponse::into_response)
}

async fn infer(
    State(models): State<Arc<Models>>,
    Path(model): Path<String>,
    clock: Clock,
    headers: HeaderMap,
    body: Result<Body, BodyError>,
) -> Response {
    answer(infer_at(&models, &model, None, clock, &headers, body).await)
}

async fn infer_version(
    State(models): State<Arc<Models>>,
    Path((model, version)): Path<(String, String)>,
    clock: Clock,
    headers: HeaderMap,
    body: Result<Body, BodyError>,
) -> Response {
    answer(infer_at(&models, &model, Some(&version), clock, &headers, body).await)
}

async fn infer_at(
    models: &Models,
    name: &str,
    version: Option<&str>,
    clock: Clock,
    headers: &HeaderMap,
    body: Result<Body, BodyError>,
) -> Result<Response, PredictError> {
    let Body(body) = body?;
    let json_length = match headers.get(HEADER_LENGTH) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.parse::<usize>().ok())
                .ok_or(PredictError::HeaderLength)?,
        ),
    };
    let mut arrived = clock::received(clock.as_deref());
    // Reading the JSON and slicing out the tensors is this API's decoding.
    let request = arrived.time(Stage::Decode, || codec::decode_request(&body, json_length))?;
    let (response, mut timings) = super::infer(models, name, version, request, arrived).await?;
    let (body, json_length) = timings.time(Stage::Encode, || codec::encode_response(&response))?;
    let response = match json_length {
        None => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Some(length) => {
            let mut response =
                ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response();
            response.headers_mut().insert(HEADER_LENGTH, HeaderValue::from(length));
            response
        }
    };
    Ok(crate::server::timed(response, &timings))
}
