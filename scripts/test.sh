#!/usr/bin/env bash
# The test command of the README: installs what the tests need, then runs the whole test
# suite with the locked dependency versions.
#
# Needs: bubblewrap (the `bwrap` sandbox backend and its escape tests), git (worktree
# workspaces), jq (the documented no-push hook of docs/hooks.md, run by a test), and node/npm for the npm MCP server (`npm ci`). Installed when missing; run
# as root, or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${missing[*]}"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}"
fi

# The npm MCP server the MCP tests run against (package.json, pinned in package-lock.json).
if [ ! -x node_modules/.bin/mcp-server-filesystem ]; then
    if ! command -v npm >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq nodejs npm
    fi
    npm ci --no-audit --no-fund
fi

# cargo-nextest when it is installed: each test in its own process, and a test that hangs
# (a child that never exits) is killed after 3 minutes (.config/nextest.toml) instead of
# holding CI. Doc tests run with cargo test, which nextest does not run.
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked "$@"
    cargo test --workspace --locked --doc
else
    cargo test --workspace --locked "$@"
fi
