//! The study's servers: REST ([`rest`], axum) and gRPC ([`grpc`], tonic).
//!
//! Both are thin: they parse with the codec stage, hand the request to [`Study`] (what the
//! study's servers do with a request) and encode its answer. Each sends the request's stages
//! as `server-timing`: a header for REST (receive, decode, answer, encode) and response
//! metadata for gRPC (receive, decode, answer: tonic encodes the answer after the handler).
//! [`start`] serves both on a [`ListenConfig`] and hands back the [`ServerHandle`].

mod error;
pub mod grpc;
pub mod rest;

use std::io;

use bytes::Bytes;
pub use error::ServeError;

use super::clock::{self, RequestClock};
use super::{ListenConfig, ServerHandle};
use crate::codec;
use crate::fixtures;
use crate::messages::{BasicResponse, ImageBase64Request};
use crate::timing::{Stage, StageTimings};

/// A study request with its body decoded: the image in hand, where it carries one.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// The structured request (its fields are not used).
    Basic,
    /// An image request's image bytes, base64 decoded where they came as text.
    Image(Bytes),
}

impl Decoded {
    /// The image of a base64 request, decoded.
    pub fn base64(request: &ImageBase64Request) -> Result<Self, ServeError> {
        Ok(Self::Image(codec::base64::decode(request.image.as_bytes())?))
    }
}

/// What the study's servers do with a request: check that an image arrived and answer with the
/// fixed [`fixtures::basic_response`].
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
    /// Answers `request`, whose body's arrival `clock` timed (where there is one), with the
    /// request's stages so far: `receive` (headers to the body's last byte), `decode` (from
    /// there to now: the body inflated where gzipped, parsed, its image unwrapped) and
    /// `answer`. Encoding the answer is the caller's.
    pub fn answer(
        &self,
        request: &Decoded,
        clock: Option<&RequestClock>,
    ) -> Result<(&BasicResponse, StageTimings), ServeError> {
        let mut timings = clock::received(clock);
        if let Some(clock) = clock {
            timings.record(Stage::Decode, clock.since_body());
        }
        let answer = timings.time(Stage::Answer, || match request {
            Decoded::Image(image) if image.is_empty() => Err(ServeError::EmptyImage),
            Decoded::Basic | Decoded::Image(_) => Ok(&self.response),
        })?;
        Ok((answer, timings))
    }
}

/// Binds both study servers and serves them in background tasks.
pub async fn start(config: ListenConfig) -> io::Result<ServerHandle> {
    let study = Study::default();
    let router = rest::router(study.clone());
    let routes = grpc::routes(study, config.body_limit);
    ServerHandle::start(&config, router, routes).await
}
