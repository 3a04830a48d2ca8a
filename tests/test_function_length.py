"""Functions a reader can hold: none over 60 lines unless its docstring says why.

A long function passes only with a paragraph starting ``Why long:`` in its docstring (one
sequential algorithm whose halves would pass a dozen locals between them, a fixed sequence
of steps a reader follows top to bottom...). Migrations are exempt: each is one linear script.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("server", "sync", "ocr", "console", "mini_program_api")
LIMIT = 60
MARK = "Why long:"


def long_functions_without_reason(
    root: Path = ROOT, packages: tuple[str, ...] = PACKAGES
) -> list[str]:
    found: list[str] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > LIMIT and MARK not in (ast.get_docstring(node) or ""):
                    where = path.relative_to(root)
                    found.append(f"{where}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_over_60_lines_without_a_reason() -> None:
    assert long_functions_without_reason() == []


def test_the_rule_finds_a_long_function_and_accepts_a_reason(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(
        f"async def short():\n    return 1\n\n\nasync def long():\n{body}\n"
        f'\n\ndef explained():\n    """Does it all.\n\n    {MARK} one sequence."""\n{body}\n'
    )
    assert long_functions_without_reason(tmp_path, ("pkg",)) == ["pkg/a.py:5 long (61 lines)"]
