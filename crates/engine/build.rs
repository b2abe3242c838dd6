//! Compiles the engine's own CUDA kernels (`kernels/*.cu`) to PTX, only when the `cuda` feature
//! is on; a CPU or Metal build does nothing here and needs no CUDA toolkit.
//!
//! Each `kernels/NAME.cu` becomes `$OUT_DIR/NAME.ptx`, which the Rust side embeds with
//! `include_str!(concat!(env!("OUT_DIR"), "/NAME.ptx"))` and loads through candle's
//! `CudaDevice::get_or_load_custom_func`. PTX (not a cubin) so the driver compiles it for the GPU
//! it finds; the virtual architecture is `CUDA_COMPUTE_CAP` (as for candle's own kernels; 90 on
//! the H200), else the GPU's own from `nvidia-smi`, else 75 (the oldest CUDA 13 supports; its
//! PTX runs on every newer GPU). nvcc comes from `NVCC`, `$CUDA_HOME/bin`, or the PATH
//! (scripts/build-cuda sets these up on a machine without a GPU).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=kernels");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    for var in ["CUDA_COMPUTE_CAP", "NVCC", "NVCC_CCBIN", "CUDA_HOME"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let nvcc = nvcc();
    let cap = compute_cap();
    let mut sources: Vec<PathBuf> = std::fs::read_dir("kernels")
        .expect("crates/engine/kernels is part of the engine's source")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cu"))
        .collect();
    sources.sort();
    for src in sources {
        println!("cargo:rerun-if-changed={}", src.display());
        compile(&nvcc, &cap, &src, &out);
    }
}

/// `nvcc --ptx` of one kernel file into `out/NAME.ptx`; a failure stops the build with nvcc's
/// own message and the command that failed.
fn compile(nvcc: &Path, cap: &str, src: &Path, out: &Path) {
    let name = src.file_stem().expect("a .cu file has a stem");
    let ptx = out.join(name).with_extension("ptx");
    let mut cmd = Command::new(nvcc);
    cmd.args(["--ptx", "-O3", "-std=c++17"])
        .arg(format!("-arch=compute_{cap}"))
        .arg("-o")
        .arg(&ptx)
        .arg(src);
    if let Some(ccbin) = std::env::var_os("NVCC_CCBIN") {
        cmd.arg("-ccbin").arg(ccbin);
    }
    let status = cmd.status().unwrap_or_else(|e| {
        panic!(
            "could not run nvcc ({}) for {}: {e}; install the CUDA toolkit or run scripts/build-cuda",
            nvcc.display(),
            src.display()
        )
    });
    if !status.success() {
        panic!(
            "nvcc failed on {} ({cmd:?}): see its output above",
            src.display()
        );
    }
}

fn nvcc() -> PathBuf {
    if let Some(p) = std::env::var_os("NVCC") {
        return PathBuf::from(p);
    }
    if let Some(home) = std::env::var_os("CUDA_HOME") {
        let p = Path::new(&home).join("bin").join("nvcc");
        if p.exists() {
            return p;
        }
    }
    PathBuf::from("nvcc")
}

/// The compute capability as nvcc spells it ("90"), from `CUDA_COMPUTE_CAP` ("90" or "9.0"),
/// else the first GPU's, else 75.
fn compute_cap() -> String {
    if let Ok(cap) = std::env::var("CUDA_COMPUTE_CAP") {
        return cap.trim().replace('.', "");
    }
    let smi = Command::new("nvidia-smi")
        .args(["--query-gpu=compute_cap", "--format=csv,noheader"])
        .output();
    if let Ok(o) = smi {
        if o.status.success() {
            if let Some(line) = String::from_utf8_lossy(&o.stdout).lines().next() {
                let cap = line.trim().replace('.', "");
                if !cap.is_empty() && cap.chars().all(|c| c.is_ascii_digit()) {
                    return cap;
                }
            }
        }
    }
    println!("cargo:warning=no CUDA_COMPUTE_CAP and no GPU found: the engine's kernels target compute_75");
    "75".into()
}
