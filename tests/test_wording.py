"""Words a person reads: never "error(s)" in a template, a message or a script; counts take their right number."""

from __future__ import annotations

import re
from pathlib import Path

from catalogue.wording import plural

ROOT = Path(__file__).resolve().parents[1]
_BUILTINS = {"str", "len", "int", "float", "list", "set", "tuple", "sorted", "repr", "print", "any", "all"}


def test_no_hedged_plurals_anywhere_a_reader_looks() -> None:
    found = []
    for folder, patterns in (("catalogue", ("*.py", "*.html", "*.md")), ("static", ("*.js",))):
        for pattern in patterns:
            for path in (ROOT / folder).rglob(pattern):
                for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                    # A word glued to "(s)", as in "error(s)"; a call such as has_scope(s) or x.count(s) is code.
                    for match in re.finditer(r"(?<![\w.])[A-Za-z]+\((?:s|es)\)", line):
                        word = match.group(0)
                        if word.split("(")[0] in _BUILTINS:
                            continue
                        found.append(f"{path.relative_to(ROOT)}:{number}: {word}")
    assert found == [], "write the count's right number (catalogue.wording.plural) instead of:\n" + "\n".join(found)


def test_plural_gives_the_right_number() -> None:
    assert plural(1, "error") == "1 error"
    assert plural(0, "error") == "0 errors"
    assert plural(3, "sub-process", "sub-processes") == "3 sub-processes"
