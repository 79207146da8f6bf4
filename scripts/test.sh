#!/usr/bin/env bash
# The test command of the README: installs what the tests need (nothing beyond the Rust
# toolchain yet), then runs the whole test suite with the locked dependency versions.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked "$@"
