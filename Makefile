# The two commands a newcomer needs are `make demo` and `make test`; everything they need is
# installed from the registries first (npm: Foundry and solc; rustup: the toolchain and its
# wasm32 targets; crates.io: the Rust dependencies, fetched by cargo; Debian: the C toolchain
# for WASI that one test uses, and the headless Chromium the explorer's test drives).

CARGO ?= cargo
# The native forge of the platform package: the node wrapper in node_modules/.bin does not
# pass the exit status on, so failing tests would look green through it.
FORGE = $(firstword $(wildcard node_modules/@foundry-rs/forge-*/bin/forge))

SLITHER := .venv/bin/slither

.PHONY: install install-test-packages demo devnet test test-contracts test-rust slither lint

## npm packages (Foundry, solc, OpenZeppelin) and the pinned Rust toolchain with its WASM target.
## `npm install` rather than `npm ci`: the registry here lacks Foundry's binaries for other
## platforms, so the lock file cannot list them and `npm ci` would refuse it; with exact
## versions in package.json and the lock file, `npm install` installs the same tree.
install:
	npm install --no-audit --no-fund
	rustup toolchain install

## The whole story on an embedded devnet: an honest job, a cheating host caught, a cancel.
demo: install
	$(CARGO) run -p ecm-cli -- demo

## Debian packages only the tests need: clang, lld and wasi-libc build the C example program for
## the machine (crates/cli/tests/it/program_run.rs); Chromium's headless shell is the browser
## the explorer is tested in (crates/cli/tests/it/explorer.rs). Installed only if missing.
TEST_PACKAGES := clang lld wasi-libc libclang-rt-14-dev-wasm32 chromium-headless-shell
install-test-packages:
	@missing=$$(for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  echo "installing Debian packages for the tests:" $$missing; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing \
	  || { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; }; \
	fi

## A local devnet with a host and a challenger, and the explorer on http://127.0.0.1:8080,
## until Ctrl-C (deployment in .ecm/deployment.json).
devnet: install
	$(CARGO) run -p ecm-cli -- devnet --host --challenger --explorer

## Every test: formatting and clippy, the Foundry suite (with gas snapshots checked), slither's
## static analysis, then the Rust workspace, whose end-to-end tests start their own Anvil nodes.
test: install install-test-packages lint test-contracts slither test-rust

test-contracts:
	$(FORGE) build --sizes
	FOUNDRY_PROFILE=ci FORGE_SNAPSHOT_CHECK=true $(FORGE) test

test-rust:
	$(CARGO) test --workspace --locked

## Static analysis of the contracts; fails on any finding of low impact or more
## (slither.config.json; the triage of what remains is in docs/slither-triage.md).
slither: $(SLITHER)
	PATH="$(abspath $(dir $(FORGE))):$$PATH" $(SLITHER) .

$(SLITHER):
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check slither-analyzer==0.11.6 crytic-compile==0.4.2

## Formatting (forge fmt, rustfmt) and clippy with warnings as errors.
lint:
	$(FORGE) fmt --check
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --all-features --locked -- -D warnings
