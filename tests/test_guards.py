"""Guards on the layout of DESIGN.md: one-way dependencies, module size, a cheap `import fourfold`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import fourfold

PACKAGE = Path(fourfold.__file__).parent
SYSTEMS = {"gpt", "gym", "rl", "deepmoji", "five"}

# What each part of the package may import (besides the root package, for `__version__`).
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "gpt": {"core", "gpt"},
    "gym": {"core", "gym"},
    "rl": {"core", "gym", "rl"},
    "deepmoji": {"core", "gpt", "deepmoji"},
    "five": {"core", "gym", "rl", "gpt", "five"},
    "web": {"core", "demo", "bench"} | SYSTEMS | {"web"},
    "cli": {"core", "demo", "bench"} | SYSTEMS | {"cli"},
    "__main__": {"cli"},
    "__init__": set(),
    "demo": {"core"},
    "bench": {"core"},
}


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_parts(path: Path) -> set[str]:
    """The parts of fourfold that `path` imports (absolute and relative imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["fourfold", *path.relative_to(PACKAGE).parent.parts]
    parts: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names = [".".join([*base, node.module] if node.module else base)]
            elif node.module:
                names = [node.module]
            # `from fourfold import gpt` imports a part by name
            if names == ["fourfold"]:
                names = [f"fourfold.{alias.name}" for alias in node.names]
        for name in names:
            pieces = name.split(".")
            if pieces[0] == "fourfold" and len(pieces) > 1:
                parts.add(pieces[1])
    return parts


def test_dependencies_point_one_way() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = _part(path)
        allowed = ALLOWED.get(part)
        assert allowed is not None, f"{path} is in an unknown part {part!r}: add it to DESIGN.md and ALLOWED"
        for imported in _imported_parts(path) - allowed - {"__init__"}:
            if imported != "__version__":
                problems.append(f"{path.relative_to(PACKAGE)} imports fourfold.{imported}")
    assert not problems, "imports against DESIGN.md's one-way dependencies:\n" + "\n".join(problems)


def test_no_module_over_800_lines() -> None:
    sizes = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in PACKAGE.rglob("*.py")}
    too_big = [f"{path.relative_to(PACKAGE)} ({lines} lines)" for path, lines in sizes.items() if lines > 800]
    assert not too_big, "split these modules along the concepts they hold: " + ", ".join(too_big)


def test_every_module_has_a_docstring() -> None:
    missing = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None
    ]
    assert not missing, "modules without a docstring: " + ", ".join(missing)


def test_import_fourfold_and_help_import_no_torch() -> None:
    code = (
        "import sys, io, contextlib\n"
        "import fourfold\n"
        "assert 'torch' not in sys.modules, 'import fourfold imported torch'\n"
        "from fourfold.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "    main(['gpt', '--help'])\n"
        "assert 'torch' not in sys.modules, 'fourfold --help imported torch'\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
