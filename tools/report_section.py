# SPDX-License-Identifier: BSD-2-Clause
"""One "## " section of docs/performance.md, replaced in place by the benchmark
scripts that render it (tools/bench-run's end-to-end section, tools/bench-http)."""
import re


def replace_section(out_path, title, section):
    """Put @section (starting with the line @title) into @out_path: over the
    section with that title if there is one, else before "## Commands", else
    at the end."""
    try:
        doc = open(out_path).read()
    except FileNotFoundError:
        doc = ""
    start = doc.find(title)
    if start >= 0:
        m = re.compile(r"^## ", re.M).search(doc, start + len(title))
        doc = doc[:start] + section + ("\n" + doc[m.start():] if m else "")
    elif "\n## Commands" in doc:
        i = doc.index("\n## Commands") + 1
        doc = doc[:i] + section + "\n" + doc[i:]
    else:
        doc = doc + ("\n" if doc else "") + section
    open(out_path, "w").write(doc)
