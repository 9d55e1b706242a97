"""Writes tests/data/gs1_vectors.json from GS1's Barcode Syntax Engine and biip's test sources (run by hand).

    python tests/data/extract_gs1_vectors.py ENGINE_REPO BIIP_REPO > tests/data/gs1_vectors.json

ENGINE_REPO is a git clone of github.com/gs1/gs1-syntax-engine, BIIP_REPO of
github.com/jodal/biip; the commits read are the ones named below. Only literal
test data is taken, with its verdict as the source states it:

- engine src/c-lib/ai.c test_ai_processAIdata: test_processAIdata(ok, "^…"),
  "^" being FNC1 (first: the GS1 symbology, later: GS). Calls without a leading
  FNC1 are no GS1 message at all and are left out, like those built in a buffer.
- engine src/c-lib/ai.c test_ai_validateAIs: test_validateAIs(ok, fn, "(AI)…"),
  the bracketed form; each checks one rule (repeats, ex=, req=, digital signature).
- engine src/c-lib/dl.c test_dl_parseDLuri: test_parseDLuri(ok, "uri", …).
- biip tests/test_gs1_messages.py, tests/test_gs1_digital_link_uris.py and
  tests/upc/test_parse.py: the first argument of each parametrized case of the
  tests that parse (ok) or expect a ParseError (not ok).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

ENGINE_COMMIT = "50657dbd04ce78d8734e8793e054bf70dcba294b"
BIIP_COMMIT = "701f78ee3018e1acf8c265e3d780b99252f19ac6"

_C_STRING = r'"((?:[^"\\]|\\.)*)"'


def show(repo: str, commit: str, path: str) -> str:
    return subprocess.run(["git", "-C", repo, "show", f"{commit}:{path}"], check=True, capture_output=True,
                          text=True).stdout


def c_unescape(text: str) -> str:
    return text.encode().decode("unicode_escape")


def engine_vectors(repo: str) -> list[dict]:
    out = []
    ai_c = show(repo, ENGINE_COMMIT, "src/c-lib/ai.c")
    source = f"gs1/gs1-syntax-engine@{ENGINE_COMMIT[:7]} src/c-lib/ai.c"
    for number, line in enumerate(ai_c.splitlines(), 1):
        if m := re.search(rf"test_processAIdata\((true|false),\s*{_C_STRING}\);\s*(?://\s*(.*))?", line):
            data = c_unescape(m[2])
            if data.startswith("^"):
                out.append({"source": f"{source}:{number}", "form": "aim", "data": data, "valid": m[1] == "true",
                            "note": (m[3] or "").strip()})
        elif m := re.search(rf"test_validateAIs\((true|false),\s*(\w+),\s*{_C_STRING}\);\s*(?://\s*(.*))?", line):
            out.append({"source": f"{source}:{number}", "form": "hri", "data": c_unescape(m[3]),
                        "valid": m[1] == "true", "note": m[2] + (f": {m[4].strip()}" if m[4] else "")})
    dl_c = show(repo, ENGINE_COMMIT, "src/c-lib/dl.c")
    body = dl_c[dl_c.index("void test_dl_parseDLuri"):dl_c.index("void test_dl_URIunescape")]
    for m in re.finditer(rf"test_parseDLuri\((true|false),\s*(?://[^\n]*\n\s*)?{_C_STRING}(\s*\")?", body):
        if m[3]:  # a string glued from several literals: not taken
            continue
        number = dl_c[:dl_c.index(body)].count("\n") + body[:m.start()].count("\n") + 1
        out.append({"source": f"gs1/gs1-syntax-engine@{ENGINE_COMMIT[:7]} src/c-lib/dl.c:{number}", "form": "dl",
                    "data": c_unescape(m[2]), "valid": m[1] == "true", "note": ""})
    return out


def _cases(tree: ast.Module, test: str) -> list[tuple[int, object]]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == test:
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "parametrize":
                    cases = []
                    for elt in deco.args[1].elts:
                        first = elt.elts[0] if isinstance(elt, ast.Tuple) else elt
                        if isinstance(first, ast.Constant) and isinstance(first.value, str):
                            cases.append((elt.lineno, first.value))
                    return cases
    raise LookupError(test)


BIIP_TESTS = [
    ("tests/test_gs1_messages.py", "test_parse", "plain", True),
    ("tests/test_gs1_messages.py", "test_parse_fails_if_unparsed_data_left", "plain", False),
    ("tests/test_gs1_messages.py", "test_parse_hri", "hri", True),
    ("tests/test_gs1_messages.py", "test_parse_hri_fails_if_no_pattern_matches", "hri", False),
    ("tests/test_gs1_messages.py", "test_parse_hri_fails_if_ai_is_unknown", "hri", False),
    ("tests/test_gs1_digital_link_uris.py", "test_parse", "dl", True),
    ("tests/test_gs1_digital_link_uris.py", "test_parse_error", "dl", False),
    ("tests/upc/test_parse.py", "test_parse_upc_e", "upc", True),
]


def biip_vectors(repo: str) -> list[dict]:
    out = []
    for path, test, form, valid in BIIP_TESTS:
        tree = ast.parse(show(repo, BIIP_COMMIT, path))
        for number, value in _cases(tree, test):
            out.append({"source": f"jodal/biip@{BIIP_COMMIT[:7]} {path}:{number} {test}", "form": form,
                        "data": value, "valid": valid, "note": ""})
    return out


if __name__ == "__main__":
    vectors = engine_vectors(sys.argv[1]) + biip_vectors(sys.argv[2])
    json.dump({"sources": {"gs1/gs1-syntax-engine": ENGINE_COMMIT, "jodal/biip": BIIP_COMMIT},
               "vectors": vectors}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
