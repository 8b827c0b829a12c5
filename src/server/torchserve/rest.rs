//! TorchServe's REST inference API: `GET /ping` answers `{"status": "Healthy"}`;
//! `POST /predictions/{model}` and `/predictions/{model}/{version}` take an image as the raw
//! body (`curl -T image.jpg`) or as a JSON string of base64 (what the study's client sent), and
//! answer the top-5 object. Every answer carries a `Server-Timing` header; errors are
//! TorchServe's `{"code", "type", "message"}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::ServedModel;
use crate::server::ErrorBody;
use crate::server::batching::BatchError;
use crate::timing::{self, Stage};
use crate::{codec, vision};

type Models = Arc<HashMap<String, ServedModel>>;

/// The routes over `models`, refusing bodies over `body_limit` bytes with 413.
pub fn router(models: Models, body_limit: usize) -> Router {
    Router::new()
        .route("/ping", get(ping))
        // `curl -T image.jpg` PUTs, and TorchServe's documentation uses exactly that.
        .route("/predictions/{model}", post(predict_latest).put(predict_latest))
        .route("/predictions/{model}/{version}", post(predict_version).put(predict_version))
        .method_not_allowed_fallback(|| async { PredictError::MethodNotAllowed })
        .fallback(
            |uri: axum::http::Uri| async move { PredictError::NoSuchPath(uri.path().to_owned()) },
        )
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(models)
}

async fn ping() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "Healthy"}))
}

async fn predict_latest(
    State(models): State<Models>,
    Path(model): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    predict(&models, &model, None, &headers, body).await.unwrap_or_else(IntoResponse::into_response)
}

async fn predict_version(
    State(models): State<Models>,
    Path((model, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    predict(&models, &model, Some(&version), &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn predict(
    models: &Models,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PredictError> {
    let model = models
        .get(name)
        .filter(|model| version.is_none_or(|version| version == model.version))
        .ok_or_else(|| {
            PredictError::ModelNotFound(match version {
                Some(version) => format!("{name}/{version}"),
                None => name.to_owned(),
            })
        })?;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => PredictError::TooLarge,
        _ => PredictError::BadRequest(rejection.body_text()),
    })?;
    let image = image_bytes(headers, body)?;
    let batched = model.batcher().submit(image)?.await?;
    let (prediction, mut timings) =
        batched.output.map_err(|error| PredictError::BadRequest(error.to_string()))?;
    timings.record(Stage::Queue, batched.queued);
    let body = timings
        .time(Stage::Encode, || serde_json::to_vec_pretty(&prediction))
        .map_err(|error| PredictError::Internal(error.to_string()))?;
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Ok(value) = HeaderValue::from_str(&timings.to_string()) {
        response.headers_mut().insert(timing::HEADER, value);
    }
    Ok(response)
}

/// The image in a request: a JSON string body is base64 text (as the study's client sent it),
/// anything else is the image itself.
fn image_bytes(headers: &HeaderMap, body: Bytes) -> Result<Bytes, PredictError> {
    if body.is_empty() {
        return Err(PredictError::BadRequest("the request has no body: send the image".to_owned()));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !is_json {
        return Ok(body);
    }
    let text: String = codec::json::decode(&body).map_err(|error| {
        PredictError::BadRequest(format!("a JSON body must be one base64 string: {error}"))
    })?;
    codec::base64::decode(text.as_bytes())
        .map_err(|error| PredictError::BadRequest(error.to_string()))
}

/// Why a prediction failed, as TorchServe reports it.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    /// No model (or version) by that name.
    #[error("Model not found: {0}")]
    ModelNotFound(String),
    /// The request carries no usable image.
    #[error("{0}")]
    BadRequest(String),
    /// The body is over the limit.
    #[error("request body is larger than the server's limit")]
    TooLarge,
    /// The model's queue is full.
    #[error("Model is overloaded: {0}")]
    Unavailable(String),
    /// No route for the path.
    #[error("Requested resource is not found: {0}")]
    NoSuchPath(String),
    /// The path exists, the method does not.
    #[error("Requested method is not allowed")]
    MethodNotAllowed,
    /// Something that is the server's fault.
    #[error("{0}")]
    Internal(String),
}

impl From<BatchError> for PredictError {
    fn from(error: BatchError) -> Self {
        match error {
            BatchError::QueueFull { .. } | BatchError::Closed => {
                Self::Unavailable(error.to_string())
            }
            BatchError::WorkerFailed(reason) => Self::Internal(reason),
        }
    }
}

impl From<vision::VisionError> for PredictError {
    fn from(error: vision::VisionError) -> Self {
        Self::BadRequest(error.to_string())
    }
}

impl IntoResponse for PredictError {
    fn into_response(self) -> Response {
        let (status, kind) = match &self {
            Self::ModelNotFound(_) => (StatusCode::NOT_FOUND, "ModelNotFoundException"),
            Self::NoSuchPath(_) => (StatusCode::NOT_FOUND, "ResourceNotFoundException"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowedException"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "BadRequestException"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLargeException"),
            Self::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailableException")
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException"),
        };
        let body =
            ErrorBody { code: status.as_u16(), kind: kind.to_owned(), message: self.to_string() };
        (status, Json(body)).into_response()
    }
}
