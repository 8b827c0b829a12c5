//! Compiles proto/ (the study's messages, TorchServe's inference API and the Open Inference Protocol's) into Rust with a vendored protoc, so no system protobuf compiler is needed,
//! and (feature `torch`) points binaries at libtorch.
//!
//! Generated messages also derive serde (the REST side's JSON), maps are ordered (`BTreeMap`, so
//! JSON output is deterministic) and `bytes` fields decode to `bytes::Bytes`, which prost slices out
//! of the request buffer instead of copying. Servers and clients use servebench's own tonic codec,
//! which maps malformed protobuf to `INVALID_ARGUMENT` rather than tonic's `INTERNAL`.

use std::io;
use std::path::{Path, PathBuf};

fn main() -> io::Result<()> {
    // What the output depends on, besides the libtorch version file named below (naming any
    // file replaces cargo's default of rerunning on every change in the package).
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=proto");
    // With the `torch` feature, torch-sys tells us where libtorch lives; bake that in as an rpath
    // so binaries, tests and benches find it without LD_LIBRARY_PATH, and record its version
    // for the run information (report::run).
    if let Ok(libtorch) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{libtorch}");
        let version = libtorch_version(Path::new(&libtorch))
            .unwrap_or_else(|| format!("unknown version, at {libtorch}"));
        println!("cargo:rustc-env=SERVEBENCH_LIBTORCH_VERSION={version}");
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
            &[
                "proto/study.proto".into(),
                "proto/torchserve.proto".into(),
                "proto/inference.proto".into(),
            ],
            &[PathBuf::from("proto"), well_known],
        )
}

/// The version of the libtorch whose `lib` folder is `lib`: from `version.py` beside it where it
/// is PyTorch's pip package (`PyTorch 2.11.0+cpu`, with `CUDA 13.0` where built for it), or from
/// `build-version` in a libtorch archive.
fn libtorch_version(lib: &Path) -> Option<String> {
    let root = lib.parent()?;
    let python = root.join("version.py");
    let archive = root.join("build-version");
    // Only a file that exists: cargo reruns a build script whose named file is missing every time.
    if let Some(file) = [&python, &archive].into_iter().find(|file| file.exists()) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    if let Ok(text) = std::fs::read_to_string(&python) {
        // Lines such as `__version__ = '2.11.0+cu130'` and `cuda: Optional[str] = '13.0'`.
        let field = |name: &str| {
            let line = text.lines().find(|line| {
                line.strip_prefix(name).is_some_and(|rest| rest.starts_with([' ', ':', '=']))
            })?;
            let value = line.rsplit_once('=')?.1.trim().trim_matches(['\'', '"']);
            (value != "None").then(|| value.to_owned())
        };
        let version = format!("PyTorch {}", field("__version__")?);
        return Some(match field("cuda") {
            Some(cuda) => format!("{version}, CUDA {cuda}"),
            None => version,
        });
    }
    let version = std::fs::read_to_string(&archive).ok()?;
    Some(format!("libtorch {}", version.trim()))
}
