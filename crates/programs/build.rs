//! Builds the guest programs in `programs/` and stages the modules in OUT_DIR, where
//! `src/registry.rs` and `src/machine.rs` embed them: the step programs (`programs/wasm/*`) for
//! `wasm32-unknown-unknown`, the stock WASI programs for the machine (`programs/wasi/*`) for
//! `wasm32-wasip1`.
//!
//! `programs/` is a workspace of its own (its own lockfile), built by a nested cargo into its own
//! target directory, so the outer build's locks are never contended. Paths are remapped so that
//! a module's bytes, and so its keccak256 (its id on-chain), do not depend on where the
//! repository sits.

use std::{env, path::PathBuf, process::Command};

const MODULES: &[&str] = &[
    "fibonacci",
    "build_byte_array",
    "counter",
    "keccak_chain",
    "blake2b",
];

/// The WASI programs: binaries of the packages `ecm-wasi-<name>`.
const WASI_PROGRAMS: &[&str] = &["sha256sum", "wordfreq", "workloads"];

fn main() {
    if let Err(message) = run() {
        println!("cargo::error={message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .map_err(|e| e.to_string())?;
    let programs = root.join("programs");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo::rerun-if-changed={}", programs.display());

    // The outer target directory (OUT_DIR is <target>/<profile>/build/<pkg>/out).
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("wasm-programs");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let cargo_home = env::var("CARGO_HOME")
        .unwrap_or_else(|_| format!("{}/.cargo", env::var("HOME").unwrap_or_default()));
    let rustflags = format!(
        "--remap-path-prefix={}=/ecm --remap-path-prefix={cargo_home}=/cargo",
        root.display()
    );

    let step_packages = MODULES
        .iter()
        .map(|m| format!("ecm-wasm-{}", m.replace('_', "-")));
    cargo_build(
        &cargo,
        &programs,
        &target_dir,
        &rustflags,
        "wasm32-unknown-unknown",
        step_packages,
    )?;
    let wasi_packages = WASI_PROGRAMS.iter().map(|p| format!("ecm-wasi-{p}"));
    cargo_build(
        &cargo,
        &programs,
        &target_dir,
        &rustflags,
        "wasm32-wasip1",
        wasi_packages,
    )?;

    let built = target_dir.join("wasm32-unknown-unknown/release");
    for module in MODULES {
        let from = built.join(format!("ecm_wasm_{module}.wasm"));
        let to = out_dir.join(format!("{module}.wasm"));
        std::fs::copy(&from, &to).map_err(|e| format!("copying {}: {e}", from.display()))?;
    }
    let built = target_dir.join("wasm32-wasip1/release");
    for program in WASI_PROGRAMS {
        let from = built.join(format!("{program}.wasm"));
        let to = out_dir.join(format!("wasi_{program}.wasm"));
        std::fs::copy(&from, &to).map_err(|e| format!("copying {}: {e}", from.display()))?;
    }
    Ok(())
}

/// `cargo build --release --locked --target <target> -p <package>...` in the guest workspace.
fn cargo_build(
    cargo: &str,
    programs: &std::path::Path,
    target_dir: &std::path::Path,
    rustflags: &str,
    target: &str,
    packages: impl Iterator<Item = String>,
) -> Result<(), String> {
    let mut command = Command::new(cargo);
    command
        .current_dir(programs)
        .args(["build", "--release", "--locked", "--target", target]);
    for package in packages {
        command.arg("-p").arg(package);
    }
    command
        .arg("--target-dir")
        .arg(target_dir)
        // Flags meant for the outer build must not leak into the guest build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags.replace(' ', "\u{1f}"));
    let output = command
        .output()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains(target) && stderr.contains("target may not be installed") {
            format!(
                "\nhint: install the target with `rustup target add {target}` (rust-toolchain.toml lists it; `rustup toolchain install` adds it)"
            )
        } else {
            String::new()
        };
        return Err(format!(
            "building the guest programs in programs/ for {target} failed:\n{stderr}{hint}"
        ));
    }
    Ok(())
}
