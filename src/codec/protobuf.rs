//! Protobuf with prost: what gRPC carries, and the codec servebench plugs into tonic.
//!
//! [`decode`] takes any [`Buf`]; given [`Bytes`] (or tonic's buffer), `bytes` fields are slices of
//! the input rather than copies, so decoding an image request costs the same at every size.

use std::marker::PhantomData;

use bytes::{Buf, Bytes};
use prost::Message;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use super::CodecError;

/// Serializes a message to protobuf bytes.
pub fn encode<M: Message>(message: &M) -> Bytes {
    message.encode_to_vec().into()
}

/// Parses protobuf bytes into a message.
pub fn decode<M: Message + Default>(body: impl Buf) -> Result<M, CodecError> {
    Ok(M::decode(body)?)
}

/// tonic codec built on [`encode`]/[`decode`]'s prost calls. It differs from `tonic_prost`'s in
/// one way that matters to clients: a request that does not parse is `INVALID_ARGUMENT` (the
/// caller's fault, as gRPC's status-code guide says), not `INTERNAL`.
#[derive(Debug)]
pub struct GrpcCodec<E, D>(PhantomData<fn(E) -> D>);

impl<E, D> Default for GrpcCodec<E, D> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<E, D> Codec for GrpcCodec<E, D>
where
    E: Message + Send + 'static,
    D: Message + Default + Send + 'static,
{
    type Encode = E;
    type Decode = D;
    type Encoder = GrpcEncoder<E>;
    type Decoder = GrpcDecoder<D>;

    fn encoder(&mut self) -> Self::Encoder {
        GrpcEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        GrpcDecoder(PhantomData)
    }
}

/// The encoding half of [`GrpcCodec`].
#[derive(Debug)]
pub struct GrpcEncoder<E>(PhantomData<fn(E)>);

impl<E: Message> Encoder for GrpcEncoder<E> {
    type Item = E;
    type Error = Status;

    fn encode(&mut self, item: E, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        // tonic's buffer grows on demand, so prost's only error (buffer full) cannot happen.
        item.encode(buf).map_err(|error| Status::internal(crate::error::chain(&error)))
    }
}

/// The decoding half of [`GrpcCodec`].
#[derive(Debug)]
pub struct GrpcDecoder<D>(PhantomData<fn() -> D>);

impl<D: Message + Default> Decoder for GrpcDecoder<D> {
    type Item = D;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<D>, Status> {
        decode(buf).map(Some).map_err(|error| Status::invalid_argument(crate::error::chain(&error)))
    }
}
