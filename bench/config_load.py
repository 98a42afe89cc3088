"""Config load benchmark: a generated 1,000-site x 5-check checks.yaml.

Prints the load time (read + validate + compile, in this process, with libyaml's C
loader; goals: at most 1 s for 1,000 sites = 5,000 checks, at most 5 s for 20,000 sites =
100,000 checks) and the memory each compiled check costs (goal: well under 1 KB). Each
run after the first loads while the previous run's config is still held, as a reload does.

    .venv/bin/python bench/config_load.py [--sites 1000] [--repeat 5]
    .venv/bin/python bench/config_load.py --sites 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

from monitor.config import load_config

CHECKS = (
    "home: {path: /, expect: {status: 200, body_contains: Shop, max_response_time: 3s}}",
    "checkout: {path: /checkout, expect: {status: [200, 302]}, impact: function}",
    "api: {path: /api/health, expect: {json: {status: ok}}, impact: function}",
    "tls: {type: tls, expect: {valid_for: 14d}, impact: warning}",
    "db: {type: tcp, target: 'db{n}.example:5432', impact: function}",
)


def generate(sites: int) -> str:
    lines = [
        "vakt: 1",
        "settings: {timezone: Europe/Oslo, email: {team: ops@agency.example}}",
        "customers:",
    ]
    per_customer = 10
    for c in range(0, sites, per_customer):
        lines += [
            f"  customer{c}:",
            f"    name: Customer {c}",
            f"    contacts: [{{name: Contact {c}, email: c{c}@customer.example}}]",
            "    sites:",
        ]
        for n in range(c, min(c + per_customer, sites)):
            lines += [f"      site{n}:", f"        url: https://site{n}.example", "        checks:"]
            lines += [f"          {check.replace('{n}', str(n))}" for check in CHECKS]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    loader = "C (libyaml)" if getattr(yaml, "__with_libyaml__", False) else "pure Python"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "checks.yaml"
        path.write_text(generate(args.sites))
        times, cpu = [], []
        for _ in range(args.repeat):
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            config = load_config(str(path))
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        checks = len(config.checks())
        del config
        gc.collect()
        per_check = memory_per_check(path, checks)
    print(f"config: {args.sites} sites x {len(CHECKS)} checks = {checks} checks, YAML {loader}")
    print(
        f"load time: median {statistics.median(times) * 1000:.0f} ms, "
        f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
        f"over {args.repeat} runs{_goal(checks)}"
    )
    print(f"CPU time: median {statistics.median(cpu) * 1000:.0f} ms, min {min(cpu) * 1000:.0f} ms")
    print(f"memory: {per_check:.0f} bytes per compiled check (goal < 1024)")


def _goal(checks: int) -> str:
    for size, ms in ((5_000, 1_000), (100_000, 5_000)):
        if checks <= size:
            return f" (goal <= {ms:,} ms for {size:,} checks)"
    return ""


def memory_per_check(path: Path, checks: int) -> float:
    """Traced bytes still held by the compiled Config, per check (temporaries excluded)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    config = load_config(str(path))
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(config.checks()) == checks
    return (after - before) / checks


if __name__ == "__main__":
    main()
