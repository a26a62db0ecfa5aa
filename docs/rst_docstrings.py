"""A griffe extension for the API reference (named in mkdocs.yml): it turns the reStructuredText
of nasbench's docstrings into the Markdown mkdocstrings renders, without touching the source.

- a role such as ``:func:`~nasbench.run``` becomes a cross-reference, resolved in the scope of
  the object the docstring belongs to; a target the reference does not document stays code;
- a doctest at the margin (from ``>>>`` to the next blank line) becomes a ``pycon`` code block
  (Markdown would read its ``>>>`` as nested quotes);
- a paragraph ending in ``::`` ends in ``:`` and its indented literal block becomes a fenced
  code block (``python`` when it parses as Python).

``double backticks`` need nothing: they are Markdown code too.
"""

from __future__ import annotations

import ast
import html
import re
import textwrap
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|obj|exc|const):`(~?)([^`]+)`")
FENCED = re.compile(r"^```.*?^```$", re.DOTALL | re.MULTILINE)


def _target(obj: griffe.Object, name: str) -> str:
    """The full path ``name`` refers to from ``obj``'s scope (``name`` itself when unknown)."""
    head, _, rest = name.partition(".")
    try:
        path = obj.resolve(head)
    except (griffe.NameResolutionError, griffe.AliasResolutionError, KeyError):
        return name
    return f"{path}.{rest}" if rest else path


def _roles(obj: griffe.Object, text: str) -> str:
    def link(match: re.Match[str]) -> str:
        short, name = match[1] == "~", match[2].strip()
        name = re.sub(r"^.*<(.+)>$", r"\1", name)  # :func:`title <target>`: the target
        title = name.rsplit(".", 1)[-1] if short else name
        target = html.escape(_target(obj, name), quote=True)
        # entities, so that Markdown reads no emphasis in ``__all__`` or ``*args``
        code = "<code>" + html.escape(title).replace("_", "&#95;").replace("*", "&#42;") + "</code>"
        return f'<autoref identifier="{target}" optional>{code}</autoref>'

    prose = FENCED.split(text)  # roles in code blocks stay as written
    code = [m[0] for m in FENCED.finditer(text)]
    parts = [ROLE.sub(link, p) + c for p, c in zip(prose, [*code, ""], strict=True)]
    return "".join(parts)


def _fence(lines: list[str], language: str) -> list[str]:
    return ["", f"```{language}", *lines, "```", ""]


def _blocks(text: str) -> str:
    """Doctests and ``::`` literal blocks as fenced code blocks."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(">>>"):
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            out += _fence(lines[i:end], "pycon")
            i = end
            continue
        if line.rstrip().endswith("::") and i + 1 < len(lines) and not lines[i + 1].strip():
            end = i + 1
            while end < len(lines) and (not lines[end].strip() or lines[end].startswith(" ")):
                end += 1
            while end > i + 1 and not lines[end - 1].strip():
                end -= 1
            code = textwrap.dedent("\n".join(lines[i + 1 : end])).strip("\n")
            if code:
                head = line.rstrip()[:-1].rstrip()
                out += [head if head.endswith(":") or not head else head + ":"]
                out += _fence(code.splitlines(), _language(code))
                i = end
                continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _language(code: str) -> str:
    try:
        ast.parse(code)
    except SyntaxError:
        return "text"
    return "python"


class RstDocstrings(griffe.Extension):
    """Rewrite every docstring of a package once it is loaded (names resolve then)."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if obj.docstring is not None:
                obj.docstring.value = _roles(obj, _blocks(obj.docstring.value))
            stack.extend(m for m in obj.members.values() if not m.is_alias)
