#!/usr/bin/env python3
"""How much of a codebase each chunker names: the share of lines in named definition
chunks, in `top_level` chunks and in line windows, from `cseek chunks --json`.

Compare two builds of cseek on the same code (the chunker of one session against the
next), restricted to some extensions:

    python3 benches/chunk-shares.py --cseek before=/tmp/cseek-old --cseek now=target/release/cseek \
        --ext .erl,.hrl /tmp/lang/erlang-src

A chunk counts as named when its kind is a definition (not `top_level`, `window` or
`section`) and it carries a symbol.
"""

import argparse
import collections
import json
import subprocess
import sys


def shares(cseek, directory, exts):
    out = subprocess.run(
        [cseek, "chunks", "--json", directory], capture_output=True, text=True, check=True
    ).stdout
    files, chunks, named = set(), 0, 0
    lines = collections.Counter()
    for row in out.splitlines():
        c = json.loads(row)
        if exts and not c["path"].lower().endswith(exts):
            continue
        files.add(c["path"])
        chunks += 1
        n = c["end_line"] - c["start_line"] + 1
        kind = c["kind"]
        if kind in ("top_level", "window", "section") or not c["symbol"]:
            lines[kind if kind in ("top_level", "window") else "other"] += n
        else:
            named += 1
            lines["named"] += n
    total = sum(lines.values()) or 1
    pct = {k: 100 * lines[k] / total for k in ("named", "top_level", "window")}
    return len(files), chunks, named, pct


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cseek", action="append", required=True, metavar="LABEL=PATH")
    p.add_argument("--ext", default="", help="comma-separated extensions, e.g. .m,.h")
    p.add_argument("dirs", nargs="+")
    a = p.parse_args()
    exts = tuple(e.strip().lower() for e in a.ext.split(",") if e.strip())
    for d in a.dirs:
        for spec in a.cseek:
            label, _, path = spec.partition("=")
            files, chunks, named, pct = shares(path or label, d, exts)
            print(
                f"{label:>8} {d} {','.join(exts) or '*'}: {files} files, {chunks} chunks, "
                f"{named} named; lines named {pct['named']:.0f} % / top_level "
                f"{pct['top_level']:.0f} % / window {pct['window']:.0f} %"
            )


if __name__ == "__main__":
    sys.exit(main())
