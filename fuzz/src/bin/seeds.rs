//! Writes each fuzz target's seed corpus, from servebench's own fixtures and encoders:
//! `seeds DIR` fills DIR/<target>/ (scripts/fuzz runs it before fuzzing).

use std::path::Path;

use servebench::codec::oip::{self, InferRequest, Tensor};
use servebench::codec::{base64, gzip, json, multipart, protobuf};
use servebench::fixtures::{self, Encoding, ImageSize, ImageSpec, Scene};
use servebench::messages::torchserve::PredictionsRequest;
use servebench::postprocess::Prediction;

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os().nth(1).expect("usage: seeds DIR");
    let dir = Path::new(&dir);
    let image = |scene, encoding| {
        fixtures::generate(ImageSpec { size: ImageSize { height: 48, width: 64 }, scene, encoding })
    };
    let jpeg = image(Scene::Noise, Encoding::Jpeg);
    let images =
        [jpeg.clone(), image(Scene::Smooth, Encoding::Jpeg), image(Scene::Smooth, Encoding::Png)];
    let basic = json::encode(&fixtures::basic_request()).unwrap();
    let base64_json = json::encode(&fixtures::base64_request(&jpeg)).unwrap();
    let form = multipart::encode("data", "image.jpg", "image/jpeg", &jpeg);
    let headed = |header: &str, body: &[u8]| [header.as_bytes(), b"\n", body].concat();
    let image_bodies = vec![
        headed("image/jpeg", &jpeg),
        headed(&form.content_type, &form.body),
        headed("application/json", &json::encode(&base64::encode(&jpeg)).unwrap()),
    ];
    let side = 4;
    let requests = [
        InferRequest {
            inputs: vec![Tensor::bytes("image", vec![1], &[&jpeg])],
            ..Default::default()
        },
        InferRequest {
            inputs: vec![Tensor::fp32("tensor", vec![1, 3, side, side], &[0.5; 48])],
            ..Default::default()
        },
    ];
    let mut oip_grpc = Vec::new();
    let mut oip_rest = Vec::new();
    for request in &requests {
        for raw in [false, true] {
            let message = oip::grpc::encode_request("resnet50", "", request, raw).unwrap();
            oip_grpc.push(protobuf::encode(&message).to_vec());
            let (body, json_length) = oip::rest::encode_request(request, raw).unwrap();
            oip_rest.push(match json_length {
                Some(length) => [&u16::try_from(length).unwrap().to_le_bytes()[..], &body].concat(),
                None => body.to_vec(),
            });
        }
    }
    let predictions = PredictionsRequest {
        model_name: "resnet50".into(),
        input: [("data".to_owned(), jpeg.clone())].into(),
        ..Default::default()
    };
    let mut protobuf_seeds = vec![
        protobuf::encode(&fixtures::basic_request()).to_vec(),
        protobuf::encode(&fixtures::binary_request(jpeg.clone())).to_vec(),
        protobuf::encode(&predictions).to_vec(),
    ];
    protobuf_seeds.extend(oip_grpc.iter().cloned());
    let prediction = Prediction(vec![("tabby".into(), 0.25), ("tiger cat".into(), 1e-7)]);
    let python = prediction.0.iter().flat_map(|(label, value)| {
        let mut record = value.to_le_bytes().to_vec();
        record.extend(label.bytes().chain(std::iter::repeat(b' ')).take(8));
        record
    });
    let corpora: [(&str, Vec<Vec<u8>>); 10] = [
        ("study_json", vec![basic.to_vec(), base64_json.to_vec()]),
        ("protobuf", protobuf_seeds),
        ("multipart", vec![headed(&form.content_type, &form.body)]),
        ("base64", vec![base64::encode(&jpeg).into_bytes(), b"aGVsbG8=".to_vec()]),
        ("gzip", vec![gzip::encode(&basic).to_vec(), gzip::encode(&jpeg).to_vec()]),
        ("python_json", vec![python.collect()]),
        ("vision", images.iter().map(|image| image.to_vec()).collect()),
        ("image_body", image_bodies),
        ("oip_rest", oip_rest),
        ("oip_grpc", oip_grpc),
    ];
    for (target, seeds) in corpora {
        let target_dir = dir.join(target);
        std::fs::create_dir_all(&target_dir)?;
        for (index, seed) in seeds.iter().enumerate() {
            std::fs::write(target_dir.join(format!("seed-{index}")), seed)?;
        }
    }
    Ok(())
}
