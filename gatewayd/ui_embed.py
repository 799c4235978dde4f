#!/usr/bin/env python3
"""Writes the C table of the embedded Control UI (gatewayd/ui.h):
ui_embed.py OUT.c FILE...   each FILE is served as /<its base name>."""

import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


def main(out, files):
    lines = ['#include "gatewayd/ui.h"', ""]
    entries = []
    for i, path in enumerate(sorted(files, key=os.path.basename)):
        name = os.path.basename(path)
        ext = os.path.splitext(name)[1]
        if ext not in TYPES:
            sys.exit("ui_embed.py: %s: no Content-Type known for %r files; add one to TYPES"
                     % (path, ext))
        with open(path, "rb") as f:
            data = f.read()
        body = ",".join(str(b) for b in data)
        lines.append("static const unsigned char ui_data_%d[] = {%s};" % (i, body or "0"))
        entries.append('\t{ "/%s", "%s", ui_data_%d, %d },' % (name, TYPES[ext], i, len(data)))
    lines.append("")
    lines.append("const struct ui_file ui_files[] = {")
    lines.extend(entries)
    lines.append("};")
    lines.append("const size_t ui_files_count = sizeof(ui_files) / sizeof(ui_files[0]);")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: ui_embed.py OUT.c FILE...")
    main(sys.argv[1], sys.argv[2:])
