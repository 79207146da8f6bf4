#!/usr/bin/env python3
"""Whole-binary benchmarks of rein, each reported against a baseline measured in the same run.

- `rein --version` start-up time vs `/bin/true` (fork+exec floor)
- a 200-step run (scripted model, `list_dir` each step, trace on): wall time per step and
  peak RSS of the rein process
- a 50-step run with one `shell` call per step (`true`) on each backend (host, linux,
  bwrap): time per step vs a bare fork+exec of `bash -c true`

Usage: scripts/bench.py [path/to/rein]   (default: target/release/rein, built if missing)
"""
import json, os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rein_binary():
    if len(sys.argv) > 1:
        return os.path.abspath(sys.argv[1])
    path = os.path.join(ROOT, "target", "release", "rein")
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "rein"], cwd=ROOT, check=True)
    return path


def median_time(argv, n, **kw):
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, **kw)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def write_agent(dir, n_steps, tool_call, sandbox="host"):
    turns = [{"tool_calls": [tool_call(i)]} for i in range(n_steps)] + [{"text": "done"}]
    with open(os.path.join(dir, "script.json"), "w") as f:
        json.dump({"turns": turns}, f)
    with open(os.path.join(dir, "agent.toml"), "w") as f:
        f.write(f"""name = "bench"
[model]
provider = "scripted"
name = "bench"
script = "script.json"
[prompt]
task = "benchmark"
[environment]
sandbox = "{sandbox}"
[loop]
max_steps = {n_steps + 1}
stuck_after = 1000
[tools]
builtin = ["list_dir", "shell"]
""")


def run_agent(rein, dir):
    """Wall time and peak RSS (KiB) of one `rein run`, measured on that process alone."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([rein, "run", "agent.toml"], cwd=dir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"rein run failed with exit code {proc.returncode} in {dir}")
    return elapsed, usage.ru_maxrss


def main():
    rein = rein_binary()
    true_s = median_time(["/bin/true"], 200)
    version_s = median_time([rein, "--version"], 200)
    print(f"start-up: rein --version {version_s*1e3:.2f} ms, /bin/true {true_s*1e3:.2f} ms, "
          f"ratio {version_s/true_s:.1f}x")

    with tempfile.TemporaryDirectory() as dir:
        # Distinct arguments per step so stuck detection is not what is measured.
        write_agent(dir, 200, lambda i: {"name": "list_dir", "arguments": {"path": "." + "/." * (i % 50)}})
        runs = [run_agent(rein, dir) for _ in range(5)]
        per_step = statistics.median(r[0] for r in runs) / 200
        peak = max(r[1] for r in runs)
        print(f"200-step run (list_dir): {per_step*1e6:.0f} µs per step (whole process, incl. start-up), "
              f"peak RSS {peak/1024:.1f} MiB")

    bash_s = median_time(["bash", "-c", "true"], 100)
    for sandbox in ["host", "linux", "bwrap"]:
        with tempfile.TemporaryDirectory() as dir:
            write_agent(dir, 50, lambda i: {"name": "shell", "arguments": {"command": f"true {i}"}}, sandbox)
            runs = [run_agent(rein, dir) for _ in range(5)]
            per_step = statistics.median(r[0] for r in runs) / 50
            print(f"50-step run (shell `true`, sandbox {sandbox}): {per_step*1e3:.2f} ms per step "
                  f"(whole process); bare `bash -c true` {bash_s*1e3:.2f} ms; ratio {per_step/bash_s:.2f}x")


if __name__ == "__main__":
    main()
