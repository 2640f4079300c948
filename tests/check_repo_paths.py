#!/usr/bin/env python3
"""Fails naming every repository path that a comment or a Markdown file mentions and that does not
exist, so that a moved or deleted file cannot leave a stale pointer behind.

A path is a token starting with one of the top-level folders (lib/, apps/, tests/, ...), or with
natten/ (the include-style spelling of lib/natten/...). In source files only comments are read
(code paths are checked by the build); Markdown files are read whole. Globs (*) and brace lists
({a,b}) are expanded and must match something; a module may be named by its stem (natten/ops for
natten/ops.{hpp,cpp}). A token preceded by "../" or "/" names something outside the repository and
is skipped, and so are the IGNORE list's examples.

Usage: check_repo_paths.py [REPO_ROOT]   (default: the folder above this script's)
"""
import glob
import os
import re
import sys

ROOTS = ("lib", "apps", "tests", "docs", "scripts", "shaders", "configs", "cmake", ".ci")
SOURCE_DIRS = ("lib", "apps", "tests", "shaders", "scripts", "cmake")
C_LIKE = (".c", ".cpp", ".hpp", ".h", ".mm", ".metal", ".inc")
HASH_LIKE = (".py", ".sh", ".cmake", ".in", ".ini", ".toml")

PATH = re.compile(r"(?<![\w./-])((?:%s)/[\w.*{},/+-]*[\w*}/])" % "|".join(re.escape(r) for r in ROOTS + ("natten",)))
# Paths that are not meant to exist here: made-up examples in messages, and other repositories'
# files (upstream NATTEN's would be natten/... too: list them here when a comment names one).
IGNORE = ("configs/x.ini",)


def comments(path, text):
    """The comment text of a source file: what follows // or #, and /* ... */ blocks."""
    name = os.path.basename(path)
    if name.endswith(C_LIKE):
        found = re.findall(r"/\*.*?\*/", text, re.S)
        found += [m.group(1) for m in re.finditer(r"//(.*)", text)]
        return "\n".join(found)
    if name.endswith(HASH_LIKE) or name == "CMakeLists.txt":
        return "\n".join(m.group(1) for m in re.finditer(r"#(.*)", text))
    return ""


def expand_braces(token):
    m = re.search(r"\{([^{}]*)\}", token)
    if not m:
        return [token]
    out = []
    for alt in m.group(1).split(","):
        out += expand_braces(token[: m.start()] + alt + token[m.end():])
    return out


def exists(root, token):
    if token.startswith("natten/"):
        token = "lib/" + token
    for candidate in expand_braces(token):
        full = os.path.join(root, candidate)
        if not (glob.glob(full) if "*" in candidate else os.path.exists(full) or glob.glob(full + ".*")):
            return False
    return True


def files_to_scan(root):
    for top in [""] + list(SOURCE_DIRS) + ["docs", "configs"]:
        base = os.path.join(root, top)
        if top and not os.path.isdir(base):
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            rel = os.path.relpath(dirpath, root)
            if not top:
                dirnames[:] = []  # the root's own files only; the folders are walked below
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and not d.startswith("build")]
            for f in filenames:
                yield os.path.normpath(os.path.join(rel, f))


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    stale = []
    for rel in sorted(set(files_to_scan(root))):
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue  # binary data (reference files, images)
        scanned = text if rel.endswith(".md") else comments(rel, text)
        for m in PATH.finditer(scanned):
            token = m.group(1).rstrip("/.,")
            if token in IGNORE:
                continue
            if not exists(root, token):
                stale.append(f"{rel}: {token}")
    for s in stale:
        print(f"stale path: {s}")
    print(f"check_repo_paths: {len(stale)} stale path(s)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
