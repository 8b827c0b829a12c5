//! Fixtures contract: deterministic, the same bytes on every machine, the study's shapes and
//! sizes, valid images.

use std::collections::BTreeMap;

use sha2::Digest as _;

use servebench::fixtures::{self, Encoding, ImageSpec, STUDY_SIZES, Scene};
use servebench::ids::Payload;
use servebench::messages::StudyRequest;

#[test]
fn generation_is_deterministic_and_matches_the_cache() {
    for scene in [Scene::Noise, Scene::Smooth] {
        let spec = ImageSpec { size: STUDY_SIZES[0], scene, encoding: Encoding::Jpeg };
        let generated = fixtures::generate(spec);
        assert_eq!(generated, fixtures::generate(spec));
        assert_eq!(generated, fixtures::image(spec));
    }
}

/// Each fixture's SHA-256, pinned in `tests/fixtures.sha256` as `sha256sum` prints it (sorted by
/// name), so the generator gives the same bytes on every machine (and `sha256sum -c` checks a
/// cache).
#[test]
fn every_fixture_has_its_pinned_digest() {
    let mut generated = BTreeMap::new();
    for size in STUDY_SIZES {
        for scene in Scene::ALL {
            for encoding in Encoding::ALL {
                let spec = ImageSpec { size, scene, encoding };
                let digest = sha2::Sha256::digest(fixtures::generate(spec));
                generated.insert(spec.file_name(), format!("{digest:x}"));
            }
        }
    }
    let lines: String =
        generated.iter().map(|(name, digest)| format!("{digest}  {name}\n")).collect();
    assert!(
        lines == include_str!("fixtures.sha256"),
        "the fixtures' bytes changed; if on purpose, bump GENERATOR_VERSION in src/fixtures.rs \
         and write tests/fixtures.sha256 anew:\n{lines}"
    );
}

#[test]
fn study_images_decode_to_their_size_and_weigh_what_the_studys_did() {
    // The study's files: about 0.23, 0.87 and 2.3 MB; libjpeg at quality 95, 4:2:0 gives the
    // same order for uniform noise. Smooth scenes compress several times better.
    let expected_mb = [(0.2, 0.35), (0.8, 1.3), (2.0, 3.0)];
    for (size, (low, high)) in STUDY_SIZES.into_iter().zip(expected_mb) {
        let noise = fixtures::image(ImageSpec::study(size));
        let megabytes = noise.len() as f64 / 1e6;
        assert!((low..high).contains(&megabytes), "{size}: {megabytes} MB");

        let decoded = servebench::vision::decode(&noise).unwrap();
        assert_eq!((decoded.height(), decoded.width()), (size.height, size.width));

        let smooth =
            fixtures::image(ImageSpec { size, scene: Scene::Smooth, encoding: Encoding::Jpeg });
        assert!(
            smooth.len() * 3 < noise.len(),
            "{size}: smooth {} vs noise {}",
            smooth.len(),
            noise.len()
        );
    }
}

#[test]
fn png_fixtures_are_lossless_copies_of_the_scene() {
    let size = STUDY_SIZES[0];
    let png = fixtures::image(ImageSpec { size, scene: Scene::Smooth, encoding: Encoding::Png });
    let decoded =
        image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap().to_rgb8();
    assert_eq!(decoded.dimensions(), (size.width, size.height));
    let jpeg = servebench::vision::decode(&fixtures::image(ImageSpec {
        size,
        scene: Scene::Smooth,
        encoding: Encoding::Jpeg,
    }))
    .unwrap();
    let mean_error =
        decoded.iter().zip(jpeg.iter()).map(|(a, b)| a.abs_diff(*b) as f64).sum::<f64>()
            / decoded.len() as f64;
    assert!(mean_error < 4.0, "PNG and JPEG of one scene differ by {mean_error} on average");
}

#[test]
fn payloads_are_the_studys() {
    let request = fixtures::basic_request();
    assert_eq!(
        (request.field1.as_str(), request.field2.as_str(), request.field3),
        ("Hello", "Word", 2023)
    );
    assert_eq!(request.field4.len(), 100);
    assert!(request.field4.iter().all(|(key, value)| key == &value.to_string()));

    let response = fixtures::basic_response();
    assert_eq!((response.prediction1.len(), response.prediction2.len()), (100, 100));
    assert!(response.prediction1.iter().all(|p| (0.0..1.0).contains(p)));
    assert_eq!(response, fixtures::basic_response());

    let names: Vec<_> = Payload::all().iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "basic",
            "base64_360x640",
            "binary_360x640",
            "base64_720x1280",
            "binary_720x1280",
            "base64_1080x1920",
            "binary_1080x1920"
        ]
    );
}

#[test]
fn base64_payload_carries_the_binary_payloads_image() {
    let payloads = Payload::all();
    let (StudyRequest::Base64(text), StudyRequest::Binary(binary)) =
        (payloads[1].request(), payloads[2].request())
    else {
        panic!("unexpected payload order");
    };
    assert_eq!(servebench::codec::base64::decode(text.image.as_bytes()).unwrap(), binary.image);
}

#[test]
fn export_writes_every_study_image() {
    let dir = std::env::temp_dir().join(format!("servebench-export-{}", std::process::id()));
    let written = fixtures::export(&dir).unwrap();
    assert_eq!(written.len(), 6);
    for path in &written {
        assert!(std::fs::metadata(path).unwrap().len() > 10_000, "{}", path.display());
    }
    std::fs::remove_dir_all(dir).unwrap();
}
