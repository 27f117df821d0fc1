"""The package uses Scrapy's, SQLAlchemy's, Twisted's and Alembic's public API only:
no import of a private module or name, and no private attribute read on any object
but ``self`` / ``cls`` (issue 13: an upgrade must not silently change behaviour)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "harvester"
LIBRARIES = {"scrapy", "sqlalchemy", "twisted", "alembic"}
#: namedtuple's public methods start with an underscore (so as not to clash with fields)
NAMEDTUPLE = {"_replace", "_asdict", "_fields", "_make"}


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in LIBRARIES:
                names = node.module.split(".") + [alias.name for alias in node.names]
                if any(private(part) for part in names):
                    found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in LIBRARIES and any(private(part) for part in parts):
                    found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Attribute) and private(node.attr):
            own = isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}
            if not own and node.attr not in NAMEDTUPLE:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_private_name_of_another_object_or_library():
    offenders = {
        str(path.relative_to(PACKAGE.parent)): uses
        for path in sorted(PACKAGE.rglob("*.py"))
        if (uses := private_uses(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_check_sees_private_names():
    source = (
        "from scrapy.utils.defer import _schedule_coro\n"
        "import scrapy.core._private\n"
        "def f(downloader, request, self):\n"
        "    downloader._get_slot(request)\n"
        "    request._set_url('x')\n"
        "    self._mine = parts._replace(query='')\n"
    )
    assert [use.split(":")[0] for use in private_uses(source)] == ["1", "2", "4", "5"]
