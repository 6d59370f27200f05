#!/usr/bin/env python3
"""Moves the line anchors of the docs' links to source files (`[L107-L113](../kernels/ref/norm.cpp#L107-L113)`)
along with the code they point at, after the code changed since BASE (a commit where the links were right).

For each link to a file that changed, the lines of the file at BASE and now are matched (difflib, as a diff
would); an anchor line that survived moves to its new number, one that was deleted or rewritten moves to the
nearest surviving line before it (the link still lands in the right function, and is printed so it can be
checked). Link texts that spell the numbers ("L107-L113", "ref L4-L7") are updated too.

  tools/remap_doc_links.py f4dc0e6                    # remap docs/*.md and README.md
  tools/remap_doc_links.py f4dc0e6 docs/normalization.md
tests/test_engine.cpp ("documentation links ...") checks that every anchor is inside its file.
"""
import difflib
import os
import re
import subprocess
import sys

LINK = re.compile(r"\[([^\]]*)\]\(([^)#\s]+)#L(\d+)(?:-L(\d+))?\)")


def git_show(base, path):
    try:
        return subprocess.run(["git", "show", f"{base}:{path}"], check=True, capture_output=True,
                              text=True).stdout.split("\n")
    except subprocess.CalledProcessError:
        return None


def line_map(old, new):
    """old line number (1-based) -> (new line number, exact?)."""
    m, sm = {}, difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for a, b, n in sm.get_matching_blocks():
        for k in range(n):
            m[a + k + 1] = b + k + 1
    out, last = {}, 1
    for i in range(1, len(old) + 1):
        if i in m:
            last = m[i]
            out[i] = (m[i], True)
        else:
            out[i] = (last, False)
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    base, docs = sys.argv[1], sys.argv[2:] or [os.path.join("docs", f) for f in sorted(os.listdir("docs"))
                                                  if f.endswith(".md")] + ["README.md"]
    cache = {}
    for doc in docs:
        text = open(doc).read()
        folder = os.path.dirname(doc)

        def fix(m):
            label, target, a, b = m.group(1), m.group(2), int(m.group(3)), m.group(4)
            path = os.path.normpath(os.path.join(folder, target))
            if path not in cache:
                old = git_show(base, path)
                new = open(path).read().split("\n") if os.path.exists(path) else None
                cache[path] = line_map(old, new) if old is not None and new is not None else None
            mp = cache[path]
            if mp is None:
                return m.group(0)
            na, ea = mp.get(a, (a, False))
            nb, eb = mp.get(int(b), (int(b), False)) if b else (None, True)
            if not (ea and eb):
                print(f"{doc}: {target}#L{a}{'-L' + b if b else ''} -> L{na}{'-L' + str(nb) if b else ''}: the "
                      f"anchored line changed, check the link '{label}'")
            new_label = label.replace(f"L{a}-L{b}", f"L{na}-L{nb}") if b else re.sub(rf"\bL{a}\b", f"L{na}", label)
            return f"[{new_label}]({target}#L{na}{'-L' + str(nb) if b else ''})"

        new_text = LINK.sub(fix, text)
        if new_text != text:
            with open(doc, "w") as f:
                f.write(new_text)
            print(f"{doc}: links remapped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
