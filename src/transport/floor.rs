//! The floor every protocol is held to: a request's bytes over plain TCP and the answer's bytes
//! back, each framed by nothing but its length (4 bytes, big-endian), on a connection per
//! request in flight. No HTTP, no headers, no encoding: what the machine does to move the same
//! bytes between the same runtimes with no protocol at all. `server::floor` answers it and
//! `client::floor` asks it; this is the framing both speak.

use std::io;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::codec::protobuf;
use crate::messages::StudyRequest;

/// What the floor moves for `request`: its protobuf encoding, the smallest of the protocols'
/// bodies (the raw image's within a few bytes).
pub fn request(request: &StudyRequest) -> Bytes {
    match request {
        StudyRequest::Basic(message) => protobuf::encode(message),
        StudyRequest::Base64(message) => protobuf::encode(message),
        StudyRequest::Binary(message) => protobuf::encode(message),
    }
}

/// What the floor answers every request with: the study's response, in protobuf.
pub fn response() -> Bytes {
    protobuf::encode(&crate::fixtures::basic_response())
}

/// The length prefix: a frame's size in bytes, big-endian.
pub const LENGTH_BYTES: usize = 4;

/// Writes `body` as one frame, its length and itself in one vectored write where the stream
/// takes it.
pub async fn write_frame(stream: &mut (impl AsyncWrite + Unpin), body: &[u8]) -> io::Result<()> {
    let length = u32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a frame holds under 4 GiB"))?;
    let length = length.to_be_bytes();
    let mut frame = bytes::Buf::chain(&length[..], body);
    stream.write_all_buf(&mut frame).await?;
    stream.flush().await
}

/// Reads one frame of at most `limit` bytes; `None` when the peer closed the connection
/// between frames.
pub async fn read_frame(
    stream: &mut (impl AsyncRead + Unpin),
    limit: usize,
) -> io::Result<Option<Bytes>> {
    let mut length = [0; LENGTH_BYTES];
    match stream.read_exact(&mut length).await {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > limit {
        let message = format!("a frame of {length} bytes is over the limit of {limit}");
        return Err(io::Error::new(io::ErrorKind::InvalidData, message));
    }
    let mut body = BytesMut::with_capacity(length);
    let mut rest = stream.take(length as u64);
    while rest.read_buf(&mut body).await? != 0 {}
    if body.len() != length {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(body.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_a_cut_frame_is_an_error() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello").await.unwrap();
        write_frame(&mut wire, b"").await.unwrap();
        assert_eq!(wire[..LENGTH_BYTES], 5u32.to_be_bytes());
        let mut reader = &wire[..];
        assert_eq!(read_frame(&mut reader, 5).await.unwrap().as_deref(), Some(&b"hello"[..]));
        assert_eq!(read_frame(&mut reader, 5).await.unwrap().as_deref(), Some(&b""[..]));
        assert_eq!(read_frame(&mut reader, 5).await.unwrap(), None);

        let over = read_frame(&mut &wire[..], 4).await.unwrap_err();
        assert_eq!(over.kind(), io::ErrorKind::InvalidData);
        let cut = read_frame(&mut &wire[..LENGTH_BYTES + 3], 5).await.unwrap_err();
        assert_eq!(cut.kind(), io::ErrorKind::UnexpectedEof);
    }
}
