//! gzip, for REST bodies sent with `Content-Encoding: gzip`, at level 6: what tonic's gRPC gzip
//! uses, so the two protocols compress alike. Decoding stops at a limit, so a small body that
//! inflates past what the server takes is refused, not held.

use std::io::{Read, Write};

use bytes::Bytes;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::CodecError;

/// `data` gzipped at level 6.
pub fn encode(data: &[u8]) -> Bytes {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 2), Compression::new(6));
    // Writing into memory cannot fail.
    encoder.write_all(data).expect("gzip into a Vec");
    Bytes::from(encoder.finish().expect("gzip into a Vec"))
}

/// The bytes `gzipped` inflates to, refused once they pass `limit`.
pub fn decode(gzipped: &[u8], limit: usize) -> Result<Bytes, CodecError> {
    let mut inflated = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    GzDecoder::new(gzipped).take(cap).read_to_end(&mut inflated).map_err(CodecError::Gzip)?;
    if inflated.len() > limit {
        return Err(CodecError::Inflated { limit });
    }
    Ok(Bytes::from(inflated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage_and_bombs() {
        let text = b"hello hello hello hello hello".repeat(100);
        let gzipped = encode(&text);
        assert!(gzipped.len() < text.len() / 10);
        assert_eq!(decode(&gzipped, text.len()).unwrap(), text);
        assert!(matches!(decode(&gzipped, text.len() - 1), Err(CodecError::Inflated { .. })));
        assert!(matches!(decode(b"not gzip", 1 << 20), Err(CodecError::Gzip(_))));
        assert!(matches!(decode(&gzipped[..gzipped.len() / 2], 1 << 20), Err(CodecError::Gzip(_))));
    }
}
