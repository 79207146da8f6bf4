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
# holding CI. Doc tests run first with cargo test (nextest does not run them), so the last
# lines are the whole suite's: the runner's own summary, then one plain
# `N passed, N failed` line totalled over every test binary.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
if cargo nextest --version >/dev/null 2>&1; then
    cargo test --workspace --locked --doc
    cargo nextest run --workspace --locked "$@" 2>&1 | tee "$log" || status=$?
    summary=$(grep -E '^ *Summary \[' "$log" | tail -1 || true)
    passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$summary")
    failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")
else
    cargo test --workspace --locked "$@" 2>&1 | tee "$log" || status=$?
    read -r passed failed < <(awk '/^test result: / {
        for (i = 1; i < NF; i++) {
            if ($(i + 1) ~ /^passed/) p += $i
            if ($(i + 1) ~ /^failed/) f += $i
        }
    } END { print p + 0, f + 0 }' "$log")
fi
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
