//! Compiles `contracts/` with foundry-compilers through the npm-backed `tools/solc` shim, then
//! writes `sol!` bindings over the artifacts. The compiler settings are read from
//! `foundry.toml`, so the bytecode deployed from Rust is the bytecode `forge test` tested.
//! Test fixtures (`contracts/test/utils/`) are compiled only with the `test-fixtures` feature.
//!
//! It also writes the protocol's enums (`Status`, `Phase`, ...) as plain Rust enums, parsed from
//! the interfaces' Solidity source with their NatSpec: the JSON ABI knows them only as `uint8`,
//! and `sol!` over the source adds a hidden invalid variant that defeats exhaustive matches.

use foundry_compilers::{
    ConfigurableArtifacts, Project, ProjectBuilder, ProjectPathsConfig,
    artifacts::{
        EvmVersion, Optimizer, Remapping, Settings,
        output_selection::OutputSelection,
        solc::{BytecodeHash, SettingsMetadata},
    },
    solc::{Solc, SolcCompiler, SolcSettings},
};
use std::{fmt::Write as _, path::PathBuf, str::FromStr};

/// The contracts the rest of ecm uses: `(source file under contracts/, contract name)`.
const CONTRACTS: &[(&str, &str)] = &[
    ("Broker.sol", "Broker"),
    ("Factory.sol", "Factory"),
    ("Execution.sol", "Execution"),
    ("programs/Fibonacci.sol", "Fibonacci"),
    ("programs/BuildByteArray.sol", "BuildByteArray"),
    ("programs/Counter.sol", "Counter"),
    ("programs/KeccakChain.sol", "KeccakChain"),
    ("programs/Blake2b.sol", "Blake2b"),
    ("verifier/StepHarness.sol", "StepHarness"),
    ("machine/MachineProver.sol", "MachineProver"),
];

/// Test fixtures, compiled with the `test-fixtures` feature only.
const TEST_FIXTURES: &[(&str, &str)] = &[
    // A program whose EVM side diverges from its WASM module.
    ("test/utils/Divergent.sol", "DivergentCounter"),
];

/// The interfaces whose enums become the `protocol` module, under contracts/.
const PROTOCOL_SOURCES: &[&str] = &["interfaces/IBroker.sol", "interfaces/IFactory.sol"];

fn main() {
    if let Err(message) = run() {
        println!("cargo::error={message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .map_err(|e| e.to_string())?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let contracts = root.join("contracts");

    println!("cargo::rerun-if-changed={}", contracts.display());
    println!(
        "cargo::rerun-if-changed={}",
        root.join("tools/solc").display()
    );
    println!(
        "cargo::rerun-if-changed={}",
        root.join("package-lock.json").display()
    );
    println!(
        "cargo::rerun-if-changed={}",
        root.join("foundry.toml").display()
    );

    if !root.join("node_modules/solc/package.json").exists() {
        return Err(format!(
            "the Solidity compiler is missing: run `make install` in {} (it installs solc and Foundry from npm)",
            root.display()
        ));
    }
    let solc = Solc::new(root.join("tools/solc")).map_err(|e| {
        format!("cannot run tools/solc: {e} (is Node.js installed and `make install` done?)")
    })?;

    let foundry = FoundryProfile::read(&root.join("foundry.toml"))?;
    let mut paths = ProjectPathsConfig::builder()
        .root(&root)
        .sources(&contracts)
        .artifacts(out_dir.join("artifacts"))
        .cache(out_dir.join("cache/solidity-files-cache.json"))
        .lib(root.join("node_modules"));
    for remapping in &foundry.remappings {
        paths = paths
            .remapping(Remapping::from_str(remapping).map_err(|e| format!("foundry.toml: {e}"))?);
    }
    let paths = paths.build().map_err(|e| e.to_string())?;

    let settings = SolcSettings {
        settings: Settings {
            optimizer: Optimizer {
                enabled: Some(foundry.optimizer),
                runs: Some(foundry.optimizer_runs),
                ..Default::default()
            },
            evm_version: Some(foundry.evm_version),
            metadata: Some(SettingsMetadata::new(
                foundry.bytecode_hash,
                foundry.cbor_metadata,
            )),
            output_selection: OutputSelection::default_output_selection(),
            ..Default::default()
        },
        ..Default::default()
    };
    let project: Project<SolcCompiler, ConfigurableArtifacts> =
        ProjectBuilder::new(ConfigurableArtifacts::default())
            .paths(paths)
            .settings(settings)
            .offline()
            .build(SolcCompiler::Specific(solc))
            .map_err(|e| e.to_string())?;

    let fixtures = std::env::var_os("CARGO_FEATURE_TEST_FIXTURES").is_some();
    let contracts_wanted: Vec<(&str, &str)> = CONTRACTS
        .iter()
        .chain(if fixtures { TEST_FIXTURES } else { &[] })
        .copied()
        .collect();
    let files: Vec<PathBuf> = contracts_wanted
        .iter()
        .map(|(file, _)| contracts.join(file))
        .collect();
    let output = project
        .compile_files(files)
        .map_err(|e| format!("compiling contracts/: {e}"))?;
    if output.has_compiler_errors() {
        return Err(format!("contracts/ does not compile:\n{output}"));
    }

    let mut bindings = String::from("// Generated by build.rs from the compiled artifacts.\n");
    for (file, name) in &contracts_wanted {
        let artifact = out_dir
            .join("artifacts")
            .join(file.rsplit('/').next().unwrap())
            .join(format!("{name}.json"));
        if !artifact.exists() {
            return Err(format!("no artifact for {name} at {}", artifact.display()));
        }
        writeln!(
            bindings,
            "alloy::sol!(\n    #[allow(missing_docs)]\n    #[sol(rpc, all_derives)]\n    {name},\n    {:?}\n);",
            artifact.display().to_string()
        )
        .unwrap();
    }
    std::fs::write(out_dir.join("bindings.rs"), bindings).map_err(|e| e.to_string())?;

    let mut protocol = String::from("// Generated by build.rs from the interfaces' enums.\n");
    let mut seen = Vec::new();
    for file in PROTOCOL_SOURCES {
        let path = contracts.join(file);
        let source = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        for item in protocol_enums(&source).map_err(|e| format!("{}: {e}", path.display()))? {
            if seen.contains(&item.name) {
                return Err(format!(
                    "enum {} is declared twice in {PROTOCOL_SOURCES:?}",
                    item.name
                ));
            }
            item.write(&mut protocol);
            seen.push(item.name);
        }
    }
    std::fs::write(out_dir.join("protocol.rs"), protocol).map_err(|e| e.to_string())?;
    Ok(())
}

/// The compiler settings of foundry.toml's default profile, so that the bytecode deployed from
/// Rust is the bytecode `forge test` tested. A setting this build does not read is refused
/// rather than ignored.
struct FoundryProfile {
    remappings: Vec<String>,
    evm_version: EvmVersion,
    optimizer: bool,
    optimizer_runs: usize,
    bytecode_hash: BytecodeHash,
    cbor_metadata: bool,
}

impl FoundryProfile {
    /// Settings that change the bytecode, beside the ones read; refused if present.
    const UNSUPPORTED: &[&str] = &["via_ir", "libraries", "optimizer_details", "model_checker"];

    fn read(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let doc =
            toml_edit::Document::parse(text).map_err(|e| format!("{}: {e}", path.display()))?;
        let profile = doc
            .get("profile")
            .and_then(|p| p.get("default"))
            .and_then(|p| p.as_table_like())
            .ok_or_else(|| format!("{}: no [profile.default]", path.display()))?;
        let bad = |key: &str, what: &str| format!("{}: `{key}` must be {what}", path.display());
        for key in Self::UNSUPPORTED {
            if profile.contains_key(key) {
                return Err(format!(
                    "{}: `{key}` is set, and crates/bindings/build.rs does not pass it to solc: \
                     teach it to, so Rust deploys what forge tests",
                    path.display()
                ));
            }
        }
        let string = |key: &str| -> Result<&str, String> {
            profile
                .get(key)
                .and_then(|v| v.as_str())
                .ok_or_else(|| bad(key, "a string"))
        };
        let boolean = |key: &str| -> Result<bool, String> {
            profile
                .get(key)
                .and_then(|v| v.as_bool())
                .ok_or_else(|| bad(key, "true or false"))
        };
        let remappings = match profile.get("remappings") {
            None => Vec::new(),
            Some(item) => item
                .as_array()
                .ok_or_else(|| bad("remappings", "an array of strings"))?
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| bad("remappings", "an array of strings"))?,
        };
        Ok(Self {
            remappings,
            evm_version: EvmVersion::from_str(string("evm_version")?)
                .map_err(|_| bad("evm_version", "an EVM version solc knows"))?,
            optimizer: boolean("optimizer")?,
            optimizer_runs: profile
                .get("optimizer_runs")
                .and_then(|v| v.as_integer())
                .and_then(|runs| usize::try_from(runs).ok())
                .ok_or_else(|| bad("optimizer_runs", "a non-negative integer"))?,
            bytecode_hash: BytecodeHash::from_str(string("bytecode_hash")?)
                .map_err(|_| bad("bytecode_hash", "none, ipfs or bzzr1"))?,
            cbor_metadata: boolean("cbor_metadata")?,
        })
    }
}

/// A Solidity enum: its name, variants and their NatSpec.
struct SolEnum {
    name: String,
    docs: Vec<String>,
    variants: Vec<(String, Vec<String>)>,
}

/// The enums declared in the interfaces of a Solidity file.
fn protocol_enums(source: &str) -> Result<Vec<SolEnum>, String> {
    let file: syn_solidity::File = syn::parse_str(source).map_err(|e| e.to_string())?;
    let mut enums = Vec::new();
    for item in &file.items {
        let syn_solidity::Item::Contract(contract) = item else {
            continue;
        };
        for item in &contract.body {
            if let syn_solidity::Item::Enum(e) = item {
                enums.push(SolEnum {
                    name: e.name.to_string(),
                    docs: docs(&e.attrs),
                    variants: e
                        .variants
                        .iter()
                        .map(|v| (v.ident.to_string(), docs(&v.attrs)))
                        .collect(),
                });
            }
        }
    }
    Ok(enums)
}

/// The doc lines of NatSpec comments, without their `@notice` tag.
fn docs(attrs: &[syn::Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }),
                ..
            }) => Some(s.value()),
            _ => None,
        })
        .map(|line| line.trim().trim_start_matches("@notice").trim().to_string())
        .collect()
}

impl SolEnum {
    /// The Rust enum, numbered as the ABI numbers it, and its conversions.
    fn write(&self, out: &mut String) {
        let name = &self.name;
        let count = self.variants.len();
        let doc = |out: &mut String, lines: &[String], indent: &str| {
            for line in lines {
                writeln!(out, "{indent}#[doc = {:?}]", format!(" {line}")).unwrap();
            }
        };
        doc(out, &self.docs, "");
        writeln!(
            out,
            "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]\n#[repr(u8)]\npub enum {name} {{"
        )
        .unwrap();
        for (index, (variant, lines)) in self.variants.iter().enumerate() {
            doc(out, lines, "    ");
            writeln!(out, "    {variant} = {index},").unwrap();
        }
        writeln!(out, "}}\n\nimpl {name} {{").unwrap();
        writeln!(
            out,
            "    /// Every value, in the contract's order.\n    pub const ALL: [Self; {count}] = [{}];",
            self.variants
                .iter()
                .map(|(v, _)| format!("Self::{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
        .unwrap();
        writeln!(
            out,
            "\n    /// The value's name in the contract.\n    pub const fn name(self) -> &'static str {{\n        match self {{"
        )
        .unwrap();
        for (variant, _) in &self.variants {
            writeln!(out, "            Self::{variant} => {variant:?},").unwrap();
        }
        writeln!(out, "        }}\n    }}\n}}\n").unwrap();
        writeln!(
            out,
            "impl TryFrom<u8> for {name} {{
    type Error = UnknownValue;

    fn try_from(value: u8) -> Result<Self, UnknownValue> {{
        Self::ALL.get(usize::from(value)).copied().ok_or(UnknownValue {{ ty: {name:?}, value }})
    }}
}}

impl From<{name}> for u8 {{
    fn from(value: {name}) -> u8 {{
        value as u8
    }}
}}

impl std::fmt::Display for {name} {{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{
        f.write_str(self.name())
    }}
}}

impl serde::Serialize for {name} {{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {{
        serializer.serialize_str(self.name())
    }}
}}
"
        )
        .unwrap();
    }
}
