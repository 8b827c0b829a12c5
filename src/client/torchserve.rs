//! Clients of a model server's routes (servebench's model server, a real TorchServe, Triton):
//! TorchServe's inference APIs, where the image goes as a raw body, a multipart form or base64
//! JSON over HTTP/1.1 or HTTP/2, or as gRPC's `data` input; and the Open Inference Protocol's
//! ([`super::oip`]). Every call returns a [`Reply`]: the answer with both sides' timings, the
//! client's and the server's (its `Server-Timing` header or metadata, empty when the server
//! sends none, as TorchServe does not).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::Uri;
use tonic::transport::Channel;

use super::oip::OipClient;
use super::{ClientError, Reply, grpc, rest};
use crate::codec::oip::InferResponse;
use crate::codec::{base64, json, multipart};
use crate::messages::torchserve::PredictionsRequest;
use crate::messages::torchserve::inference_ap_is_service_client::InferenceApIsServiceClient;
use crate::timing;
use crate::transport::{Body, DEFAULT_BODY_LIMIT, GRPC_PREFIX, Route, Target, TransportConfig};

/// A connected client of one model over one route. Cloning is cheap and shares the connections.
#[derive(Clone, Debug)]
pub struct ModelClient {
    route: Route,
    model: Arc<str>,
    transport: Arc<Transport>,
}

// One per client, behind an `Arc`: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Transport {
    Rest { client: rest::HttpClient, uri: Uri, body: Body },
    Grpc(InferenceApIsServiceClient<Channel>),
    Oip(OipClient),
}

/// A model server's answer, as the route's API gives it.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelAnswer {
    /// TorchServe's: the top classes' probabilities by label, as JSON.
    TorchServe(serde_json::Value),
    /// The Open Inference Protocol's: the `scores` output.
    Oip(InferResponse),
}

impl ModelAnswer {
    /// TorchServe's JSON answer; none for the Open Inference Protocol's.
    pub fn torchserve(&self) -> Option<&serde_json::Value> {
        match self {
            Self::TorchServe(answer) => Some(answer),
            Self::Oip(_) => None,
        }
    }
}

impl ModelClient {
    /// Connects to model `model` of the server at `target` over `route`.
    pub async fn connect(route: Route, target: &Target, model: &str) -> Result<Self, ClientError> {
        let url = target.url(route.protocol());
        let transport = match route {
            Route::Rest(version, body) => Transport::Rest {
                client: rest::http_client(version, TransportConfig::default()),
                uri: rest::endpoint(url, &format!("/predictions/{model}"))?,
                body,
            },
            Route::Grpc => Transport::Grpc(
                InferenceApIsServiceClient::new(
                    grpc::channel(url, TransportConfig::default()).await?,
                )
                .max_decoding_message_size(DEFAULT_BODY_LIMIT)
                .max_encoding_message_size(DEFAULT_BODY_LIMIT),
            ),
            Route::Oip(api, input) => {
                Transport::Oip(OipClient::connect(api, input, target, model).await?)
            }
        };
        Ok(Self { route, model: model.into(), transport: Arc::new(transport) })
    }

    /// The route it sends by.
    pub fn route(&self) -> Route {
        self.route
    }

    /// Sends `image` for prediction and reads the answer, timing each client stage.
    pub async fn predict(&self, image: &Bytes) -> Result<Reply<ModelAnswer>, ClientError> {
        let started = Instant::now();
        let answer = match &*self.transport {
            Transport::Rest { client, uri, body } => {
                let (content_type, body) = rest_body(*body, image)?;
                let encoded = Instant::now();
                let (headers, body) = rest::post(client, uri, &content_type, &[], body).await?;
                let received = Instant::now();
                let server = headers.get(timing::HEADER).map(|value| value.to_str());
                Reply::cut(json::decode(&body)?, server, [started, encoded, received])
            }
            Transport::Grpc(client) => {
                let request = grpc_request(&self.model, image);
                let encoded = Instant::now();
                let response = client.clone().predictions(request).await?;
                let received = Instant::now();
                let (metadata, response, _) = response.into_parts();
                let server = metadata.get(timing::HEADER).map(|value| value.to_str());
                Reply::cut(
                    json::decode(&response.prediction)?,
                    server,
                    [started, encoded, received],
                )
            }
            Transport::Oip(client) => {
                let Reply { answer, client, server } = client.infer(image).await?;
                return Ok(Reply { answer: ModelAnswer::Oip(answer), client, server });
            }
        };
        let Reply { answer, client, server } = answer;
        Ok(Reply { answer: ModelAnswer::TorchServe(answer), client, server })
    }

    /// Sends `image` `concurrency` times at once, as tasks on the current runtime, and returns
    /// every reply: the study's unit of measurement (it used 20).
    pub async fn predict_concurrent(
        &self,
        image: &Bytes,
        concurrency: usize,
    ) -> Result<Vec<Reply<ModelAnswer>>, ClientError> {
        super::concurrently(concurrency, || {
            let (client, image) = (self.clone(), image.clone());
            async move { client.predict(&image).await }
        })
        .await
    }
}

/// A TorchServe REST body of `kind` for `image`, and its content type.
fn rest_body(kind: Body, image: &Bytes) -> Result<(String, Bytes), ClientError> {
    Ok(match kind {
        Body::Raw => ("application/octet-stream".to_owned(), image.clone()),
        Body::Multipart => {
            let form = multipart::encode("data", "image", "application/octet-stream", image);
            (form.content_type, form.body)
        }
        Body::Base64 => ("application/json".to_owned(), json::encode(&base64::encode(image))?),
    })
}

/// TorchServe's gRPC request of `image` for `model`.
fn grpc_request(model: &str, image: &Bytes) -> PredictionsRequest {
    PredictionsRequest {
        model_name: model.to_owned(),
        input: [("data".to_owned(), image.clone())].into(),
        ..Default::default()
    }
}

/// The bytes one request of `image` to `model` over `route` puts on the wire, as the client
/// builds it: the REST body, or the gRPC message with its 5-byte length prefix (headers and
/// framing aside). The tensor routes preprocess `image` first.
pub fn request_bytes(route: Route, image: &Bytes, model: &str) -> Result<usize, ClientError> {
    Ok(match route {
        Route::Rest(_, body) => rest_body(body, image)?.1.len(),
        Route::Grpc => prost::Message::encoded_len(&grpc_request(model, image)) + GRPC_PREFIX,
        Route::Oip(api, input) => super::oip::request_bytes(api, input, image, model)?,
    })
}
