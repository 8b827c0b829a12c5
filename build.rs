//! Compiles proto/ (the study's messages and TorchServe's inference API) into Rust with a vendored protoc, so no system protobuf compiler is needed,
//! and (feature `torch`) points binaries at libtorch.
//!
//! Generated messages also derive serde (the REST side's JSON), maps are ordered (`BTreeMap`, so
//! JSON output is deterministic) and `bytes` fields decode to `bytes::Bytes`, which prost slices out
//! of the request buffer instead of copying. Servers and clients use servebench's own tonic codec,
//! which maps malformed protobuf to `INVALID_ARGUMENT` rather than tonic's `INTERNAL`.

use std::io;
use std::path::PathBuf;

fn main() -> io::Result<()> {
    // With the `torch` feature, torch-sys tells us where libtorch lives; bake that in as an rpath
    // so binaries, tests and benches find it without LD_LIBRARY_PATH.
    if let Ok(libtorch) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{libtorch}");
    }

    // The compiler, for the run information benches record (report::run).
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=SERVEBENCH_RUSTC_VERSION={version}");

    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path().map_err(io::Error::other)?);
    // google/protobuf/{empty,any}.proto come with the vendored protoc.
    let well_known = protoc_bin_vendored::include_path().map_err(io::Error::other)?;

    tonic_prost_build::configure()
        .btree_map(".")
        .bytes(".")
        .codec_path("crate::codec::protobuf::GrpcCodec")
        .type_attribute(
            ".ai.statsbomb.com",
            "#[derive(serde::Serialize, serde::Deserialize)] #[serde(default)]",
        )
        .field_attribute(
            ".ai.statsbomb.com.ImageBinaryRequest.image",
            "#[serde(with = \"crate::codec::base64::serde_bytes\")]",
        )
        .compile_with_config(
            config,
            &["proto/study.proto".into(), "proto/torchserve.proto".into()],
            &[PathBuf::from("proto"), well_known],
        )
}
