#!/usr/bin/env python3
"""Checks the server's layering (docs/ARCHITECTURE.md, "Layers").

Each top-level module of server/src belongs to a layer; a module may use
modules of lower layers only (and its own). Every `crate::<module>` path in
a file counts, whether in a `use` line or in code. Exits 1 listing every
violation as file:line.

    python3 .ci/layers.py [server/src]
"""
import re
import sys
from pathlib import Path

# Highest first. A module may use modules of its own layer and of lower
# layers, never of a higher one. (Cycles inside a layer are caught by
# .ci/import-cycles.py.)
LAYERS = [
    ("entry points", {"cli", "runtime", "main"}),
    ("adapters", {"http", "jobs"}),
    ("application", {"app"}),
    ("services", {"gate", "policy", "ledger", "forge", "registry", "goproxy", "lookups", "keys", "oci"}),
    ("foundation", {"store", "config", "auth"}),
]
RANK = {m: i for i, (_, mods) in enumerate(LAYERS) for m in mods}
PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
USE_GROUP = re.compile(r"\buse\s+crate::\{([^;]*)\}", re.S)


def top_module(src: Path, file: Path) -> str:
    rel = file.relative_to(src)
    return rel.parts[0].removesuffix(".rs")


def main() -> int:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "server/src")
    problems = []
    unknown = set()
    for file in sorted(src.rglob("*.rs")):
        me = top_module(src, file)
        if me == "lib":
            continue
        if me not in RANK:
            unknown.add(me)
            continue
        # Comments do not import anything.
        text = "\n".join(line.split("//")[0] for line in file.read_text().splitlines())
        uses = []
        for m in PATH.finditer(text):
            uses.append((m.group(1), text.count("\n", 0, m.start()) + 1))
        for m in USE_GROUP.finditer(text):
            for name in re.findall(r"(?:^|,)\s*([a-z_][a-z0-9_]*)", m.group(1)):
                uses.append((name, text.count("\n", 0, m.start()) + 1))
        for other, line in uses:
            if other == me or other not in RANK:
                continue
            if RANK[other] < RANK[me]:
                problems.append(
                    f"{file}:{line}: `{me}` ({LAYERS[RANK[me]][0]}) uses `crate::{other}` "
                    f"({LAYERS[RANK[other]][0]}): a layer may not use a higher one"
                )
    for me in sorted(unknown):
        problems.append(f"{src}/{me}: module `{me}` has no layer in .ci/layers.py (add it to LAYERS)")
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layering violation(s); see docs/ARCHITECTURE.md, Layers")
        return 1
    print(f"layers ok: {sum(1 for _ in src.rglob('*.rs'))} files in {src}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
