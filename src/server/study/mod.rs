//! The study's servers: REST ([`rest`], axum) and gRPC ([`grpc`], tonic).
//!
//! Both are thin: they parse with the codec stage, hand the request to [`Study`] (what the
//! study's servers do with a request) and encode its answer. [`start`] serves both on a
//! [`ListenConfig`] and hands back the [`ServerHandle`].

mod error;
pub mod grpc;
pub mod rest;

use std::io;

pub use error::ServeError;

use super::{ListenConfig, ServerHandle};
use crate::codec;
use crate::fixtures;
use crate::messages::{BasicRequest, BasicResponse, ImageBase64Request, ImageBinaryRequest};

/// What the study's servers do with a request: check that an image arrived (decoding base64
/// when it came as text) and answer with the fixed [`fixtures::basic_response`].
#[derive(Clone, Debug)]
pub struct Study {
    response: BasicResponse,
}

impl Default for Study {
    fn default() -> Self {
        Self { response: fixtures::basic_response() }
    }
}

impl Study {
    /// Answers a structured request.
    pub fn basic(&self, _request: &BasicRequest) -> &BasicResponse {
        &self.response
    }

    /// Decodes the base64 image and answers.
    pub fn base64(&self, request: &ImageBase64Request) -> Result<&BasicResponse, ServeError> {
        let image = codec::base64::decode(request.image.as_bytes())?;
        self.image(&image)
    }

    /// Answers a raw image.
    pub fn binary(&self, request: &ImageBinaryRequest) -> Result<&BasicResponse, ServeError> {
        self.image(&request.image)
    }

    fn image(&self, image: &[u8]) -> Result<&BasicResponse, ServeError> {
        if image.is_empty() {
            return Err(ServeError::EmptyImage);
        }
        Ok(&self.response)
    }
}

/// Binds both study servers and serves them in background tasks.
pub async fn start(config: ListenConfig) -> io::Result<ServerHandle> {
    let study = Study::default();
    let router = rest::router(study.clone());
    let routes = grpc::routes(study, config.body_limit);
    ServerHandle::start(&config, router, routes).await
}
