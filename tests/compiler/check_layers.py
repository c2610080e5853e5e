#!/usr/bin/env python3
"""The layers of docs/architecture.md, checked on every quoted #include.

Each folder may include only from the layers its row allows, so that every
arrow of the import graph points down and none runs both ways; Halide.h is
included only where pipelines are built. Exits 1 listing every violation.

    check_layers.py SOURCE_DIR
"""
import os
import re
import sys

# Folder -> the folders it may include from (itself included). Lowest first.
ALLOWED = {
    "runtime/base": {"runtime/base"},
    "runtime": {"runtime/base", "runtime"},
    "compiler/front": {"runtime/base", "compiler/front"},
    "compiler/lower": {"runtime/base", "compiler/front", "compiler/lower"},
    "compiler/schedule": {"runtime/base", "compiler/front", "compiler/lower", "compiler/schedule"},
    "compiler/aot": {"runtime/base", "runtime", "compiler/front", "compiler/lower", "compiler/schedule",
                     "compiler/aot"},
    "compiler/tune": {"runtime/base", "runtime", "compiler/front", "compiler/lower", "compiler/schedule",
                      "compiler/aot", "compiler/tune"},
    "compiler/api": {"runtime/base", "runtime", "compiler/front", "compiler/aot", "compiler/tune", "compiler/api"},
    # The command: front end and runtime linked in, the compiler only through
    # the interface it loads (api/compiler_api.h and the structs it passes).
    "tools/netc": {"runtime/base", "runtime", "compiler/front", "compiler/api", "compiler/aot", "compiler/tune",
                   "tools/netc"},
}
HALIDE_ALLOWED = {"compiler/lower", "compiler/schedule", "compiler/aot", "compiler/tune"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SOURCES = (".h", ".hpp", ".cpp", ".in")


def layer_of(path):
    """The ALLOWED row a repository path belongs to: its longest folder prefix."""
    rows = [row for row in ALLOWED if path == row or path.startswith(row + "/")]
    return max(rows, key=len) if rows else None


def resolve(root, includer, name):
    """The repository path `name` refers to, searched as the build's include folders do."""
    for folder in (os.path.dirname(includer), "compiler", "runtime", "runtime/base", "tools/netc"):
        candidate = os.path.normpath(os.path.join(folder, name))
        if os.path.isfile(os.path.join(root, candidate)):
            return candidate
    return None


def violations(root):
    for row in ALLOWED:
        for folder, _, files in os.walk(os.path.join(root, row)):
            for f in sorted(files):
                if not f.endswith(SOURCES):
                    continue
                path = os.path.relpath(os.path.join(folder, f), root)
                if layer_of(path) != row:
                    continue  # a deeper row's file, checked there
                text = open(os.path.join(root, path), encoding="utf-8").read()
                for name in INCLUDE.findall(text):
                    if name == "Halide.h":
                        if row not in HALIDE_ALLOWED:
                            yield f"{path}: includes Halide.h, which only {', '.join(sorted(HALIDE_ALLOWED))} may"
                        continue
                    target = resolve(root, path, name)
                    target_row = layer_of(target) if target else None
                    if target_row and target_row not in ALLOWED[row]:
                        yield f"{path}: includes {target} ({target_row}), above or beside {row}"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    found = list(violations(os.path.abspath(root)))
    for v in found:
        print(v)
    print(f"check_layers: {len(found)} include(s) break the layering")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
