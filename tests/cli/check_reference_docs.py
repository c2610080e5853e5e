#!/usr/bin/env python3
"""The reference docs cover what netc accepts.

- Every command that `netc --help` lists has a section "## `netc COMMAND`" in
  docs/cli.md, and every flag that `netc COMMAND --help` lists (long and short
  forms) is in a table row of that section or of "## Common flags".
- Every key the graph loader accepts is in docs/graph-format.md: each key of
  the lists of compiler/front/loader.cpp (kTopKeys, kInputKeys, ...) and a
  layer's own keys as a table row of the section that documents that map;
  every op name (compiler/front/ops/op_list.h) and every op's attributes (the
  AttrSpec lists of compiler/front/ops/*.cpp, and those `netc describe` prints
  for the graphs in graphs/) in the section on ops.

Usage: check_reference_docs.py --netc BUILD/bin/netc --source REPOSITORY
Exit 0 if everything is documented, 1 with a list of what is missing.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys


def run(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    if p.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def section(help_text, title):
    """The lines of CLI11's help section `title` ("Options:", "Subcommands:")."""
    lines, inside = [], False
    for line in help_text.splitlines():
        if line.strip() == title:
            inside = True
        elif inside and line and not line[0].isspace():
            inside = False  # the next section's title
        elif inside:
            lines.append(line)
    return lines


def commands(netc):
    names = []
    for line in section(run([netc, "--help"]), "Subcommands:"):
        m = re.match(r"\s+([a-z][a-z0-9-]*)\s", line)
        if m:
            names.append(m.group(1))
    return names


def flags(netc, command):
    """Every flag of `netc COMMAND --help`: "-o,--output TEXT  ..." gives -o and --output."""
    found = []
    for line in section(run([netc, command, "--help"]), "Options:"):
        m = re.match(r"\s+(-[^\s]*)", line)
        if not m:
            continue  # a continued description
        for name in m.group(1).split(","):
            # "--no-stages{false}": a flag with its default value.
            name = re.sub(r"\{[^}]*\}$", "", name.lstrip("!"))
            if not re.fullmatch(r"--?[A-Za-z][A-Za-z0-9-]*", name):
                sys.exit(f"netc {command} --help: cannot read the flag '{name}' in: {line.strip()}")
            found.append(name)
    return found


def mentions_flag(doc, flag):
    # The flag as a whole word: --no-stages does not document --no.
    return re.search(r"(?<![A-Za-z0-9-])" + re.escape(flag) + r"(?![A-Za-z0-9-])", doc) is not None


def mentions_key(doc, key):
    # In code style: `key`, `key: ...`, `{key, ...}`, `train.key`.
    return re.search(r"`[^`\n]*(?<![A-Za-z0-9_])" + re.escape(key) + r"(?![A-Za-z0-9_])[^`\n]*`", doc) is not None


def table_row(doc, key):
    # A table row of its own: | `key` | ...
    return re.search(r"^\| `" + re.escape(key) + r"` \|", doc, re.M) is not None


def doc_section(doc, heading):
    """The text under `heading` (a whole line such as "## Top level"), up to the next
    heading of the same or a higher level; None if there is no such heading."""
    lines = doc.splitlines()
    level = len(heading) - len(heading.lstrip("#"))
    for i, line in enumerate(lines):
        if line.strip() == heading:
            out = []
            for rest in lines[i + 1:]:
                m = re.match(r"(#+) ", rest)
                if m and len(m.group(1)) <= level:
                    break
                out.append(rest)
            return "\n".join(out)
    return None


# Where docs/graph-format.md documents each key list of the loader: each key
# must be a table row of that section. A list not named here (a new one) must
# have its keys as table rows somewhere in the doc.
SECTIONS = {
    "kTopKeys": "## Top level",
    "kInputKeys": "### `input`",
    "kTrainKeys": "## `train`",
    "kOptimizerKeys": "### `train.optimizer`",
    "kAugmentKeys": "### `train.augment`",
    "kLrScheduleKeys": "### `train.lr_schedule`",
    "layer": "## Layers",
}
OPS_SECTION = "### Ops and their attributes"
# The flags several commands share, in docs/cli.md.
COMMON_SECTION = "## Common flags"


def loader_keys(source):
    """{list name: [keys]} from compiler/front/loader.cpp, plus "layer": a layer's own keys."""
    text = open(os.path.join(source, "compiler/front/loader.cpp")).read()
    lists = re.findall(r"const std::vector<std::string> (k\w*Keys) = \{([^}]*)\};", text)
    if len(lists) < 4:
        sys.exit(f"found {len(lists)} key lists (kTopKeys, kInputKeys, ...) in compiler/front/loader.cpp, expected 4 or more")
    keys = {}
    for name, body in lists:
        keys[name] = re.findall(r'"([^"]+)"', body)
        if not keys[name]:
            sys.exit(f"{name} in compiler/front/loader.cpp: no keys found")
    # A layer's own keys, before its op's attributes.
    m = re.search(r"std::vector<std::string> allowed = \{([^}]*)\};", text)
    if not m or len(re.findall(r'"([^"]+)"', m.group(1))) < 3:
        sys.exit("compiler/front/loader.cpp: cannot find a layer's own keys (std::vector<std::string> allowed = {...})")
    keys["layer"] = re.findall(r'"([^"]+)"', m.group(1))
    return keys


def op_keys(source):
    """Op names and their attributes, from the op specs' source."""
    ops = re.findall(r"^NETC_OP\((\w+)\)", open(os.path.join(source, "compiler/front/ops/op_list.h")).read(), re.M)
    if len(ops) < 5:
        sys.exit(f"compiler/front/ops/op_list.h: found {len(ops)} ops")
    attributes = {}
    for path in sorted(glob.glob(os.path.join(source, "compiler/front/ops/*.cpp"))):
        for attr in re.findall(r'\{"(\w+)",\s*AttrKind::', open(path).read()):
            attributes.setdefault(attr, os.path.basename(path))
    if len(attributes) < 5:
        sys.exit(f"compiler/front/ops/*.cpp: found {len(attributes)} attributes (AttrSpec lists)")
    return ops, attributes


def described_keys(netc, source):
    """Ops, attributes, train and optimizer keys as `netc describe` prints them for graphs/."""
    ops, attributes, train, optimizer = set(), {}, set(), set()
    graphs = sorted(glob.glob(os.path.join(source, "graphs", "*.yaml")))
    if not graphs:
        sys.exit("no graphs in graphs/")
    for path in graphs:
        g = json.loads(run([netc, "describe", path]))
        for layer in g["layers"]:
            ops.add(layer["op"])
            for attr in layer["attributes"]:
                attributes.setdefault(attr, f"{layer['op']} in {os.path.basename(path)}")
        train.update(k for k in g["train"])
        optimizer.update(k for k in g["train"]["optimizer"])
    return ops, attributes, train, optimizer


def missing_graph_keys(doc, netc, source):
    missing = []

    def section(heading):
        text = doc_section(doc, heading)
        if text is None:
            missing.append(f"docs/graph-format.md: no section '{heading}'")
            return ""
        return text

    count = 0
    for name, keys in loader_keys(source).items():
        where = section(SECTIONS[name]) if name in SECTIONS else doc
        for key in keys:
            count += 1
            if not table_row(where, key):
                missing.append(f"docs/graph-format.md: key `{key}` ({name}) as a table row of "
                               f"'{SECTIONS.get(name, 'any section')}'")
    ops_text = section(OPS_SECTION)
    ops, attributes = op_keys(source)
    d_ops, d_attributes, d_train, d_optimizer = described_keys(netc, source)
    for op in sorted(set(ops) | d_ops):
        count += 1
        # Its own row, or named in the first cell of one: | `relu`, `tanh` |
        if not re.search(r"^\|[^|`]*(`[^`|]*`[^|`]*)*`" + re.escape(op) + r"`", ops_text, re.M):
            missing.append(f"docs/graph-format.md: op `{op}` as a row of '{OPS_SECTION}'")
    for attr, where in sorted({**d_attributes, **attributes}.items()):
        count += 1
        if not mentions_key(ops_text, attr):
            missing.append(f"docs/graph-format.md: attribute `{attr}` ({where}) in '{OPS_SECTION}'")
    for keys, heading in ((d_train, SECTIONS["kTrainKeys"]), (d_optimizer, SECTIONS["kOptimizerKeys"])):
        text = section(heading)
        for key in sorted(keys):
            count += 1
            if not table_row(text, key):
                missing.append(f"docs/graph-format.md: key `{key}` (netc describe) as a table row of '{heading}'")
    return missing, count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--netc", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--cli-doc", help="default: docs/cli.md of --source")
    parser.add_argument("--graph-doc", help="default: docs/graph-format.md of --source")
    args = parser.parse_args()
    cli_doc = open(args.cli_doc or os.path.join(args.source, "docs/cli.md")).read()
    graph_doc = open(args.graph_doc or os.path.join(args.source, "docs/graph-format.md")).read()

    missing = []
    names = commands(args.netc)
    if len(names) < 5:
        sys.exit(f"netc --help lists {len(names)} commands: {names}")
    n_flags = 0
    common = doc_section(cli_doc, COMMON_SECTION)
    if common is None:
        missing.append(f"docs/cli.md: no section '{COMMON_SECTION}'")
        common = ""
    for command in names:
        own = doc_section(cli_doc, f"## `netc {command}`")
        if own is None:
            missing.append(f"docs/cli.md: no section '## `netc {command}`'")
            own = ""
        # A flag is documented in a table row (its first cell) of the command's
        # section, or of the flags every command shares.
        cells = [row.split("|")[1] for row in (own + "\n" + common).splitlines() if row.startswith("|")]
        command_flags = flags(args.netc, command)
        if "--help" not in command_flags:
            sys.exit(f"netc {command} --help: could not read its options ({command_flags})")
        n_flags += len(command_flags)
        for flag in command_flags:
            if not any(mentions_flag(cell, flag) for cell in cells):
                missing.append(f"docs/cli.md: netc {command} {flag}, in a table of '## `netc {command}`' "
                               f"or '{COMMON_SECTION}'")

    graph_missing, n_keys = missing_graph_keys(graph_doc, args.netc, args.source)
    missing += graph_missing

    if missing:
        print("not documented:\n  " + "\n  ".join(missing))
        return 1
    print(f"{len(names)} commands, {n_flags} flags in docs/cli.md; {n_keys} keys in docs/graph-format.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
