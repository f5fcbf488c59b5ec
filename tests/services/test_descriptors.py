"""Parsing limits and conversions of descriptors.parse."""

from __future__ import annotations

import time

import pytest

from catalogue.exceptions import DescriptorError
from catalogue.services.descriptors import Limits, parse


def _problem(text, **kw):
    with pytest.raises(DescriptorError) as info:
        parse(text, **kw)
    return info.value.problem


def test_integer_keys_become_strings_and_aliases_merge():
    d = parse("base: &b {type: string, 200: ok}\nuse:\n  <<: *b\n  type: integer\nagain: *b\n")
    assert d.content == {
        "base": {"type": "string", "200": "ok"},
        "use": {"type": "integer", "200": "ok"},
        "again": {"type": "string", "200": "ok"},
    }
    assert d.line_for("/use/type") == 4


def test_dates_become_iso_strings():
    assert parse("released: 2024-01-31\n").content == {"released": "2024-01-31"}


def test_duplicate_key_has_pointer_and_line():
    p = _problem("a:\n  b: 1\n  b: 2\n")
    assert (p.pointer, p.line) == ("/a/b", 3)
    assert "duplicate key" in p.message


def test_duplicate_key_in_json_is_located():
    p = _problem('{"a": {"x": 1,\n "x": 2}}', fmt="json")
    assert (p.pointer, p.line) == ("/a/x", 2)


def test_size_limit():
    p = _problem("a: " + "x" * 200, limits=Limits(max_bytes=100))
    assert "limit is 100 bytes" in p.message


def test_depth_limit_yaml_and_json():
    assert "deeper than the limit of 100" in _problem("[" * 150 + "]" * 150).message
    assert "deeper than the limit of 100" in _problem("[" * 150 + "]" * 150, fmt="json").message


def test_invalid_utf8_names_line():
    p = _problem(b"a: 1\nb: \xff\n")
    assert p.line == 2 and "UTF-8" in p.message


def test_alias_bomb_refused_quickly():
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(8):
        prev, cur = chr(97 + i), chr(98 + i)
        rows.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    start = time.perf_counter()
    p = _problem("\n".join(rows) + "\n")
    assert time.perf_counter() - start < 0.5
    assert "expands to more than" in p.message


def test_recursive_alias_refused():
    assert "contains it" in _problem("a: &a [1, *a]\n").message


def test_python_tags_refused():
    assert "not allowed" in _problem("a: !!python/object:os.system {}\n").message


def test_non_mapping_and_empty_refused():
    assert "mapping" in _problem("- 1\n").message
    assert "empty" in _problem("").message
