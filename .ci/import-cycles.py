#!/usr/bin/env python3
"""Import loops between the files of one Rust crate.

Usage: import-cycles.py SRC_DIR CRATE_NAME
       e.g. import-cycles.py scanner/src steward_scanner
       import-cycles.py --self-test   (checks this script on small crates)

Builds the file-level import graph of the crate rooted at SRC_DIR/lib.rs
(and of SRC_DIR/main.rs and SRC_DIR/bin/*.rs, which may reach the library
as CRATE_NAME::...) and exits 1 printing every import loop; 0 when there
is none, 2 on bad usage.

A file imports another when it names an item of it:
  - `use crate::…`, `use super::…`, `use self::…`, `use CRATE_NAME::…`, and
    `use child::…` for a module the file declares (`mod child;`);
  - the same paths written in code (`crate::drift::diff(…)`, `super::X`,
    `child::parse(…)`).
A path goes to the file that defines the item: a name re-exported by a
`use` (`pub use evidence::Evidence` in `license/mod.rs`) is followed to its
definition, so importing through a parent's re-export is not a loop with the
parent. A `mod x;` declaration alone is not an import. Items under
`#[cfg(test)]` (test modules, test-only uses) are left out: test code does
not shape the library. Comments and string literals are ignored.

No dependencies beyond the Python 3 standard library.
"""

import os
import sys

KEYWORD_ITEMS = {"fn", "struct", "enum", "trait", "type", "const", "static", "union"}


# --------------------------------------------------------------------------
# Tokens


class Tok:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind = kind  # "id", "::", or the punctuation character itself
        self.text = text
        self.line = line

    def __repr__(self):
        return f"{self.text}@{self.line}"


def is_id_start(c):
    return c == "_" or c.isalpha()


def is_id_char(c):
    return c == "_" or c.isalnum()


def tokenize(src):
    """Identifiers, `::` and single punctuation characters, with line numbers.
    Comments, string, char and number literals and lifetimes are dropped
    (a literal leaves a `lit` token so that it still breaks a path)."""
    toks = []
    i, n, line = 0, len(src), 1

    def skip_string(j, hashes):
        # j is just after the opening quote; returns the index after the close.
        nonlocal line
        raw = hashes is not None
        while j < n:
            c = src[j]
            if c == "\n":
                line += 1
            if not raw and c == "\\":
                if j + 1 < n and src[j + 1] == "\n":
                    line += 1
                j += 2
                continue
            if c == '"':
                if not raw:
                    return j + 1
                if src.startswith("#" * hashes, j + 1):
                    return j + 1 + hashes
            j += 1
        return j

    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    if src[j] == "\n":
                        line += 1
                    j += 1
            i = j
        elif c == '"':
            start = line
            i = skip_string(i + 1, None)
            toks.append(Tok("lit", '""', start))
        elif c == "'":
            # A char literal ('a', '\n', '\u{..}') or a lifetime / label ('a).
            if i + 1 < n and src[i + 1] == "\\":
                j = i + 2
                while j < n and src[j] != "'":
                    j += 1
                i = j + 1
                toks.append(Tok("lit", "''", line))
            elif i + 2 < n and src[i + 2] == "'":
                i += 3
                toks.append(Tok("lit", "''", line))
            else:
                j = i + 1
                while j < n and is_id_char(src[j]):
                    j += 1
                i = j
        elif is_id_start(c):
            j = i
            while j < n and is_id_char(src[j]):
                j += 1
            word = src[i:j]
            # Byte, raw and C string prefixes: b"", r"", r#""#, br"", c"".
            if word in ("b", "r", "br", "rb", "c", "cr") and j < n and src[j] in "\"#'":
                if src[j] == "'" and word == "b":
                    k = j + 1
                    if k < n and src[k] == "\\":
                        k += 1
                    k += 1
                    while k < n and src[k] != "'":
                        k += 1
                    i = k + 1
                    toks.append(Tok("lit", "''", line))
                    continue
                hashes = 0
                k = j
                while k < n and src[k] == "#":
                    hashes += 1
                    k += 1
                if k < n and src[k] == '"':
                    start = line
                    raw = "r" in word
                    i = skip_string(k + 1, hashes if raw else None)
                    toks.append(Tok("lit", '""', start))
                    continue
                if word == "r" and hashes == 1 and k < n and is_id_start(src[k]):
                    # A raw identifier: r#type.
                    m = k
                    while m < n and is_id_char(src[m]):
                        m += 1
                    toks.append(Tok("id", src[k:m], line))
                    i = m
                    continue
            toks.append(Tok("id", word, line))
            i = j
        elif c.isdigit():
            j = i
            while j < n and (is_id_char(src[j]) or (src[j] == "." and j + 1 < n and src[j + 1].isdigit())):
                j += 1
            toks.append(Tok("lit", "0", line))
            i = j
        elif src.startswith("::", i):
            toks.append(Tok("::", "::", line))
            i += 2
        else:
            toks.append(Tok(c, c, line))
            i += 1
    return toks


# --------------------------------------------------------------------------
# One file: its scopes, uses, paths, definitions and module declarations


class Module:
    """A module: a file or an inline `mod x { … }` inside one."""

    def __init__(self, path, file):
        self.path = path  # tuple of segments from the crate root
        self.file = file  # the file it lives in
        self.children = {}  # name -> Module
        self.uses = {}  # name -> (segments, Module it is relative to)
        self.globs = []  # (segments, Module)
        self.defs = set()  # names of items defined here


class Reference:
    __slots__ = ("segments", "module", "line", "text", "root")

    def __init__(self, segments, module, line, text):
        self.root = None
        self.segments = segments
        self.module = module
        self.line = line
        self.text = text


def expand_use_tree(toks, i, prefix, out):
    """Expands the use tree starting at toks[i] into (segments, alias,
    is_glob) tuples. Returns the index after the tree."""
    segs = list(prefix)
    while i < len(toks):
        t = toks[i]
        if t.kind == "id" and t.text != "as":
            segs.append(t.text)
            i += 1
            if i < len(toks) and toks[i].kind == "::":
                i += 1
                continue
            alias = segs[-1]
            if i + 1 < len(toks) and toks[i].text == "as" and toks[i + 1].kind == "id":
                alias = toks[i + 1].text
                i += 2
            if segs[-1] == "self":
                segs = segs[:-1]
                if alias == "self":
                    alias = segs[-1] if segs else None
            out.append((segs, alias, False))
            return i
        if t.kind == "*":
            out.append((segs, None, True))
            return i + 1
        if t.kind == "{":
            i += 1
            while i < len(toks) and toks[i].kind != "}":
                if toks[i].kind == ",":
                    i += 1
                    continue
                i = expand_use_tree(toks, i, segs, out)
            return i + 1
        return i + 1
    return i


def is_test_cfg(attr):
    """True for #[cfg(test)] and cfg(all(test, …)), not for cfg(not(test))."""
    words = [t.text for t in attr if t.kind == "id"]
    return bool(words) and words[0] == "cfg" and "test" in words and "not" not in words


def scan_file(toks, root_module, file, declare_child, macro_exports, crate_root):
    """Walks one file's tokens; fills the modules' uses, globs, definitions
    and children (inline modules), and returns the references (uses and
    paths in code) it makes; `declare_child(parent, name)` is called for
    each `mod name;`."""
    refs = []
    # Scope stack entries: (kind, module, test) where kind is "mod" or "block".
    stack = [("mod", root_module, False)]
    pending_test = False
    pending_export = False
    test_item = None  # depth at which a #[cfg(test)] item started, until it ends
    test_item_braced = False
    i, n = 0, len(toks)

    def module():
        for kind, m, _ in reversed(stack):
            if kind == "mod":
                return m
        return root_module

    def in_test():
        return test_item is not None or any(t for _, _, t in stack)

    def at_module_level():
        return stack[-1][0] == "mod"

    while i < n:
        t = toks[i]
        # Attributes: #[…] and #![…].
        if t.kind == "#":
            j = i + 1
            if j < n and toks[j].kind == "!":
                j += 1
            if j < n and toks[j].kind == "[":
                depth, k = 0, j
                while k < n:
                    if toks[k].kind == "[":
                        depth += 1
                    elif toks[k].kind == "]":
                        depth -= 1
                        if depth == 0:
                            break
                    k += 1
                attr = toks[j + 1 : k]
                if is_test_cfg(attr):
                    pending_test = True
                if [a.text for a in attr] == ["macro_export"]:
                    pending_export = True
                i = k + 1
                continue
        # `pub(in crate::x)` and `pub(crate)` are visibility, not imports.
        if t.kind == "id" and t.text == "pub" and i + 1 < n and toks[i + 1].kind == "(":
            k = i + 1
            while k < n and toks[k].kind != ")":
                k += 1
            i = k + 1
            continue
        if pending_test and test_item is None and t.kind == "id":
            test_item = len(stack)
            test_item_braced = False
            pending_test = False
        if t.kind == "{":
            if test_item is not None and not test_item_braced and len(stack) == test_item:
                test_item_braced = True
            stack.append(("block", None, False))
            i += 1
            continue
        if t.kind == "}":
            if len(stack) > 1:
                stack.pop()
            if test_item is not None and test_item_braced and len(stack) == test_item:
                test_item = None
            i += 1
            continue
        if t.kind == ";":
            if test_item is not None and not test_item_braced and len(stack) == test_item:
                test_item = None
            i += 1
            continue
        if t.kind != "id":
            i += 1
            continue
        word = t.text
        prev = toks[i - 1] if i > 0 else None
        if word == "mod" and i + 1 < n and toks[i + 1].kind == "id" and (prev is None or prev.kind != "::"):
            name = toks[i + 1].text
            nxt = toks[i + 2].kind if i + 2 < n else None
            parent = module()
            if nxt == "{":
                child = parent.children.get(name) or Module(parent.path + (name,), file)
                parent.children[name] = child
                # The test flag is on this scope when the item is #[cfg(test)].
                testing = test_item is not None and len(stack) == test_item
                if testing:
                    test_item = None
                stack.append(("mod", child, testing or in_test()))
                i += 3
                continue
            if nxt == ";":
                if not in_test():
                    declare_child(parent, name)
                i += 3
                continue
        if word == "macro_rules" and i + 2 < n and toks[i + 1].kind == "!" and toks[i + 2].kind == "id":
            name = toks[i + 2].text
            module().defs.add(name)
            if pending_export:
                macro_exports[name] = file
                crate_root.defs.add(name)
            pending_export = False
            i += 3
            continue
        if word in KEYWORD_ITEMS and i + 1 < n and toks[i + 1].kind == "id" and at_module_level():
            module().defs.add(toks[i + 1].text)
            i += 1
            continue
        if word == "use" and (prev is None or prev.kind != "::"):
            j = i + 1
            if j < n and toks[j].kind == "::":
                j += 1
            out = []
            end = expand_use_tree(toks, j, [], out)
            while end < n and toks[end].kind != ";":
                end += 1
            m = module()
            if not in_test():
                for segs, alias, glob in out:
                    if not segs:
                        continue
                    if at_module_level():
                        if glob:
                            m.globs.append((segs, m))
                        elif alias and alias != "_":
                            m.uses[alias] = (segs, m)
                    text = "use " + "::".join(segs) + ("::*" if glob else "")
                    refs.append(Reference(segs, m, t.line, text))
            i = end + 1
            continue
        # A path in code: the longest `a::b::c` starting here.
        if i + 1 < n and toks[i + 1].kind == "::" and (prev is None or prev.kind != "::"):
            segs = [word]
            j = i + 1
            while j + 1 < n and toks[j].kind == "::" and toks[j + 1].kind == "id":
                segs.append(toks[j + 1].text)
                j += 2
            if not in_test():
                refs.append(Reference(segs, module(), t.line, "::".join(segs)))
            i = j
            continue
        i += 1
    return refs


# --------------------------------------------------------------------------
# The crate: modules from `mod` declarations, then resolution of references


class Crate:
    def __init__(self, src, crate_name):
        self.src = src
        self.crate_name = crate_name
        self.roots = {}  # root file -> root Module
        self.lib_root = None
        self.macro_exports = {}
        self.refs = {}  # file -> [Reference]
        self.files = []

    def load(self):
        candidates = []
        if os.path.isfile(os.path.join(self.src, "lib.rs")):
            candidates.append("lib.rs")
        if os.path.isfile(os.path.join(self.src, "main.rs")):
            candidates.append("main.rs")
        bin_dir = os.path.join(self.src, "bin")
        if os.path.isdir(bin_dir):
            for name in sorted(os.listdir(bin_dir)):
                if name.endswith(".rs"):
                    candidates.append(os.path.join("bin", name))
        if not candidates:
            raise SystemExit(f"error: {self.src}: no lib.rs, main.rs or bin/*.rs")
        for rel in candidates:
            root = Module((), rel)
            self.roots[rel] = root
            if rel == "lib.rs":
                self.lib_root = root
            self.load_file(rel, root, root, is_root=True)

    def load_file(self, rel, module, crate_root, is_root=False):
        with open(os.path.join(self.src, rel), encoding="utf-8") as f:
            toks = tokenize(f.read())
        self.files.append(rel)
        pending = []
        refs = scan_file(
            toks, module, rel, lambda parent, name: pending.append((parent, name)), self.macro_exports, crate_root
        )
        for ref in refs:
            ref.root = crate_root
        self.refs[rel] = refs
        # `mod x;` in a crate root or a mod.rs: x.rs or x/mod.rs beside it;
        # in a.rs: a/x.rs or a/x/mod.rs; inside inline `mod m {}`: one
        # folder more per inline module.
        d = os.path.dirname(rel)
        if not is_root and os.path.basename(rel) != "mod.rs":
            d = os.path.join(d, os.path.basename(rel)[:-3])
        for parent, name in pending:
            inline = parent.path[len(module.path) :]
            base = os.path.join(d, *inline) if inline else d
            path = None
            for cand in (os.path.join(base, name + ".rs"), os.path.join(base, name, "mod.rs")):
                if os.path.isfile(os.path.join(self.src, cand)):
                    path = os.path.normpath(cand)
                    break
            if path is None:
                print(f"warning: {rel}: `mod {name};` has no file", file=sys.stderr)
                continue
            child = Module(parent.path + (name,), path)
            parent.children[name] = child
            self.load_file(path, child, crate_root)

    # -- resolution

    @staticmethod
    def find(root, path):
        m = root
        for seg in path:
            m = m.children.get(seg)
            if m is None:
                return None
        return m

    def parent_of(self, module, root):
        if not module.path:
            return None
        return self.find(root, module.path[:-1])

    def resolve(self, segs, module, root, depth=0):
        """The file that defines what `segs` (written in `module`) names, or
        None when it is outside the crate."""
        if depth > 16 or not segs:
            return None
        first = segs[0]
        rest = segs[1:]
        if first == "crate":
            cur = root
        elif first == self.crate_name and self.lib_root is not None:
            cur, root = self.lib_root, self.lib_root
        elif first == "self":
            cur = module
        elif first == "super":
            cur = self.parent_of(module, root)
            while cur is not None and rest and rest[0] == "super":
                cur = self.parent_of(cur, root)
                rest = rest[1:]
            if cur is None:
                return None
        elif first in module.children:
            cur = module.children[first]
        elif first in module.uses:
            target, rel_to = module.uses[first]
            if target and target[0] == first and rel_to is module and len(target) == 1:
                return None  # `use serde;` names an external crate
            return self.resolve(list(target) + list(rest), rel_to, root, depth + 1)
        else:
            return None
        return self.resolve_in(cur, rest, root, depth)

    def resolve_in(self, cur, rest, root, depth):
        for k, seg in enumerate(rest):
            if seg in cur.children:
                cur = cur.children[seg]
                continue
            # `seg` is an item of `cur`: defined there, or imported there.
            if seg in cur.defs:
                return cur.file
            if seg in cur.uses:
                target, rel_to = cur.uses[seg]
                found = self.resolve(list(target) + list(rest[k + 1 :]), rel_to, root, depth + 1)
                return found if found is not None else cur.file
            for target, rel_to in cur.globs:
                found = self.resolve(list(target) + [seg] + list(rest[k + 1 :]), rel_to, root, depth + 1)
                if found is not None and found != cur.file:
                    return found
            if seg in self.macro_exports and cur is root:
                return self.macro_exports[seg]
            return cur.file
        return cur.file

    def graph(self):
        """file -> {imported file -> first Reference}"""
        edges = {f: {} for f in self.files}
        for rel, refs in self.refs.items():
            for ref in refs:
                target = self.resolve(ref.segments, ref.module, ref.root)
                if target is None or target == rel:
                    continue
                edges[rel].setdefault(target, ref)
        return edges


# --------------------------------------------------------------------------
# Loops


def strongly_connected(nodes, edges):
    """Tarjan's algorithm, iterative; components in a stable order."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def elementary_cycles(comp, edges, limit):
    """Every elementary cycle inside one component (up to `limit`), each
    starting at its smallest file."""
    members = set(comp)
    cycles = []
    for s in sorted(comp):
        allowed = {f for f in members if f >= s}
        path = [s]
        on_path = {s}
        stack = [iter(sorted(w for w in edges[s] if w in allowed))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                on_path.discard(path.pop())
                continue
            if nxt == s:
                cycles.append(list(path))
                if len(cycles) >= limit:
                    return cycles, True
            elif nxt not in on_path:
                path.append(nxt)
                on_path.add(nxt)
                stack.append(iter(sorted(w for w in edges[nxt] if w in allowed)))
    return cycles, False


def loops(src, crate_name):
    """The import graph of the crate at `src` and its loops (strongly
    connected components of more than one file)."""
    crate = Crate(src, crate_name.replace("-", "_"))
    crate.load()
    edges = crate.graph()
    comps = [c for c in strongly_connected(sorted(edges), edges) if len(c) > 1]
    return edges, comps


def report(src, edges, comps, out):
    if not comps:
        print(f"{src}: no import loop between its {len(edges)} files", file=out)
        return
    count = sum(len(c) for c in comps)
    print(f"{src}: {len(comps)} import loop(s) over {count} of {len(edges)} files", file=out)
    for comp in comps:
        print(file=out)
        print(f"loop of {len(comp)} files: {', '.join(comp)}", file=out)
        print("  imports inside it:", file=out)
        for f in comp:
            for g in sorted(edges[f]):
                if g in comp:
                    ref = edges[f][g]
                    print(f"    {f}:{ref.line} -> {g}  ({ref.text})", file=out)
        cycles, truncated = elementary_cycles(comp, edges, 200)
        print(f"  cycles{' (first 200)' if truncated else ''}:", file=out)
        for c in cycles:
            print("    " + " -> ".join(c + [c[0]]), file=out)


SELF_TESTS = [
    # (name, files, expected loops as sorted lists of files)
    (
        "two files naming each other through use and a path in code",
        {
            "lib.rs": "pub mod a;\npub mod b;\n",
            "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": "pub struct B;\npub fn f() { let _ = crate::a::A; }\n",
        },
        [["a.rs", "b.rs"]],
    ),
    (
        "a re-export in the parent is followed to its definition",
        {
            "lib.rs": "pub mod m;\n",
            "m/mod.rs": "mod one;\nmod two;\npub use one::One;\npub use two::{Two, self as _};\n",
            "m/one.rs": "pub struct One;\n",
            "m/two.rs": "use super::One;\npub struct Two(One);\n",
        },
        [],
    ),
    (
        "an item defined in mod.rs used by a child it calls is a loop",
        {
            "lib.rs": "pub mod p;\n",
            "p/mod.rs": "mod c;\npub const MAX: usize = 1;\npub fn run() { c::go() }\n",
            "p/c.rs": "use super::MAX;\npub fn go() { let _ = MAX; }\n",
        },
        [["p/c.rs", "p/mod.rs"]],
    ),
    (
        "test modules, comments, strings and visibility paths do not import",
        {
            "lib.rs": "pub mod a;\npub mod b;\n",
            "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": (
                "pub struct B;\n"
                "// crate::a::A\n/* use crate::a::A; */\n"
                'pub fn s() -> &\'static str { "crate::a::A" }\n'
                "pub(in crate::a) fn v() {}\n"
                "#[cfg(test)]\nmod tests { use crate::a::A; }\n"
                "#[cfg(test)]\nuse crate::a::A as _T;\n"
            ),
        },
        [],
    ),
    (
        "nested use trees, super in an inline module, and a three-file loop",
        {
            "lib.rs": "pub mod a;\npub mod b;\npub mod c;\n",
            "a.rs": "use crate::{b::{self, B}, c::C as Cee};\npub struct A;\nmod inner { use super::A; }\n",
            "b.rs": "pub struct B;\n",
            "c.rs": "pub struct C;\npub fn f() { super::b::B; crate::a::A; }\n",
        },
        [["a.rs", "c.rs"]],
    ),
    (
        "a binary reaches the library by its crate name",
        {
            "lib.rs": "pub mod a;\n",
            "a.rs": "pub fn run() {}\n",
            "main.rs": "fn main() { demo::a::run() }\n",
        },
        [],
    ),
]


def self_test():
    import tempfile

    failed = 0
    for name, files, want in SELF_TESTS:
        with tempfile.TemporaryDirectory() as d:
            for rel, text in files.items():
                path = os.path.join(d, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            edges, comps = loops(d, "demo")
            ok = comps == want
            if name.startswith("a binary"):
                ok = ok and "a.rs" in edges.get("main.rs", {})
            print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": got {comps}, want {want}"))
            failed += not ok
    return 1 if failed else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 3:
        print("usage: import-cycles.py SRC_DIR CRATE_NAME | --self-test", file=sys.stderr)
        return 2
    src, crate_name = argv[1], argv[2]
    if not os.path.isdir(src):
        print(f"error: {src}: not a directory", file=sys.stderr)
        return 2
    edges, comps = loops(src, crate_name)
    try:
        report(src, edges, comps, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return 1 if comps else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
