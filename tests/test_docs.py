"""The contributor docs name what exists: every file and folder, dotted name, class attribute and function that
docs/architecture.md quotes is in the code; and no tracked file cites the team's internal design notes, which users
do not have (docs/architecture.md is the page to cite)."""

from __future__ import annotations

import ast
import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PACKAGES = ("sgd_gym", "agents", "baselines", "benchmarks")
INTERNAL_NOTES = "DESIGN" + ".md"  # spelled in two parts so that this file does not cite it either
CODE = re.compile(r"`([^`]+)`")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
DOTTED = re.compile(r"^(?:" + "|".join(PACKAGES) + r")(?:\.\w+)+")
CLASS_ATTRIBUTE = re.compile(r"^([A-Z]\w*)\.(\w+)")
CALL = re.compile(r"^([a-z_]\w*)\(")  # a function or method; CamelCase calls are classes (ours or not)


def quoted() -> list[str]:
    """Every inline code span of docs/architecture.md (fenced blocks left out)."""
    return CODE.findall(FENCE.sub("", ARCHITECTURE.read_text(encoding="utf-8")))


def tracked_files(suffixes: tuple[str, ...]) -> list[Path]:
    """The repository's files with those suffixes (git's list when this is a checkout, else a walk without venvs)."""
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        paths = [ROOT / name for name in listed]
    except (OSError, subprocess.CalledProcessError):
        paths = [path for path in ROOT.rglob("*") if not {".venv", ".git"} & set(path.relative_to(ROOT).parts)]
    return [path for path in paths if path.suffix in suffixes and path.is_file()]


def defined(body: list[ast.stmt], name: str) -> ast.AST | None:
    """The statement of ``body`` that defines ``name`` (a def, a class, an assignment or an import), or None."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            return node
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == name for a in node.names):
            return node
    return None


def resolves(dotted: str) -> bool:
    """Whether ``package.module[.name[.attribute]]`` names a module of the project and, in it, what follows."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        stem = ROOT.joinpath(*parts[:end])
        for module in (stem.with_suffix(".py"), stem / "__init__.py"):
            if module.is_file():
                body: list[ast.stmt] = ast.parse(module.read_text(encoding="utf-8")).body
                for name in parts[end:]:
                    node = defined(body, name)
                    if node is None:
                        return False
                    body = getattr(node, "body", [])
                return True
    return False


def is_subgoal(text: str) -> bool:
    """Whether ``text`` is a sub-goal (``heat(water, stove)``), which looks like a call but names no function."""
    from sgd_gym.subgoals import SubgoalError, parse_subgoal

    try:
        parse_subgoal(text)
    except SubgoalError:
        return False
    return True


@cache
def project_definitions() -> tuple[dict[str, ast.ClassDef], set[str]]:
    """Classes of the package code by name, and the names of all its functions and methods."""
    classes, functions = {}, set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    classes[node.name] = node
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    functions.add(node.name)
    return classes, functions


def test_no_tracked_file_cites_the_internal_design_notes():
    files = tracked_files((".py", ".md"))
    assert len(files) > 100
    citing = [str(path.relative_to(ROOT)) for path in files if INTERNAL_NOTES in path.read_text(encoding="utf-8")]
    assert not citing, f"cite docs/architecture.md instead of {INTERNAL_NOTES} in: {citing}"


def test_every_path_the_architecture_page_names_exists():
    paths = [span for span in quoted() if re.fullmatch(r"[\w.-]+/[\w./-]*", span) and span.endswith((".py", "/"))]
    paths = [path for path in paths if not path.split("/")[0].isupper()]  # DATA/..., RUN/...: placeholders
    assert len(paths) > 30
    missing = [path for path in paths if not (ROOT / path).exists()]
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_every_name_the_architecture_page_quotes_is_defined():
    classes, functions = project_definitions()
    spans = quoted()
    dotted = [match.group(0) for span in spans if (match := DOTTED.match(span))]
    members = [match.groups() for span in spans if (match := CLASS_ATTRIBUTE.match(span)) and match.group(1) in classes]
    calls = [match.group(1) for span in spans if (match := CALL.match(span)) and not is_subgoal(span)]
    assert len(dotted) > 15 and len(members) >= 4 and len(calls) >= 6
    undefined = [name for name in dotted if not resolves(name)]
    undefined += [f"{cls}.{name}" for cls, name in members if defined(classes[cls].body, name) is None]
    undefined += [f"{name}()" for name in calls if name not in functions]
    assert not undefined, f"docs/architecture.md quotes names the code does not define: {undefined}"
