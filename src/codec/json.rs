//! JSON with serde_json: what the study's REST endpoints speak.

use bytes::Bytes;
use serde::{Serialize, de::DeserializeOwned};

use super::CodecError;

/// Serializes a message to JSON bytes.
pub fn encode<M: Serialize>(message: &M) -> Result<Bytes, CodecError> {
    Ok(serde_json::to_vec(message)?.into())
}

/// Parses JSON bytes into a message; missing fields take their protobuf defaults, unknown
/// fields are ignored (as proto3's JSON mapping does), wrong types are an error.
pub fn decode<M: DeserializeOwned>(body: &[u8]) -> Result<M, CodecError> {
    Ok(serde_json::from_slice(body)?)
}
