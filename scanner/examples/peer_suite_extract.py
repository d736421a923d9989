#!/usr/bin/env python3
"""Extracts the peer scanners' fixtures in Steward's input formats, with the
package list each peer's Go test expects, into a scratch directory.

usage: peer_suite_extract.py OUT_DIR MIRROR_ROOT

MIRROR_ROOT holds bare clones as `owner+name/repo` (the search tool's
`fetch` layout): anchore+syft, aquasecurity+trivy, google+osv-scalibr.
Each fixture becomes OUT_DIR/<peer>/<case>/<canonical file name> (plus its
companions: go.sum beside go.mod, package.json beside a lockfile), and
OUT_DIR/<peer>/<case>/expected.json records the repository, commit, path,
the Go test file, and the expected (name, version) pairs when the test
states them (null when it could not be extracted), and whether the test
expects an error.

The expected lists are found heuristically in the Go tests: a string literal
naming the fixture, the innermost enclosing composite literal or function
body that also holds `Name:`/`Version:` literals (or a want-ish key naming a
package variable, resolved in the package's other Go files).
"""
import json, os, re, subprocess, sys

OUT, MIRRORS = sys.argv[1], sys.argv[2]

PEERS = {
    "trivy": ("aquasecurity/trivy", [
        ("pkg/dependency/parser/nodejs/npm/", "package-lock.json"),
        ("pkg/dependency/parser/nodejs/pnpm/", "pnpm-lock.yaml"),
        ("pkg/dependency/parser/nodejs/yarn/", "yarn.lock"),
        ("pkg/dependency/parser/rust/cargo/", "Cargo.lock"),
        ("pkg/dependency/parser/golang/mod/", "go.mod"),
        ("pkg/dependency/parser/python/pip/", "requirements.txt"),
        ("pkg/dependency/parser/python/poetry/", "poetry.lock"),
        ("pkg/dependency/parser/python/uv/", "uv.lock"),
        ("pkg/fanal/analyzer/sbom/", "sbom"),
    ]),
    "osv-scalibr": ("google/osv-scalibr", [
        ("extractor/filesystem/language/javascript/packagelockjson/", "package-lock.json"),
        ("extractor/filesystem/language/javascript/pnpmlock/", "pnpm-lock.yaml"),
        ("extractor/filesystem/language/javascript/yarnlock/", "yarn.lock"),
        ("extractor/filesystem/language/rust/cargolock/", "Cargo.lock"),
        ("extractor/filesystem/language/golang/gomod/", "go.mod"),
        ("extractor/filesystem/language/python/requirements/", "requirements.txt"),
        ("extractor/filesystem/language/python/poetrylock/", "poetry.lock"),
        ("extractor/filesystem/language/python/uvlock/", "uv.lock"),
        ("extractor/filesystem/sbom/cdx/", "sbom"),
        ("extractor/filesystem/sbom/spdx/", "sbom"),
    ]),
    "syft": ("anchore/syft", [
        ("syft/pkg/cataloger/javascript/", "by-name"),
        ("syft/pkg/cataloger/golang/", "by-name"),
        ("syft/pkg/cataloger/python/", "by-name"),
        ("syft/pkg/cataloger/rust/", "by-name"),
        ("syft/pkg/cataloger/sbom/", "sbom"),
        ("syft/format/cyclonedxjson/", "sbom"),
        ("syft/format/spdxjson/", "sbom"),
    ]),
}

BY_NAME = [
    (re.compile(r"(^|/)[^/]*package-lock[^/]*\.json$"), "package-lock.json"),
    (re.compile(r"(^|/)npm-shrinkwrap\.json$"), "package-lock.json"),
    (re.compile(r"(^|/)[^/]*yarn[^/]*\.lock$"), "yarn.lock"),
    (re.compile(r"(^|/)[^/]*pnpm-lock[^/]*\.ya?ml$"), "pnpm-lock.yaml"),
    (re.compile(r"(^|/)Cargo\.lock$"), "Cargo.lock"),
    (re.compile(r"(^|/)go\.mod$"), "go.mod"),
    (re.compile(r"(^|/)[^/]*requirements[^/]*\.txt$"), "requirements.txt"),
    (re.compile(r"(^|/)poetry\.lock$"), "poetry.lock"),
    (re.compile(r"(^|/)uv\.lock$"), "uv.lock"),
]

EXT = {"package-lock.json": (".json",), "pnpm-lock.yaml": (".yaml", ".yml"), "yarn.lock": (".lock",),
       "Cargo.lock": (".lock",), "go.mod": (".mod",), "requirements.txt": (".txt",), "poetry.lock": (".lock",),
       "uv.lock": (".lock",)}


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo, *args], capture_output=True, check=True).stdout


def sbom_name(data):
    head = data[:65536]
    if b'"bomFormat"' in head and b"CycloneDX" in head:
        return "bom.json"
    if b'"spdxVersion"' in head or (b'"@graph"' in head and b"spdx.org/rdf/3" in head):
        return "doc.spdx.json"
    return None


# ---------------------------------------------------------------- Go test reading

TOK = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|`[^`]*`|[{}]|[A-Za-z_][A-Za-z0-9_.]*\s*:(?!=)|[A-Za-z_][A-Za-z0-9_]*|\S', re.S)


def go_tokens(src):
    """(kind, value, pos) with kind in str, open, close, key, ident, other."""
    out = []
    for m in TOK.finditer(src):
        t = m.group(0)
        if t.startswith("//") or t.startswith("/*"):
            continue
        if t[0] in '"`':
            try:
                v = json.loads(t) if t[0] == '"' else t[1:-1]
            except ValueError:
                v = t[1:-1]
            out.append(("str", v, m.start()))
        elif t == "{":
            out.append(("open", t, m.start()))
        elif t == "}":
            out.append(("close", t, m.start()))
        elif t.endswith(":") and re.match(r"[A-Za-z_]", t):
            out.append(("key", t[:-1].strip(), m.start()))
        elif re.match(r"[A-Za-z_]", t):
            out.append(("ident", t, m.start()))
        else:
            out.append(("other", t, m.start()))
    return out


class Blocks:
    def __init__(self, toks):
        self.toks = toks
        self.parent = {}
        self.span = {}
        stack = []
        for i, (k, v, _) in enumerate(toks):
            if k == "open":
                self.parent[i] = stack[-1] if stack else None
                stack.append(i)
            elif k == "close" and stack:
                o = stack.pop()
                self.span[o] = i
        self.opens = sorted(self.span)

    def enclosing(self, i):
        best = None
        for o in self.opens:
            if o < i <= self.span[o]:
                best = o  # opens sorted: last match is innermost
            elif o > i:
                break
        return best

    def packages(self, o):
        """(name, version) pairs of literals inside block o with Name and Version keys at their own depth."""
        out = []
        end = self.span[o]
        stack = [{}]
        i = o + 1
        while i < end:
            k, v, _ = self.toks[i]
            if k == "open":
                stack.append({})
            elif k == "close":
                d = stack.pop()
                if "Name" in d and "Version" in d:
                    out.append((d["Name"], d["Version"]))
                if not stack:
                    stack.append({})
            elif k == "key" and v in ("Name", "Version") and i + 1 < end and self.toks[i + 1][0] == "str":
                stack[-1][v] = self.toks[i + 1][1]
            elif k == "ident" and i + 6 < end and self.toks[i + 1][1] == "(":
                # a helper call `pkg(t, "name", "version", …)`
                t = self.toks[i + 2:i + 7]
                if [x[0] for x in t] == ["ident", "other", "str", "other", "str"] and t[1][1] == "," == t[3][1]:
                    out.append((t[2][1], t[4][1]))
            i += 1
        return out

    def has_want(self, o):
        """A want-ish key (or `want… :=`) directly inside block o."""
        depth = 0
        for i in range(o + 1, self.span[o]):
            k, v, _ = self.toks[i]
            if k == "open":
                depth += 1
            elif k == "close":
                depth -= 1
            elif depth == 0 and k in ("key", "ident") and re.match(r"(want|expected)", v, re.I) \
                    and not re.search(r"err|dep|rel|loc|meta|lic", v, re.I):
                if k == "key" or (i + 1 < len(self.toks) and self.toks[i + 1][1] in (":", "=")):
                    return True
        return False

    def want_idents(self, o):
        out = []
        for i in range(o + 1, self.span[o]):
            k, v, _ = self.toks[i]
            if k == "key" and re.search(r"want|expected", v, re.I) and not re.search(r"err|dep|rel", v, re.I):
                if i + 1 < len(self.toks) and self.toks[i + 1][0] == "ident":
                    out.append(self.toks[i + 1][1])
        return out

    def wants_error(self, o):
        for i in range(o + 1, self.span[o]):
            k, v, _ = self.toks[i]
            if k == "key" and re.fullmatch(r"(want|expect)(ed)?Err(or)?|wantErr", v, re.I):
                nxt = self.toks[i + 1] if i + 1 < len(self.toks) else ("", "", 0)
                if not (nxt[0] == "ident" and nxt[1] in ("nil", "false", "assert.NoError", "require.NoError")):
                    return True
        return False


def var_packages(go_files, name):
    for src in go_files:
        toks = go_tokens(src)
        b = Blocks(toks)
        for i, (k, v, _) in enumerate(toks):
            if k == "ident" and v == name and i + 1 < len(toks) and toks[i + 1][1] in ("=", ":"):
                # the next `{` after the definition
                j = i + 1
                while j < len(toks) and toks[j][0] != "open":
                    j += 1
                if j < len(toks) and j in b.span:
                    # `[]T{` ... take the outer literal
                    return b.packages(j)
    return None


def expectation(go_files_named, go_files, fixture_rel):
    """Searches the test files for fixture_rel (path relative to the test dir)."""
    base = os.path.basename(fixture_rel)
    for fname, src in go_files_named:
        if not fname.endswith("_test.go"):
            continue
        toks = go_tokens(src)
        b = Blocks(toks)
        for i, (k, v, _) in enumerate(toks):
            if k != "str":
                continue
            if not (v == fixture_rel or v.endswith("/" + fixture_rel) or fixture_rel.endswith("/" + v) and "/" in v):
                continue
            o = b.enclosing(i)
            while o is not None:
                pk = b.packages(o)
                ids = b.want_idents(o)
                if pk or ids or b.has_want(o):
                    for ident in ids:
                        vp = var_packages(go_files, ident)
                        if vp:
                            pk = pk + vp
                    return {"test": fname, "packages": sorted(set(pk)), "want_err": b.wants_error(o),
                            "stated": True}
                if b.wants_error(o):
                    return {"test": fname, "packages": [], "want_err": True}
                o = b.parent.get(o)
    return None


def main():
    total = 0
    for peer, (repo_name, dirs) in PEERS.items():
        repo = os.path.join(MIRRORS, repo_name.replace("/", "+"), "repo")
        commit = git(repo, "rev-parse", "HEAD").decode().strip()
        files = git(repo, "ls-tree", "-r", "--name-only", "HEAD").decode().splitlines()
        fileset = set(files)
        for d, kind in dirs:
            tests_dir_files = [f for f in files if f.startswith(d) and f.endswith(".go") and "/" not in f[len(d):]]
            go_named = [(os.path.basename(f), git(repo, "show", f"HEAD:{f}").decode("utf-8", "replace")) for f in tests_dir_files]
            go_srcs = [s for _, s in go_named]
            for f in files:
                if not f.startswith(d) or not re.search(r"/(testdata|test-fixtures)/", f[len(d) - 1:]):
                    continue
                rel = f[len(d):]
                if re.search(r"/(testdata|test-fixtures)/.*/(testdata|test-fixtures)/", "/" + rel):
                    continue
                if kind == "by-name":
                    canon = next((c for rx, c in BY_NAME if rx.search(f)), None)
                elif kind == "sbom":
                    if not f.endswith(".json"):
                        continue
                    canon = sbom_name(git(repo, "show", f"HEAD:{f}"))
                else:
                    canon = kind if f.endswith(EXT[kind]) or os.path.basename(f) == kind else None
                    if kind == "yarn.lock" and not f.endswith(".lock"):
                        canon = None
                if canon is None:
                    continue
                data = git(repo, "show", f"HEAD:{f}")
                case = re.sub(r"[^A-Za-z0-9._-]+", "__", rel)
                out = os.path.join(OUT, peer, case)
                os.makedirs(out, exist_ok=True)
                with open(os.path.join(out, canon), "wb") as fh:
                    fh.write(data)
                # companions
                fdir = os.path.dirname(f)
                companions = []
                if canon == "go.mod" and f"{fdir}/go.sum" in fileset and os.path.basename(f) == "go.mod":
                    companions.append("go.sum")
                if canon in ("package-lock.json", "yarn.lock") and os.path.basename(f) == canon and f"{fdir}/package.json" in fileset:
                    companions.append("package.json")
                for c in companions:
                    with open(os.path.join(out, c), "wb") as fh:
                        fh.write(git(repo, "show", f"HEAD:{fdir}/{c}"))
                exp = expectation(go_named, go_srcs, rel)
                if exp is None and os.path.basename(f) == canon:
                    # syft style: the fixture's directory is named in the test
                    exp = expectation(go_named, go_srcs, os.path.dirname(rel))
                meta = {"peer": peer, "repository": repo_name, "commit": commit, "path": f, "file": canon,
                        "companions": companions, "test": exp and exp["test"],
                        "want_err": bool(exp and exp["want_err"]),
                        "packages": exp["packages"] if exp and (exp["packages"] or exp.get("stated")) else None}
                with open(os.path.join(out, "expected.json"), "w") as fh:
                    json.dump(meta, fh, indent=1)
                total += 1
    print(f"{total} fixtures written under {OUT}")


main()
