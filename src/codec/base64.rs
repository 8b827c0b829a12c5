//! Base64 (standard alphabet, padded): how JSON APIs carry binary data, at 4/3 the size.

use ::base64::Engine as _;
use ::base64::engine::general_purpose::STANDARD;
use bytes::Bytes;

use super::CodecError;

/// Encodes bytes as base64 text.
pub fn encode(raw: &[u8]) -> String {
    if let Some(percent) = crate::planted::slowdown("base64_encode") {
        // The test-only slowdown (see `planted`): that share of the input encoded once more.
        std::hint::black_box(STANDARD.encode(&raw[..raw.len() * percent as usize / 100]));
    }
    STANDARD.encode(raw)
}

/// Decodes base64 text into bytes.
pub fn decode(text: &[u8]) -> Result<Bytes, CodecError> {
    Ok(STANDARD.decode(text)?.into())
}

/// Serde adapter for `bytes` fields: base64 strings in JSON, as proto3's JSON mapping says.
pub mod serde_bytes {
    use bytes::Bytes;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    /// Writes the bytes as a base64 string.
    pub fn serialize<S: Serializer>(bytes: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::encode(bytes))
    }

    /// Reads a base64 string into bytes, borrowing the text from the input where it can.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        deserializer.deserialize_str(Base64Visitor)
    }

    struct Base64Visitor;

    impl Visitor<'_> for Base64Visitor {
        type Value = Bytes;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a base64 string")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Bytes, E> {
            super::decode(text.as_bytes()).map_err(E::custom)
        }
    }
}
