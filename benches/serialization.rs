//! Codec stage alone: what turning each study message into bytes and back costs, per format.
//!
//! Ids: `codec/{json,protobuf,raw}_{encode,decode}/<payload>` for the study's requests
//! (`basic`, `base64_<size>`, `binary_<size>`) and its answer (`response`), and
//! `codec/{base64,multipart}_{encode,decode}/<size>` for the image alone (as base64 text, as a
//! form's `data` field). Throughput is the encoded size, the image's for the image alone.

mod common;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use servebench::codec::{base64, json, multipart, protobuf, raw};
use servebench::fixtures::{self, ImageSpec, STUDY_SIZES};
use servebench::messages::StudyRequest;

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    for payload in fixtures::study_payloads() {
        match &payload.request {
            StudyRequest::Basic(message) => json_and_protobuf(&mut group, &payload.name, message),
            StudyRequest::Base64(message) => json_and_protobuf(&mut group, &payload.name, message),
            StudyRequest::Binary(message) => {
                json_and_protobuf(&mut group, &payload.name, message);
                let body = raw::encode(message);
                group.throughput(Throughput::Bytes(body.len() as u64));
                group.bench_with_input(
                    BenchmarkId::new("raw_encode", &payload.name),
                    message,
                    |b, message| b.iter(|| raw::encode(message)),
                );
                group.bench_with_input(
                    BenchmarkId::new("raw_decode", &payload.name),
                    &body,
                    |b, body| b.iter(|| raw::decode(body.clone())),
                );
            }
        }
    }
    json_and_protobuf(&mut group, "response", &fixtures::basic_response());

    for size in STUDY_SIZES {
        let image = fixtures::image(ImageSpec::study(size));
        let text = base64::encode(&image);
        group.throughput(Throughput::Bytes(image.len() as u64));
        group.bench_with_input(BenchmarkId::new("base64_encode", size), &image, |b, image| {
            b.iter(|| base64::encode(image))
        });
        group.bench_with_input(BenchmarkId::new("base64_decode", size), &text, |b, text| {
            b.iter(|| base64::decode(text.as_bytes()).unwrap())
        });
        // TorchServe's form upload: framing copies the image in, parsing slices it out.
        let form = multipart::encode("data", "image.jpg", "image/jpeg", &image);
        group.bench_with_input(BenchmarkId::new("multipart_encode", size), &image, |b, image| {
            b.iter(|| multipart::encode("data", "image.jpg", "image/jpeg", image))
        });
        group.bench_with_input(BenchmarkId::new("multipart_decode", size), &form, |b, form| {
            b.iter(|| multipart::decode(&form.content_type, &form.body).unwrap())
        });
    }
    group.finish();
}

fn json_and_protobuf<M>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, message: &M)
where
    M: Message + Serialize + DeserializeOwned + Default,
{
    let text = json::encode(message).unwrap();
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_with_input(BenchmarkId::new("json_encode", name), message, |b, message| {
        b.iter(|| json::encode(message).unwrap())
    });
    group.bench_with_input(BenchmarkId::new("json_decode", name), &text, |b, text| {
        b.iter(|| json::decode::<M>(text).unwrap())
    });

    let wire = protobuf::encode(message);
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_with_input(BenchmarkId::new("protobuf_encode", name), message, |b, message| {
        b.iter(|| protobuf::encode(message))
    });
    // Decoding from `Bytes` is how servers receive messages; image bytes are sliced, not copied.
    group.bench_with_input(BenchmarkId::new("protobuf_decode", name), &wire, |b, wire| {
        b.iter(|| protobuf::decode::<M>(wire.clone()).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = codec
}
criterion_main!(benches);
