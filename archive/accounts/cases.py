"""Case files: a named set of articles with tags and notes, for an investigation.

Editors change them, viewers read them. Every change is an audit entry whose leaf
commits to it; a note's entry commits to the note's text by its SHA-256
(`detail.text_sha256`), so a note changed afterwards no longer matches the log, in
`presswatch verify` and in an exported case package (archive.formats).

Must not: commit.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.accounts.audit import record_audit
from archive.accounts.roles import Actor, Role, check_name
from archive.errors import BadInput, NotFound
from archive.store import Article, CaseArticle, CaseFile, CaseNote, find_article

MAX_NOTE_CHARS = 20_000
MAX_TAGS = 20
MAX_TAG_CHARS = 40


def note_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def case_by_name(session: Session, name: str) -> CaseFile:
    case = session.scalars(select(CaseFile).where(CaseFile.name == name)).first()
    if case is None:
        raise NotFound(f"no case named {name!r} (`presswatch case list` names them)")
    return case


def create_case(session: Session, actor: Actor, name: str, *, now: datetime) -> CaseFile:
    actor.require(Role.EDITOR)
    check_name(name, "case name")
    if session.scalars(select(CaseFile.id).where(CaseFile.name == name)).first() is not None:
        raise BadInput(f"case {name!r} exists already")
    case = CaseFile(name=name, created_at=now, created_by=actor.name)
    session.add(case)
    session.flush()
    record_audit(session, actor, "case.create", "case", name, now=now)
    return case


def _tags(tags: list[str]) -> list[str]:
    clean = sorted({t.strip() for t in tags if t.strip()})
    if len(clean) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in clean):
        raise BadInput(f"tags: at most {MAX_TAGS}, each at most {MAX_TAG_CHARS} characters")
    return clean


def add_to_case(
    session: Session,
    actor: Actor,
    name: str,
    url_or_id: str | int,
    *,
    tags: list[str] | None = None,
    now: datetime,
) -> CaseArticle:
    """Add an article to the case (made if it does not exist yet), or add tags to one
    already in it."""
    actor.require(Role.EDITOR)
    case = session.scalars(select(CaseFile).where(CaseFile.name == name)).first()
    if case is None:
        case = create_case(session, actor, name, now=now)
    article = find_article(session, url_or_id)
    new_tags = _tags(tags or [])
    member = session.scalars(
        select(CaseArticle).where(
            CaseArticle.case_id == case.id, CaseArticle.article_id == article.id
        )
    ).first()
    if member is None:
        member = CaseArticle(
            case_id=case.id, article_id=article.id, tags=new_tags, added_at=now, added_by=actor.name
        )
        session.add(member)
        session.flush()
        record_audit(
            session,
            actor,
            "case.add",
            "case",
            name,
            now=now,
            detail={"article_id": article.id, "url": article.url, "tags": new_tags},
        )
    elif new_tags and not set(new_tags) <= set(member.tags):
        member.tags = sorted(set(member.tags) | set(new_tags))
        record_audit(
            session,
            actor,
            "case.tag",
            "case",
            name,
            now=now,
            detail={"article_id": article.id, "tags": member.tags},
        )
    return member


def add_note(
    session: Session,
    actor: Actor,
    name: str,
    text: str,
    *,
    url_or_id: str | int | None = None,
    now: datetime,
) -> CaseNote:
    actor.require(Role.EDITOR)
    case = case_by_name(session, name)
    text = text.strip()
    if not text or len(text) > MAX_NOTE_CHARS:
        raise BadInput(f"a note has 1 to {MAX_NOTE_CHARS} characters")
    article_id = find_article(session, url_or_id).id if url_or_id is not None else None
    entry = record_audit(
        session,
        actor,
        "case.note",
        "case",
        name,
        now=now,
        detail={"article_id": article_id, "text_sha256": note_sha256(text)},
    )
    note = CaseNote(
        case_id=case.id,
        article_id=article_id,
        text=text,
        author=actor.name,
        at=now,
        audit_entry_id=entry.id,
    )
    session.add(note)
    session.flush()
    return note


def list_cases(session: Session) -> list[CaseFile]:
    return list(session.scalars(select(CaseFile).order_by(CaseFile.name)))


def case_articles(session: Session, case: CaseFile) -> list[tuple[CaseArticle, Article]]:
    stmt = (
        select(CaseArticle, Article)
        .join(Article, Article.id == CaseArticle.article_id)
        .where(CaseArticle.case_id == case.id)
        .order_by(CaseArticle.id)
    )
    return [(m, a) for m, a in session.execute(stmt)]


def case_notes(session: Session, case: CaseFile) -> list[CaseNote]:
    stmt = select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id)
    return list(session.scalars(stmt))


def note_json(note: CaseNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "article_id": note.article_id,
        "text": note.text,
        "author": note.author,
        "at": note.at.isoformat(),
        "audit_id": note.audit_entry_id,
    }


def case_json(session: Session, case: CaseFile, *, full: bool = True) -> dict[str, Any]:
    members = case_articles(session, case)
    out: dict[str, Any] = {
        "name": case.name,
        "created_at": case.created_at.isoformat(),
        "created_by": case.created_by,
        "articles": len(members),
    }
    if not full:
        out["notes"] = len(case_notes(session, case))
        return out
    out["articles"] = [
        {
            "article_id": a.id,
            "url": a.url,
            "status": a.status,
            "tags": list(m.tags),
            "added_at": m.added_at.isoformat(),
            "added_by": m.added_by,
        }
        for m, a in members
    ]
    out["notes"] = [note_json(n) for n in case_notes(session, case)]
    return out
