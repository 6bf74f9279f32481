"""What a stage tells its reader, without words: ``Note(code, params)``.

A stage never writes a sentence. It returns notes whose ``code`` names a message of the
catalogue (``kit/present/messages/*.yml``) and whose ``params`` fill its placeholders; the
presentation layer turns them into text in the report language.

``kind`` is ``info``, ``warning`` or ``omitted`` (a section the data cannot support: the
note says which and why; the kit never fills in a substitute).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

NoteKind = Literal["info", "warning", "omitted"]


@dataclass(frozen=True)
class Msg:
    """A message code with parameters, not yet put in words (e.g. a label inside a note)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, code: str, /, **params: Any):
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "params", params)


def _jsonable(v: Any) -> Any:
    if isinstance(v, Msg):
        return {"msg": v.code, "params": {k: _jsonable(x) for k, x in v.params.items()}}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def _from_json(v: Any) -> Any:
    if isinstance(v, dict) and set(v) == {"msg", "params"}:
        return Msg(v["msg"], **{k: _from_json(x) for k, x in v["params"].items()})
    if isinstance(v, list):
        return [_from_json(x) for x in v]
    return v


@dataclass(frozen=True)
class Note:
    """A message code and its parameters; ``section`` names the notebook it belongs to."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    kind: NoteKind = "info"
    section: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": {k: _jsonable(v) for k, v in self.params.items()},
                "kind": self.kind, "section": self.section}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Note":
        params = {k: _from_json(v) for k, v in d.get("params", {}).items()}
        return cls(d["code"], params, d.get("kind", "info"), d.get("section", ""))


def dedupe(notes: list[Note]) -> list[Note]:
    """Notes in their first order, each once."""
    seen: set[tuple] = set()
    out = []
    for n in notes:
        key = (n.code, tuple(sorted((k, repr(v)) for k, v in n.params.items())), n.kind)
        if key not in seen:
            seen.add(key)
            out.append(n)
    return out
