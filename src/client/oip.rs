//! A client of the Open Inference Protocol (servebench's model server, Triton, KServe): one image
//! per request, sent as its JPEG (`image`, `BYTES [1]`) or, preprocessed on the client, as its
//! tensor (`tensor`, `FP32 [1, 3, 224, 224]`), over REST with the tensors inside the JSON, REST
//! with them as binary data, or gRPC with raw contents. Every call returns the answer (the
//! `scores` output) with both sides' timings; the client's preprocessing, where it does it, is
//! a stage of its own.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Uri;
use tonic::transport::Channel;

use super::{ClientError, Reply, grpc, rest};
use crate::codec::oip::{self, InferRequest, InferResponse, RequestedOutput, Tensor};
use crate::messages::inference::grpc_inference_service_client::GrpcInferenceServiceClient;
use crate::timing;
use crate::transport::{
    DEFAULT_BODY_LIMIT, GRPC_PREFIX, OIP_OUTPUT, OipApi, OipInput, Target, TransportConfig,
};
use crate::vision;

/// A connected client of one model over one OIP API. Cloning is cheap and shares the
/// connections.
#[derive(Clone, Debug)]
pub struct OipClient {
    api: OipApi,
    input: OipInput,
    model: String,
    transport: Transport,
}

// One per client, inside the model client's `Arc`: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
enum Transport {
    Rest { client: rest::HttpClient, uri: Uri },
    Grpc(GrpcInferenceServiceClient<Channel>),
}

impl OipClient {
    /// Connects to model `model` of the server at `target` (its REST URL for the REST APIs,
    /// over HTTP/1.1; its gRPC URL for gRPC), to send what `input` says.
    pub async fn connect(
        api: OipApi,
        input: OipInput,
        target: &Target,
        model: &str,
    ) -> Result<Self, ClientError> {
        let transport = match api {
            OipApi::RestJson | OipApi::RestBinary => Transport::Rest {
                client: rest::http_client(
                    crate::transport::HttpVersion::Http1,
                    TransportConfig::default(),
                ),
                uri: rest::endpoint(&target.rest, &format!("/v2/models/{model}/infer"))?,
            },
            OipApi::Grpc => Transport::Grpc(
                GrpcInferenceServiceClient::new(
                    grpc::channel(&target.grpc, TransportConfig::default()).await?,
                )
                .max_decoding_message_size(DEFAULT_BODY_LIMIT)
                .max_encoding_message_size(DEFAULT_BODY_LIMIT),
            ),
        };
        Ok(Self { api, input, model: model.to_owned(), transport })
    }

    /// Sends `image` (an encoded JPEG or PNG) for inference, preprocessing it first for the
    /// tensor input, and reads the answer, timing each client stage.
    pub async fn infer(&self, image: &Bytes) -> Result<Reply<InferResponse>, ClientError> {
        let started = Instant::now();
        let (request, preprocess) = request(self.api, self.input, image)?;
        let binary = self.api != OipApi::RestJson;
        // Encoding starts where preprocessing ends (Reply::cut times it from there).
        let prepared = started + preprocess;
        let mut reply = match &self.transport {
            Transport::Rest { client, uri } => {
                let (body, json_length) = oip::rest::encode_request(&request, binary)?;
                let length = json_length.map(|length| length.to_string());
                let headers: Vec<(&str, &str)> = length
                    .iter()
                    .map(|length| (oip::rest::HEADER_LENGTH, length.as_str()))
                    .collect();
                let content_type = match json_length {
                    Some(_) => "application/octet-stream",
                    None => "application/json",
                };
                let encoded = Instant::now();
                let (headers, body) = rest::post(client, uri, content_type, &headers, body).await?;
                let received = Instant::now();
                let json_length = match headers.get(oip::rest::HEADER_LENGTH) {
                    None => None,
                    Some(value) => Some(
                        value
                            .to_str()
                            .ok()
                            .and_then(|text| text.parse().ok())
                            .ok_or_else(|| ClientError::transport(BadHeader))?,
                    ),
                };
                let server = headers.get(timing::HEADER).map(|value| value.to_str());
                let answer = oip::rest::decode_response(&body, json_length)?;
                Reply::cut(answer, server, [prepared, encoded, received])
            }
            Transport::Grpc(client) => {
                let message = oip::grpc::encode_request(&self.model, "", &request, true)?;
                let encoded = Instant::now();
                let response = client.clone().model_infer(message).await?;
                let received = Instant::now();
                let (metadata, response, _) = response.into_parts();
                let server = metadata.get(timing::HEADER).map(|value| value.to_str());
                Reply::cut(
                    oip::grpc::decode_response(response)?,
                    server,
                    [prepared, encoded, received],
                )
            }
        };
        reply.client.preprocess = preprocess;
        Ok(reply)
    }
}

/// The request for `image` over `api` as `input`, and how long preprocessing it took (none
/// for the JPEG). Preprocessing is the image to the model's input; laying that out as the
/// protocol's tensor is encoding.
fn request(
    api: OipApi,
    input: OipInput,
    image: &Bytes,
) -> Result<(InferRequest, Duration), ClientError> {
    let started = Instant::now();
    let name = input.tensor_name();
    let (tensor, preprocess) = match input {
        OipInput::Jpeg => (Tensor::bytes(name, vec![1], &[image]), Duration::ZERO),
        OipInput::Tensor => {
            let prepared = vision::preprocess(image)?;
            let preprocess = started.elapsed();
            let side = i64::from(vision::CROP);
            (Tensor::fp32(name, vec![1, 3, side, side], &prepared.data), preprocess)
        }
    };
    let binary = api != OipApi::RestJson;
    let output =
        RequestedOutput { name: OIP_OUTPUT.to_owned(), binary: Some(binary), ..Default::default() };
    let request =
        InferRequest { inputs: vec![tensor], outputs: vec![output], ..Default::default() };
    Ok((request, preprocess))
}

/// The bytes one request of `image` over `api` as `input` puts on the wire: the REST body, or
/// the gRPC message with its length prefix.
pub(crate) fn request_bytes(
    api: OipApi,
    input: OipInput,
    image: &Bytes,
    model: &str,
) -> Result<usize, ClientError> {
    let (request, _) = request(api, input, image)?;
    Ok(match api {
        OipApi::RestJson | OipApi::RestBinary => {
            oip::rest::encode_request(&request, api == OipApi::RestBinary)?.0.len()
        }
        OipApi::Grpc => {
            let message = oip::grpc::encode_request(model, "", &request, true)?;
            prost::Message::encoded_len(&message) + GRPC_PREFIX
        }
    })
}

/// An answer whose `Inference-Header-Content-Length` is not a byte count.
#[derive(Debug, thiserror::Error)]
#[error("the answer's Inference-Header-Content-Length is not a byte count")]
struct BadHeader;
