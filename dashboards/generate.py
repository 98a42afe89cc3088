"""Generate Vakt's Grafana dashboards from the Python sources in `dashboards/src/`.

    python dashboards/generate.py           # rewrite dashboards/*.json
    python dashboards/generate.py --check   # exit 1 when a committed file is stale

Needs `grafana-foundation-sdk` (pinned exactly in the project's test extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import import_module
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = ("fleet", "customer", "health")


def render_all() -> dict[str, str]:
    """File name -> JSON text for every dashboard, deterministic byte for byte."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    if str(HERE / "src") not in sys.path:
        sys.path.insert(0, str(HERE / "src"))
    out: dict[str, str] = {}
    for name in SOURCES:
        built = import_module(name).build().build()
        text = json.dumps(built, cls=JSONEncoder, indent=2, sort_keys=True)
        out[f"vakt-{name}.json"] = text + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for file_name, text in render_all().items():
        path = HERE / file_name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(file_name)
        else:
            path.write_text(text)
    for file_name in stale:
        print(f"stale: dashboards/{file_name} (run python dashboards/generate.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
