#!/usr/bin/env python3
"""Check that the modules of src/ import only downward, along the layers below, and that the
public API has one path per item.

Reads every `crate::<module>` path in src/**/*.rs (in `use` lines and in code; doc comments,
comments and a file's closing `#[cfg(test)] mod tests` excluded: a unit test may drive its
module from above, e.g. through the `Engine`), builds the graph "module -> modules it names",
and checks it against LAYERS: a module may import only modules of a strictly lower layer
(so two modules of one layer never import each other, and no cycle is possible). It exits 1
naming each upward or sideways import, and each module missing from LAYERS (a new module is
placed in a layer by editing this file). Submodules count as their top-level module
(`crate::testing::world` is `testing`); `lib.rs` (the re-export list) is left out, as it names
every module by design. The phone rule (`crate::e164`) is the crate `bulk-contacts-e164`, a
dependency below every layer: it cannot import from here at all. For the public API: the only public modules are `e164` and `testing`
(whose items are not re-exported at the root), and no name is re-exported twice.

Usage: python3 tools/check_imports.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
GROUP = re.compile(r"\bcrate::\{([^}]*)\}")

# The layers of src/, lowest first: each module may import only modules of a lower layer.
LAYERS: list[tuple[str, list[str]]] = [
    # Knows no rule: the limits and their constants, the macro of the code tables, the
    # batch's hash maps, serde_json's output length, the formats of
    # rule 7, and the lookups' values and traits (SPEC §7).
    ("foundations", ["limits", "table", "hashing", "written", "formats", "lookup"]),
    # The member names the rules read (SPEC §4), each spelled once.
    ("names", ["member"]),
    # The JSON reader (SPEC §3 checks 3 to 5), and the codes and messages of SPEC §3 and §4:
    # neither knows the other.
    ("reader and codes", ["scan", "codes"]),
    # Rules 1 to 8 on one read contact; the account's key and billing (SPEC §3 checks 1, 6).
    ("rules", ["rules", "account"]),
    # A body read into its contacts; the maps of prefetched rows.
    ("read body", ["request", "prefetch"]),
    # The batch that owns what was read.
    ("batch", ["batch"]),
    # Each contact's outcome and the summary (SPEC §5).
    ("outcomes", ["summary"]),
    # The stages after reading (rules 9 to 12), the response, the client's splitter.
    ("stages and answers", ["screen", "response", "batching"]),
    # Every step of a request, in order.
    ("engine", ["engine"]),
    # What is built on the engine: the client's pre-check, the store's write plan, the
    # in-memory world of the tests.
    ("on the engine", ["precheck", "writes", "testing"]),
]


def module_of(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return parts[0] if parts[0] != "mod" else parts[0]


def names(path: Path) -> set[str]:
    found: set[str] = set()
    lines = path.read_text(encoding="utf-8").splitlines()
    for at, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]" and at + 1 < len(lines) and lines[at + 1].strip() == "mod tests {":
            # The unit tests end the file, by this crate's convention: checked below.
            if lines[-1].strip() != "}" or any(l.startswith("}") for l in lines[at + 2 : -1]):
                raise SystemExit(f"{path}: `mod tests` does not end the file")
            break
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

    layer_of: dict[str, int] = {}
    for rank, (_, modules) in enumerate(LAYERS):
        for module in modules:
            if module in layer_of:
                print(f"{module} is in two layers")
                return 1
            layer_of[module] = rank
    problems: list[str] = []
    for module in sorted(graph):
        if module not in layer_of:
            problems.append(f"{module} is in no layer: place it in LAYERS (tools/check_imports.py)")
    for module in sorted(layer_of):
        if module not in graph:
            problems.append(f"LAYERS names {module}, which is no module of src/")
    for module in sorted(graph):
        for dep in sorted(graph[module]):
            if module in layer_of and dep in layer_of and layer_of[dep] >= layer_of[module]:
                way = "sideways" if layer_of[dep] == layer_of[module] else "upward"
                problems.append(
                    f"{way} import: {module} ({LAYERS[layer_of[module]][0]}) imports "
                    f"{dep} ({LAYERS[layer_of[dep]][0]})"
                )
    if problems:
        print("\n".join(problems))
        return 1
    for rank, (layer, modules) in enumerate(LAYERS):
        print(f"{rank} {layer}")
        for module in modules:
            deps = ", ".join(sorted(graph.get(module, ()), key=lambda d: (layer_of[d], d))) or "-"
            print(f"    {module:10} <- {deps}")
    print(f"every import of the {len(graph)} modules of src/ goes to a lower layer (so no cycle); "
          f"{len(names_seen)} root items, each re-exported once; public modules: e164, testing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
