#!/usr/bin/env bash
# The test command of the README: installs what the tests need, then runs the whole test
# suite with the locked dependency versions.
#
# Needs: bubblewrap (the `bwrap` sandbox backend and its escape tests) and git (worktree
# workspaces). Installed with apt-get when missing; run as root, or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v git >/dev/null 2>&1 || missing+=(git)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${missing[*]}"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}"
fi

cargo test --workspace --locked "$@"
