"""The repository keeps its own references and tests honest.

- every ``docs/protocol.md §N`` cited in code, tests or docs names a section that exists;
- nothing cites notes that are not in the repository (the research notes the first sessions
  worked from), so a reader can always follow a reference;
- every test function checks something: an ``assert``, a ``raise``, ``pytest.raises``/``fail``
  or a call to a helper (here or in a tests/ module) that does.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
PROTOCOL = ROOT / "docs" / "protocol.md"
SEARCHED = ("src", "tests", "docs", "scripts", "bench", "vendor", "csrc")
SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ".patch", ".c", ".h", ".cdef"}

SECTION = re.compile(r"§(\d+(?:\.\d+)?)")
OUTSIDE_NOTES = re.compile(
    r"shared/research|sony-camera\.md|ptpip-protocol\.md|libgphoto2\.md|libraries\.md"
    r"|sony-smartphone\.md|sony-ftp\.md|research notes"
)


def text_files() -> Iterator[Path]:
    yield ROOT / "README.md"
    for top in SEARCHED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in SUFFIXES and path.is_file() and "_native" not in path.parts:
                yield path


def sections() -> set[str]:
    return set(re.findall(r"^#{2,3} (§\d+(?:\.\d+)?) ", PROTOCOL.read_text(), re.MULTILINE))


def cited(text: str) -> Iterator[str]:
    """Each section a line cites after naming protocol.md (``§4, §5``, ``§6–§7``, ``(§4.3
    TIDs, §5 identity)`` give each)."""
    for line in text.splitlines():
        _, named, rest = line.partition("protocol.md")
        if named:
            yield from (f"§{number}" for number in SECTION.findall(rest))


def test_the_citation_pattern_reads_every_form() -> None:
    forms = (
        "docs/protocol.md §4.1\n``docs/protocol.md`` (§7 a, §12.2 b)\n"
        "[protocol.md](protocol.md) §6–§7"
    )
    assert list(cited(forms)) == ["§4.1", "§7", "§12.2", "§6", "§7"]
    assert list(cited("BOT spec §3.2")) == []


def test_every_cited_section_of_protocol_md_exists() -> None:
    known = sections()
    assert {"§1", "§3", "§11.1", "§17"} <= known
    dangling = [
        f"{path.relative_to(ROOT)}: {section}"
        for path in text_files()
        for section in cited(path.read_text(encoding="utf-8", errors="replace"))
        if section not in known
    ]
    # protocol.md's own cross-references
    dangling += [f"§{n}" for n in SECTION.findall(PROTOCOL.read_text()) if f"§{n}" not in known]
    assert dangling == []


def test_nothing_cites_notes_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in text_files()
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE_NOTES.search(line)
    ]
    assert found == []


# --- every test checks something ----------------------------------------------------------------

CHECK_CALLS = ("raises", "warns", "fail")


def _called_names(node: ast.AST) -> Iterator[str]:
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            func = child.func
            if isinstance(func, ast.Attribute):
                yield func.attr
            elif isinstance(func, ast.Name):
                yield func.id


def _checks_directly(node: ast.AST) -> bool:
    if any(isinstance(child, (ast.Assert, ast.Raise)) for child in ast.walk(node)):
        return True
    return any(
        name in CHECK_CALLS or name.startswith(("assert", "expect", "check"))
        for name in _called_names(node)
    )


def _functions() -> tuple[dict[str, list[ast.AST]], dict[int, str]]:
    """Every function under tests/ by name, and where each one is (by node id)."""
    found: dict[str, list[ast.AST]] = {}
    where: dict[int, str] = {}
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.setdefault(node.name, []).append(node)
                where[id(node)] = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
    return found, where


def checks(node: ast.AST, functions: dict[str, list[ast.AST]], depth: int = 0) -> bool:
    """Whether ``node`` checks something itself or through helpers (a few calls deep)."""
    if _checks_directly(node):
        return True
    if depth == 4:
        return False
    return any(
        checks(helper, functions, depth + 1)
        for name in set(_called_names(node))
        for helper in functions.get(name, [])
        if helper is not node
    )


def test_the_scan_tells_a_checking_test_from_one_that_checks_nothing() -> None:
    module = ast.parse(
        "def helper(x):\n    assert x\n"
        "def test_through_a_helper():\n    helper(1)\n"
        "def test_raises():\n    with pytest.raises(ValueError):\n        int('x')\n"
        "def test_nothing():\n    int('1')\n"
    )
    functions: dict[str, list[ast.AST]] = {}
    for node in module.body:
        assert isinstance(node, ast.FunctionDef)
        functions.setdefault(node.name, []).append(node)
    verdicts = {name: checks(nodes[0], functions) for name, nodes in functions.items()}
    assert verdicts == {
        "helper": True,
        "test_through_a_helper": True,
        "test_raises": True,
        "test_nothing": False,
    }


def test_every_test_function_checks_something() -> None:
    functions, where = _functions()
    tests = [
        (name, node)
        for name, nodes in functions.items()
        if name.startswith("test")
        for node in nodes
    ]
    assert len(tests) > 1000  # the scan found the suite
    idle = sorted(where[id(node)] for _, node in tests if not checks(node, functions))
    assert idle == []


def test_every_emulator_fault_is_in_the_readme_table_and_the_help() -> None:
    from sony_pm_alt.cli import main
    from sony_pm_alt.emulator.faults import KINDS

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Emulator faults") :]
    in_table = set(re.findall(r"^\| `([a-z-]+)=", table, re.MULTILINE))
    assert in_table == set(KINDS)
    emulate = main.get_command(click.Context(main), "emulate")
    assert emulate is not None
    fault = next(p for p in emulate.params if p.name == "faults")
    assert [k for k in KINDS if f"{k}=" not in str(fault.help)] == []


def test_every_template_token_is_in_the_readme_table() -> None:
    from sony_pm_alt.engine.naming import KNOWN_TOKENS

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Naming templates") : readme.index("### When something")]
    assert set(re.findall(r"`\{([a-z_]+)\}`", table)) == set(KNOWN_TOKENS)
