"""Human words for every closed set the archive records, in one place: article
statuses, change-event kinds, removal signs, capture outcomes, the parts an edit
touched, edit classes and headline tones, roles, and where a capture came from.
Codes stay codes in rows, JSON and URLs; pages, mails and CLI lines say these words
(in the reader's language, through the catalogs) and keep the code in a `title`.

`N_` only marks a message for `pybabel extract`; `label` translates it when used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def N_(message: str) -> str:
    """Marks `message` for extraction; translated later, where the reader is known."""
    return message


Gettext = Callable[[str], str]

LABELS: dict[str, str] = {
    # ArticleStatus (also the kinds and outcomes of the same name)
    "live": N_("live"),
    "edited": N_("edited"),
    "removed": N_("removed"),
    "unreachable": N_("unreachable"),
    # ChangeKind
    "discovered": N_("discovered"),
    "restored": N_("restored"),
    "moved": N_("moved"),
    "reachable": N_("reachable"),
    "removed_together": N_("removed at several outlets"),
    # RemovalReason
    "http_404": N_("404 not found"),
    "http_410": N_("410 gone"),
    "http_451": N_("451 unavailable for legal reasons"),
    "redirect_home": N_("redirected to the home page"),
    "redirect_elsewhere": N_("redirected elsewhere"),
    "soft_404": N_("“page not found” notice"),
    "emptied": N_("page emptied"),
    # CaptureOutcome
    "new": N_("new"),
    "unchanged": N_("unchanged"),
    "not_modified": N_("not modified (304)"),
    "removal_pending": N_("removal pending"),
    "blocked": N_("blocked (bot check or paywall)"),
    "degraded": N_("degraded (text collapsed)"),
    "not_article": N_("not an article"),
    "skipped": N_("skipped"),
    "evidence": N_("kept as evidence only"),
    "rendered": N_("browser rendering"),
    # The parts an edit touched (an edited event's `how`)
    "title": N_("headline"),
    "body": N_("text"),
    "byline": N_("byline"),
    "dates": N_("dates"),
    "images": N_("images"),
    # Edit classes (archive.content.editclass)
    "headline_changed": N_("headline changed"),
    "byline_changed": N_("byline changed"),
    "byline_removed": N_("byline removed"),
    "correction_added": N_("correction added"),
    "date_moved": N_("date moved"),
    "names_removed": N_("names removed"),
    "numbers_changed": N_("numbers changed"),
    "paragraphs_added": N_("paragraphs added"),
    "paragraphs_removed": N_("paragraphs removed"),
    "quote_removed": N_("quote removed"),
    "silent_edit": N_("silent edit"),
    "images_changed": N_("images changed"),
    # Headline tones
    "softened": N_("softened"),
    "sharpened": N_("sharpened"),
    "reworded": N_("reworded"),
    # Roles
    "viewer": N_("viewer"),
    "editor": N_("editor"),
    "admin": N_("admin"),
    # Where a capture came from
    "crawl": N_("our crawl"),
    "import": N_("an import"),
    "web_archive": N_("a web archive"),
    # Audit actions (archive.accounts) and what they act on
    "account.create": N_("account created"),
    "account.invite": N_("person invited"),
    "account.accept_invite": N_("invitation accepted"),
    "account.password": N_("password changed"),
    "account.disable": N_("account disabled"),
    "account.role": N_("role changed"),
    "token.create": N_("API token made"),
    "token.revoke": N_("API token revoked"),
    "case.create": N_("case opened"),
    "case.add": N_("article added to a case"),
    "case.tag": N_("case tagged"),
    "case.note": N_("note written"),
    "case.export": N_("case exported"),
    "page.save": N_("page saved"),
    "article.export": N_("evidence exported"),
    "recheck.request": N_("recheck asked for"),
    "source.add": N_("source added"),
    "source.update": N_("source changed"),
    "source.disable": N_("source disabled"),
    "account": N_("account"),
    "article": N_("article"),
    "case": N_("case"),
    "source": N_("source"),
    "token": N_("token"),
    # Alias kinds
    "canonical": N_("canonical"),
    "alias": N_("alias"),
    "moved_from": N_("moved from"),
    "moved_to": N_("moved to"),
}


def label(code: object, t: Gettext) -> str:
    """`code` (a string or a StrEnum) in the reader's words; an unknown code unchanged."""
    text = str(getattr(code, "value", code) or "")
    message = LABELS.get(text)
    return t(message) if message is not None else text


def describe_edit_class(item: dict[str, Any], t: Gettext) -> str:
    """An edit class in a few words with the gist of its evidence (the headline's tone,
    how many paragraphs, which numbers), as `archive.content.describe_class` says it in
    English, in the reader's language. Evidence values are the archive's data."""
    name = str(item.get("class", "?"))
    words = label(name, t)
    if name == "headline_changed" and item.get("tone"):
        return t(N_("headline %(tone)s")) % {"tone": label(item["tone"], t)}
    if name in ("paragraphs_removed", "paragraphs_added"):
        return f"{words} ({len(item.get('paragraphs', []))})"
    if name == "numbers_changed":
        pairs = [f"{c.get('old')} → {c.get('new')}" for c in item.get("changes", [])[:3]]
        return f"{words} ({', '.join(pairs)})"
    if name == "images_changed":
        counts = {
            "replaced": t(N_("%(n)s replaced")),
            "removed": t(N_("%(n)s removed")),
            "added": t(N_("%(n)s added")),
        }
        parts = [
            counts[key] % {"n": len(item.get(key) or [])}
            for key in ("replaced", "removed", "added")
            if item.get(key)
        ]
        return f"{words} ({', '.join(parts)})"
    if name == "names_removed":
        return f"{words} ({', '.join(str(n) for n in item.get('names', [])[:3])})"
    return words
