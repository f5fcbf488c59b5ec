"""Read descriptor text (YAML or JSON) into plain JSON types, within size, depth and expansion limits."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml

from catalogue.db import unstorable
from catalogue.exceptions import DescriptorError, Problem
from catalogue.services import json_pointer
from catalogue.services.json_pointer import escape as pointer_escape

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_MAX_NUMBER_DIGITS = 400


@dataclass(frozen=True)
class Limits:
    """Bounds on what one descriptor may cost to read."""

    max_bytes: int = 2 * 1024 * 1024
    max_depth: int = 100
    max_nodes: int = 500_000


def _fail(message: str, pointer: str = "", line: int | None = None) -> DescriptorError:
    return DescriptorError(Problem(pointer=pointer, message=message, source="syntax", line=line))


def _key_text(value: Any) -> str:
    # OpenAPI tools read every mapping key as a string: `200:` is "200", `true:` is "true".
    if isinstance(value, str):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return json.dumps(value)


def _line(mark: Any) -> int | None:
    """The 1-based line of a YAML mark (events from the parser always carry one)."""
    return mark.line + 1 if mark is not None else None


def _scalar(event: yaml.ScalarEvent, pointer: str) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag not in _SCALAR_TAGS:
        raise _fail(f"the YAML tag {tag} is not allowed in a descriptor", pointer, _line(event.start_mark))
    if tag == "tag:yaml.org,2002:str":
        return event.value
    value = _constructor.yaml_constructors[tag](_constructor, yaml.ScalarNode(tag, event.value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(f"{event.value!r} is not a finite number", pointer, _line(event.start_mark))
    if isinstance(value, int) and not isinstance(value, bool) and len(event.value) > _MAX_NUMBER_DIGITS:
        raise _fail("number out of range", pointer, _line(event.start_mark))
    return value


_NO_KEY = object()
_MERGE = object()
_COLLECTION_TAGS = (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Frame:
    """A mapping or list being built: its value so far, where it is, and the key waiting for a value."""

    __slots__ = ("anchor", "key", "keys_seen", "merges", "nodes", "pointer", "value")

    def __init__(self, value: Any, pointer: str, anchor: str | None) -> None:
        self.value = value
        self.pointer = pointer
        self.anchor = anchor
        self.nodes = 1
        self.key: Any = _NO_KEY
        self.merges: list[dict[str, Any]] = []
        self.keys_seen: set[str] = set()

    def wants_key(self) -> bool:
        """True for a mapping whose next node is a key, not a value."""
        return isinstance(self.value, dict) and self.key is _NO_KEY

    def child_pointer(self) -> str:
        """The pointer of the node read next inside this frame."""
        if isinstance(self.value, list):
            return f"{self.pointer}/{len(self.value)}"
        if self.key is _NO_KEY:
            return self.pointer + "/?"  # a key is being read: it has no place of its own
        return self.pointer + "/" + pointer_escape(self.key if isinstance(self.key, str) else "<<")


class _Builder:
    """Plain JSON values built from YAML events, one event at a time, within the limits.

    The steps, each a method: a second document is refused; a mapping or list opens a frame (the
    depth limit and the allowed tags are checked there); a scalar is read with the safe tags only;
    an alias reuses what its anchor built, counted at its full size; every finished value is counted
    against the node limit and placed in its parent, as a key (refused when it repeats), a merge
    (<<) or a value; the line of each pointer is noted in the line map on the way.
    """

    def __init__(self, limits: Limits, lines: dict[str, int] | None) -> None:
        self.limits = limits
        self.lines = lines
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor → (value, nodes it expands to)
        self.open_anchors: set[str] = set()  # anchors of collections still being built
        self.stack: list[_Frame] = []
        self.total = 0  # nodes read so far, each alias counted at its full size
        self.documents = 0
        self.root: Any = None

    def feed(self, event: yaml.Event) -> None:
        """Take one event from the parser."""
        if isinstance(event, yaml.NodeEvent):
            self.node(event)
        elif isinstance(event, yaml.CollectionEndEvent):
            self.close_collection(event)
        elif isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise _fail("expected one YAML document, found several", "", _line(event.start_mark))

    def node(self, event: yaml.NodeEvent) -> None:
        """A scalar, an alias or the start of a collection, at the next place in its parent."""
        parent = self.stack[-1] if self.stack else None
        pointer = parent.child_pointer() if parent is not None else ""
        if isinstance(event, yaml.AliasEvent):
            value, nodes = self.alias(event, pointer)
        elif isinstance(event, yaml.ScalarEvent):
            if parent is not None and parent.wants_key() and _is_merge_key(event):
                parent.key = _MERGE
                return
            value, nodes = _scalar(event, pointer), 1
            if event.anchor:
                self.anchors[event.anchor] = (value, 1)
        elif isinstance(event, yaml.CollectionStartEvent):
            self.open_collection(event, parent, pointer)
            return
        self.place(value, nodes, event.start_mark)

    def alias(self, event: yaml.AliasEvent, pointer: str) -> tuple[Any, int]:
        """The value an alias repeats, and how many nodes it expands to."""
        line = _line(event.start_mark)
        if event.anchor in self.open_anchors:
            raise _fail(f"the alias *{event.anchor} refers to a node that contains it", pointer, line)
        if event.anchor not in self.anchors:
            raise _fail(f"the alias *{event.anchor} names no anchor", pointer, line)
        return self.anchors[event.anchor]

    def open_collection(self, event: yaml.CollectionStartEvent, parent: _Frame | None, pointer: str) -> None:
        """A new mapping or list frame, once its tag, its depth and its place are allowed."""
        line = _line(event.start_mark)
        if event.tag not in _COLLECTION_TAGS:
            raise _fail(f"the YAML tag {event.tag} is not allowed in a descriptor", pointer, line)
        if len(self.stack) >= self.limits.max_depth:
            raise _fail(f"nesting is deeper than the limit of {self.limits.max_depth} levels", pointer, line)
        if event.anchor:
            self.open_anchors.add(event.anchor)
        if parent is not None and parent.wants_key():
            raise _fail("mapping keys must be plain values, not mappings or lists", pointer, line)
        self.note_line(pointer, line)
        container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
        self.stack.append(_Frame(container, pointer, event.anchor))

    def close_collection(self, event: yaml.CollectionEndEvent) -> None:
        """A finished mapping or list: merges applied, its anchor usable, the value placed in its parent."""
        frame = self.stack.pop()
        for source in frame.merges:
            for key, value in source.items():
                frame.value.setdefault(key, value)  # keys written in the mapping win over merged ones
        if frame.anchor:
            self.anchors[frame.anchor] = (frame.value, frame.nodes)
            self.open_anchors.discard(frame.anchor)
        self.place(frame.value, frame.nodes, event.start_mark)

    def place(self, value: Any, nodes: int, mark: Any) -> None:
        """Count a finished value against the node limit, then put it where the parser found it."""
        line = _line(mark)
        self.total += nodes
        if self.total > self.limits.max_nodes:
            raise _fail(
                f"the document expands to more than {self.limits.max_nodes} values (aliases included)", "", line
            )
        if not self.stack:
            self.root = value
            return
        parent = self.stack[-1]
        parent.nodes += nodes
        if isinstance(parent.value, list):
            self.note_line(f"{parent.pointer}/{len(parent.value)}", line)
            parent.value.append(value)
        elif parent.key is _NO_KEY:
            self.take_key(parent, value, line)
        elif parent.key is _MERGE:
            self.take_merge(parent, value, line)
        else:
            parent.value[parent.key] = value
            parent.key = _NO_KEY

    def take_key(self, parent: _Frame, value: Any, line: int | None) -> None:
        """A mapping key, as text; a key already seen in the same mapping is refused."""
        key = _key_text(value)
        pointer = parent.pointer + "/" + pointer_escape(key)
        if key in parent.keys_seen:
            raise _fail(f"duplicate key {key!r}", pointer, line)
        parent.keys_seen.add(key)
        parent.key = key
        self.note_line(pointer, line)

    def take_merge(self, parent: _Frame, value: Any, line: int | None) -> None:
        """The mapping (or list of mappings) a merge key (<<) brings in, applied when the mapping closes."""
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(source, dict) for source in sources):
            raise _fail("a merge key (<<) must refer to mappings", parent.pointer, line)
        parent.merges.extend(sources)
        parent.key = _NO_KEY

    def note_line(self, pointer: str, line: int | None) -> None:
        """Remember the first line of pointer, when a line map was asked for."""
        if self.lines is not None and line is not None:
            self.lines.setdefault(pointer, line)


def _is_merge_key(event: yaml.ScalarEvent) -> bool:
    """A plain, untagged `<<` in key position: YAML's merge key."""
    return event.value == "<<" and event.implicit[0] and event.tag is None


def _syntax_error(exc: yaml.MarkedYAMLError, limits: Limits) -> DescriptorError:
    """The problem to report for text the YAML parser could not read."""
    mark = exc.problem_mark or exc.context_mark
    if "nesting depth" in str(exc.problem):
        # libyaml's scanner counts flow levels ahead of the events we bound, with its own limit.
        return _fail(f"nesting is deeper than the limit of {limits.max_depth} levels", "", _line(mark))
    return _fail(f"not valid YAML: {exc.problem or exc.context}", "", _line(mark))


def load_yaml(text: str, limits: Limits, lines: dict[str, int] | None = None) -> Any:
    """Build plain JSON values from YAML events, bounding depth and the size aliases expand to.

    Events are consumed iteratively (no recursion), so nesting is checked before it can hurt.
    Aliases are legitimate: each anchor remembers how many nodes it expands to, and the running
    total of expanded nodes is bounded, so an alias bomb fails after a few thousand events.
    When lines is given, it is filled with the line of each pointer (see Descriptor.line_for).
    """
    builder = _Builder(limits, lines)
    try:
        for event in yaml.parse(text, Loader=_Loader):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, limits) from None
    except yaml.YAMLError as exc:
        raise _fail(f"not valid YAML: {exc}") from None
    return builder.root


def _check_json_depth(value: Any, limit: int) -> None:
    todo = [(value, 0)]
    while todo:
        item, depth = todo.pop()
        if depth > limit:
            raise _fail(f"nesting is deeper than the limit of {limit} levels")
        if isinstance(item, dict):
            todo.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            todo.extend((v, depth + 1) for v in item)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _fail(f"duplicate key {key!r}")
        result[key] = value
    return result


def _json_int(text: str) -> int:
    if len(text) > _MAX_NUMBER_DIGITS:
        raise _fail("number out of range")
    return int(text)


def _json_constant(text: str) -> Any:
    raise _fail(f"{text} is not a JSON number")


def load_json(text: str, limits: Limits) -> Any:
    """Parse strict JSON; duplicate keys, NaN/Infinity and excessive nesting are refused."""
    try:
        value = json.loads(text, object_pairs_hook=_json_pairs, parse_int=_json_int, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise _fail(f"not valid JSON: {exc.msg}", "", exc.lineno) from None
    except RecursionError:
        raise _fail(f"nesting is deeper than the limit of {limits.max_depth} levels") from None
    except DescriptorError as exc:
        if exc.problem.message.startswith("duplicate key"):
            # Locate the duplicate with the YAML reader, which tracks pointers and lines.
            load_yaml(text, limits)
        raise
    _check_json_depth(value, limits.max_depth)
    _check_json_floats(value)
    return value


def _check_json_floats(value: Any) -> None:
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise _fail("number out of range")
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)


@dataclass
class Descriptor:
    """A parsed descriptor: its plain JSON content and the text it came from."""

    content: dict[str, Any]
    text: str | None = None
    limits: Limits = Limits()
    _lines: dict[str, int] | None = None

    def line_for(self, pointer: str) -> int | None:
        """Line of the value at pointer (or of its nearest ancestor) in the original text."""
        if self.text is None:
            return None
        if self._lines is None:
            self._lines = {}
            try:
                load_yaml(self.text, self.limits, self._lines)
            except DescriptorError:
                pass
        while True:
            if pointer in self._lines:
                return self._lines[pointer]
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]


def parse(data: bytes | str, fmt: str = "yaml", limits: Limits | None = None) -> Descriptor:
    """Parse descriptor text; raise DescriptorError naming the first problem that stops reading."""
    limits = limits or Limits()
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > limits.max_bytes:
        problem = Problem("", f"the descriptor is {len(raw)} bytes; the limit is {limits.max_bytes} bytes", "syntax")
        raise DescriptorError(problem, status=413)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _fail(f"not valid UTF-8 (byte {exc.start})", "", line) from None
    content = load_json(text, limits) if fmt == "json" else load_yaml(text, limits)
    if content is None:
        raise _fail("the descriptor is empty")
    if not isinstance(content, dict):
        raise _fail("a descriptor must be a mapping of keys to values", "", 1)
    descriptor = Descriptor(content=content, text=text, limits=limits)
    _check_text(descriptor)
    return descriptor


def _check_text(descriptor: Descriptor) -> None:
    """Refuse strings the database cannot keep: PostgreSQL text and JSONB reject NUL, and escapes
    such as \\ud800 (JSON) or "\\udc80" (YAML) read as lone surrogates that no UTF-8 encoder accepts."""
    for pointer, text, is_key in json_pointer.texts(descriptor.content):
        reason = unstorable(text)
        if reason:
            what = f"the key {text[:60]!r}" if is_key else "the text"
            raise _fail(f"{what} contains {reason}", pointer, descriptor.line_for(pointer))
