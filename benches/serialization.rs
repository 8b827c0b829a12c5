//! Codec stage alone: what turning each study message into bytes and back costs, per format.
//!
//! Ids (`servebench::ids::CodecId`): `codec/{json,protobuf,raw}_{encode,decode}/<payload>` for
//! the study's requests (`basic`, `base64_<size>`, `binary_<size>`) and its answer
//! (`response`), and `codec/{base64,multipart}_{encode,decode}/<size>` for the image alone (as
//! base64 text, as a form's `data` field). Throughput is the encoded size, the image's for the
//! image alone.

mod common;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use serde::Serialize;
use serde::de::DeserializeOwned;
use servebench::codec::{base64, json, multipart, protobuf, raw};
use servebench::fixtures::{self, ImageSpec, STUDY_SIZES};
use servebench::ids::{CodecId, Direction, Format, Group, Message, Payload, Wrapping};
use servebench::messages::StudyRequest;

fn codec(c: &mut Criterion) {
    let mut group = common::group(c, Group::Codec);
    for payload in Payload::all() {
        let message = Message::Request(payload);
        match &payload.request() {
            StudyRequest::Basic(request) => json_and_protobuf(&mut group, message, request),
            StudyRequest::Base64(request) => json_and_protobuf(&mut group, message, request),
            StudyRequest::Binary(request) => {
                json_and_protobuf(&mut group, message, request);
                let Payload::Binary(size) = payload else { unreachable!("a binary request") };
                let id = |direction| CodecId::Raw { direction, size };
                let body = raw::encode(request);
                group.throughput(Throughput::Bytes(body.len() as u64));
                common::bench(&mut group, id(Direction::Encode), |b| {
                    b.iter(|| raw::encode(request))
                });
                common::bench(&mut group, id(Direction::Decode), |b| {
                    b.iter(|| raw::decode(body.clone()))
                });
            }
        }
    }
    json_and_protobuf(&mut group, Message::Response, &fixtures::basic_response());

    for size in STUDY_SIZES {
        let image = fixtures::image(ImageSpec::study(size));
        let text = base64::encode(&image);
        let id = |wrapping, direction| CodecId::Image { wrapping, direction, size };
        group.throughput(Throughput::Bytes(image.len() as u64));
        common::bench(&mut group, id(Wrapping::Base64, Direction::Encode), |b| {
            b.iter(|| base64::encode(&image))
        });
        common::bench(&mut group, id(Wrapping::Base64, Direction::Decode), |b| {
            b.iter(|| base64::decode(text.as_bytes()).unwrap())
        });
        // TorchServe's form upload: framing copies the image in, parsing slices it out.
        let form = multipart::encode("data", "image.jpg", "image/jpeg", &image);
        common::bench(&mut group, id(Wrapping::Multipart, Direction::Encode), |b| {
            b.iter(|| multipart::encode("data", "image.jpg", "image/jpeg", &image))
        });
        common::bench(&mut group, id(Wrapping::Multipart, Direction::Decode), |b| {
            b.iter(|| multipart::decode(&form.content_type, &form.body).unwrap())
        });
    }
    group.finish();
}

fn json_and_protobuf<M>(group: &mut BenchmarkGroup<'_, WallTime>, message: Message, value: &M)
where
    M: prost::Message + Serialize + DeserializeOwned + Default,
{
    let id = |format, direction| CodecId::Message { format, direction, message };
    let text = json::encode(value).unwrap();
    group.throughput(Throughput::Bytes(text.len() as u64));
    common::bench(group, id(Format::Json, Direction::Encode), |b| {
        b.iter(|| json::encode(value).unwrap())
    });
    common::bench(group, id(Format::Json, Direction::Decode), |b| {
        b.iter(|| json::decode::<M>(&text).unwrap())
    });

    let wire = protobuf::encode(value);
    group.throughput(Throughput::Bytes(wire.len() as u64));
    common::bench(group, id(Format::Protobuf, Direction::Encode), |b| {
        b.iter(|| protobuf::encode(value))
    });
    // Decoding from `Bytes` is how servers receive messages; image bytes are sliced, not copied.
    common::bench(group, id(Format::Protobuf, Direction::Decode), |b| {
        b.iter(|| protobuf::decode::<M>(wire.clone()).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = codec
}
criterion_main!(benches);
