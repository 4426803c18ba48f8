"""A version diff as an HTML fragment, for the pages: the metadata changes in a table,
then the body side by side (``render_html``) or inline with <del>/<ins>
(``render_html_inline``).

Pure: a ``VersionDiff`` in, a string out. Archived text is hostile, so every piece of it
that reaches HTML goes through ``html.escape(..., quote=True)``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from itertools import zip_longest

from archive.content.diff import DiffOp, OpKind, VersionDiff

__all__ = [
    "render_html",
    "render_html_inline",
]


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _mark(text: str, tag: str | None) -> str:
    return _esc(text) if tag is None else f'<{tag} class="pw-{tag}">{_esc(text)}</{tag}>'


def _one_side(ops: Iterable[DiffOp], old: bool) -> str:
    tag = "del" if old else "ins"
    parts = (
        _mark(op.old if old else op.new, None if op.kind is OpKind.EQUAL else tag)
        for op in ops
        if (op.old if old else op.new)
    )
    return "".join(parts)


def _inline(ops: Iterable[DiffOp]) -> str:
    parts: list[str] = []
    for op in ops:
        if op.kind is OpKind.EQUAL:
            parts.append(_esc(op.old))
            continue
        if op.old:
            parts.append(_mark(op.old, "del"))
        if op.new:
            parts.append(_mark(op.new, "ins"))
    return "".join(parts)


def _cell(side: str, content: str | None) -> str:
    """A table cell of one side; ``pw-none`` marks one where that side has nothing."""
    if content is None:
        return f'<td class="pw-side-{side} pw-none"></td>'
    return f'<td class="pw-side-{side}">{content}</td>'


def _meta_table(d: VersionDiff) -> str:
    rows = []
    for f in d.fields:
        old = None if f.old is None else _one_side(f.ops, old=True)
        new = None if f.new is None else _one_side(f.ops, old=False)
        rows.append(
            f'<tr><th scope="row">{_esc(f.field)}</th>{_cell("old", old)}{_cell("new", new)}</tr>'
        )
    return (
        '<table class="pw-diff-meta"><thead><tr><th></th>'
        f'<th class="pw-side-old">{_esc(d.old_label)}</th>'
        f'<th class="pw-side-new">{_esc(d.new_label)}</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _aligned_rows(ops: Iterable[DiffOp]) -> list[tuple[str | None, str | None]]:
    """Body lines as (old, new) HTML cells; None where one side has no line there.

    A line break inside an equal op is where both sides are at the same place, so the
    lines gathered since the last such point are paired up there. A line is gathered as
    a list of pieces and joined once: a long line of many changes must not be copied at
    each one."""
    rows: list[tuple[str | None, str | None]] = []
    old: list[list[str]] = [[]]
    new: list[list[str]] = [[]]

    def settle(old_lines: list[list[str]], new_lines: list[list[str]]) -> None:
        rows.extend(zip_longest(("".join(p) for p in old_lines), ("".join(p) for p in new_lines)))

    def feed(side: list[list[str]], text: str, tag: str | None) -> None:
        for i, piece in enumerate(text.split("\n")):
            if i:
                side.append([])
            if piece:
                side[-1].append(_mark(piece, tag))

    for op in ops:
        if op.kind is not OpKind.EQUAL:
            feed(old, op.old, "del")
            feed(new, op.new, "ins")
            continue
        if not old[-1] and not new[-1]:  # both at a line start: earlier lines are settled
            settle(old[:-1], new[:-1])
            old, new = [[]], [[]]
        for i, piece in enumerate(op.old.split("\n")):
            if i:
                settle(old, new)
                old, new = [[]], [[]]
            if piece:
                old[-1].append(_esc(piece))
                new[-1].append(_esc(piece))
    # A last line that is empty and unterminated does not exist.
    settle(old[:-1] if not old[-1] else old, new[:-1] if not new[-1] else new)
    return rows


def _body_table(d: VersionDiff) -> str:
    rows = "".join(
        f'<tr class="{"pw-changed" if a != b else "pw-same"}">'
        f"{_cell('old', a)}{_cell('new', b)}</tr>"
        for a, b in _aligned_rows(d.body)
    )
    return (
        '<table class="pw-diff-body pw-side-by-side"><thead><tr>'
        f'<th class="pw-side-old">{_esc(d.old_label)}</th>'
        f'<th class="pw-side-new">{_esc(d.new_label)}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _fragment(d: VersionDiff, body: Callable[[VersionDiff], str]) -> str:
    parts = ['<div class="pw-diff">']
    if not d.changed_parts:
        parts.append(
            f'<p class="pw-nochange">{_esc(d.old_label)} → {_esc(d.new_label)}: no changes</p>'
        )
    if d.fields:
        parts.append(_meta_table(d))
    if "body" in d.changed_parts:
        parts.append(body(d))
    parts.append("</div>")
    return "".join(parts)


def render_html(d: VersionDiff) -> str:
    """An HTML fragment: metadata changes, then the body side by side, line by line."""
    return _fragment(d, _body_table)


def render_html_inline(d: VersionDiff) -> str:
    """An HTML fragment: metadata changes, then the body as one text with <del>/<ins>.
    Line breaks stay as text; the page's CSS should give ``.pw-inline`` pre-wrap."""
    return _fragment(d, lambda v: f'<div class="pw-inline">{_inline(v.body)}</div>')
