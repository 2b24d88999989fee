#!/usr/bin/env python3
"""Check that the modules of src/ import each other without a cycle, and that the public API
has one path per item.

Reads every `crate::<module>` path in src/**/*.rs (in `use` lines and in code, doc comments
and comments excluded), builds the graph "module -> modules it names", and prints it in
dependency order; exits 1 with the cycle if there is one. Submodules count as their top-level
module (`crate::testing::world` is `testing`); `lib.rs` (the re-export list) is left out, as
it names every module by design. For the public API: the only public modules are `e164` and
`testing` (whose items are not re-exported at the root), and no name is re-exported twice.

Usage: python3 tools/check_imports.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
GROUP = re.compile(r"\bcrate::\{([^}]*)\}")


def module_of(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return parts[0] if parts[0] != "mod" else parts[0]


def names(path: Path) -> set[str]:
    found: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        code = line.split("//", 1)[0]
        found.update(PATH.findall(code))
        for group in GROUP.findall(code):
            found.update(item.strip().split("::")[0] for item in group.split(",") if item.strip())
    # `super::` inside a module's own files stays inside the module.
    return found


def main() -> int:
    graph: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.rs")):
        if path == SRC / "lib.rs":
            continue
        module = module_of(path)
        graph.setdefault(module, set()).update(n for n in names(path) if n != module)
    # Names re-exported at the crate root (`crate::Engine`) are not modules: resolve them
    # through lib.rs's `pub use module::{...}` list.
    reexports: dict[str, str] = {}
    lib = (SRC / "lib.rs").read_text(encoding="utf-8")
    for module, items in re.findall(r"pub use (\w+)::\{([^}]*)\}", lib):
        for item in items.split(","):
            if item.strip():
                reexports[item.strip()] = module
    for module, item in re.findall(r"pub use (\w+)::(\w+);", lib):
        reexports[item] = module
    for module in graph:
        graph[module] = {reexports.get(n, n) for n in graph[module]} - {module}
        graph[module] = {n for n in graph[module] if (SRC / f"{n}.rs").exists() or (SRC / n).is_dir()}

    public_modules = set(re.findall(r"^pub mod (\w+);", lib, re.M))
    if public_modules - {"e164", "testing"}:
        print(f"public modules beyond e164 and testing: {sorted(public_modules)}")
        return 1
    names_seen: dict[str, str] = {}
    for item, module in list(reexports.items()):
        if module in public_modules:
            print(f"{item} is reachable as {module}::{item} and at the root")
            return 1
    root_items = re.findall(r"pub use \w+::\{([^}]*)\}", lib) + re.findall(r"pub use [\w:]+::(\w+);", lib)
    for group in root_items:
        for item in (i.strip() for i in group.split(",")):
            if item and item in names_seen:
                print(f"{item} is re-exported twice")
                return 1
            names_seen[item] = item

    order: list[str] = []
    state: dict[str, str] = {}

    def visit(module: str, stack: list[str]) -> list[str] | None:
        if state.get(module) == "done":
            return None
        if state.get(module) == "open":
            return stack[stack.index(module):] + [module]
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            cycle = visit(dep, stack + [module])
            if cycle:
                return cycle
        state[module] = "done"
        order.append(module)
        return None

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle:
            print("import cycle: " + " -> ".join(cycle))
            return 1
    for module in order:
        deps = ", ".join(sorted(graph.get(module, ()))) or "-"
        print(f"{module:10} <- {deps}")
    print(f"no import cycle among {len(order)} modules of src/; "
          f"{len(names_seen)} root items, each re-exported once; public modules: e164, testing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
