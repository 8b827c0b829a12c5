//! Codec stage: messages to and from bytes.
//!
//! Each format is a module of two plain functions, `encode` and `decode`, so a bench can time
//! exactly one of them and a server composes them without glue:
//!
//! | module | carries | used by |
//! |---|---|---|
//! | [`json`] | any message as JSON (serde_json) | REST `/basic`, `/base64` |
//! | [`protobuf`] | any message as protobuf (prost), and the gRPC codec | gRPC |
//! | [`base64`] | image bytes as text | inside JSON, `ImageBase64Request` |
//! | [`raw`] | the image itself as the body | REST `/binary`, TorchServe's `curl -T` |
//! | [`multipart`] | a file in a `multipart/form-data` form | TorchServe's form field `data` |
//! | [`image_body`] | the image in a form, base64 JSON or the raw body, by content type | TorchServe's REST `/predictions` |
//! | [`python_json`] | any message as Python's `json.dumps(indent=2)` writes it | TorchServe's answers |
//! | [`gzip`] | any body, compressed | REST's `Content-Encoding: gzip` |
//! | [`oip`] | the Open Inference Protocol's tensors, as JSON (with binary data) and protobuf | `/v2/...`, `inference.GRPCInferenceService` |
//!
//! Decoding untrusted bytes never panics: every failure is a [`CodecError`].

pub mod base64;
pub mod gzip;
pub mod image_body;
pub mod json;
pub mod multipart;
pub mod oip;
pub mod protobuf;
pub mod python_json;
pub mod raw;

/// Why bytes could not become a message (or a message bytes).
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Not JSON, or JSON of the wrong shape or types.
    #[error("malformed JSON")]
    Json(#[from] serde_json::Error),
    /// Truncated or garbage protobuf, or a string field that is not UTF-8.
    #[error("malformed protobuf")]
    Protobuf(#[from] prost::DecodeError),
    /// Text that is not standard, padded base64.
    #[error("invalid base64")]
    Base64(#[from] ::base64::DecodeError),
    /// A `multipart/form-data` body that does not parse.
    #[error("malformed multipart form: {0}")]
    Multipart(String),
    /// Not gzip, or cut short.
    #[error("malformed gzip")]
    Gzip(#[source] std::io::Error),
    /// Compressed bytes that inflate past the limit.
    #[error("the body inflates to more than {limit} bytes")]
    Inflated {
        /// The limit in bytes.
        limit: usize,
    },
}
