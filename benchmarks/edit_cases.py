"""The labelled set of edits for `benchmarks.edit_classes`: pairs of versions of the
demo outlet's articles (presswatch.demo.content, our own text), each edit written by
hand and labelled with the classes a reader would give it (archive.content.editclass names,
plus ``headline_softened`` / ``headline_sharpened`` for the headline's tone).

Labels say what the edit is, not what the classifier answers: where the two differ
the benchmark shows it. English and Khmer; people's names are invented. The same person
wrote the classifier's word lists and most of these cases, so their figures flatter it;
the `held_out` cases were written after the lists were settled and are scored apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from archive.content import ArticleImage, VersionSide
from presswatch.demo.content import DEMO_ARTICLES, DemoArticle

PUBLISHED = "2026-02-20T09:00:00+07:00"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    lang: str
    old: VersionSide
    new: VersionSide
    labels: frozenset[str]
    held_out: bool = False  # written after the word lists were settled, never tuned on


def _article(slug_start: str) -> DemoArticle:
    return next(a for a in DEMO_ARTICLES if a.slug.startswith(slug_start))


def _side(
    a: DemoArticle,
    *,
    title: str | None = None,
    byline: str | None | bool = True,
    published: str = PUBLISHED,
    paragraphs: tuple[str, ...] | None = None,
    images: tuple[ArticleImage, ...] | None = None,
) -> VersionSide:
    return VersionSide(
        title=title if title is not None else a.title,
        byline=a.byline if byline is True else (byline or None),
        published=published,
        modified=None,
        text="\n".join(paragraphs if paragraphs is not None else a.paragraphs),
        label="",
        images=images,
    )


def _replace(a: DemoArticle, index: int, old: str, new: str) -> tuple[str, ...]:
    paras = list(a.paragraphs)
    assert old in paras[index], (a.slug, index, old)
    paras[index] = paras[index].replace(old, new)
    return tuple(paras)


def _without(a: DemoArticle, index: int) -> tuple[str, ...]:
    return a.paragraphs[:index] + a.paragraphs[index + 1 :]


def _case(name: str, lang: str, old: VersionSide, new: VersionSide, *labels: str) -> Case:
    return Case(name, lang, old, new, frozenset(labels))


def _held_out(name: str, lang: str, old: VersionSide, new: VersionSide, *labels: str) -> Case:
    return Case(name, lang, old, new, frozenset(labels), held_out=True)


# Pictures by their perceptual hashes (archive.content.image_hash): the same photo
# recompressed lies 2 bits away, another photo all 64.
PHOTO = ArticleImage(
    "https://ledger.example/img/raid.jpg", "Police at the compound", "", "c3a5e1f00f1e5a3c"
)
RECOMPRESSED = ArticleImage(PHOTO.src, PHOTO.alt, "", "c3a5e1f00f1e5a3f")
SWAPPED = ArticleImage(PHOTO.src, PHOTO.alt, "", "3c5a1e0ff0e1a5c3")
PORTRAIT = ArticleImage(
    "https://ledger.example/img/minister.jpg", "The minister", "", "0f0f0f0f0f0f0f0f"
)

RAID = _article("police-free-212")
BAVET = _article("survivors-describe-debt")
TASK = _article("task-force")
FAMILIES = _article("families-of-trafficked")
COURT = _article("court-jails")
MEKONG = _article("mekong-water")
KM_RESCUE = _article("police-rescue-120")
KM_COMMITTEE = _article("government-forms-special")
KM_TORTURE = _article("victims-describe-torture")

# Khmer paragraphs of our own for cases that need a named person, a quote or an
# organisation the demo text lacks.
# "Mr Sok Veasna, spokesman of the Ministry of Interior, said the committee will start
# work next month."
KM_NAMED = "លោក សុខ វាសនា អ្នកនាំពាក្យក្រសួងមហាផ្ទៃ បាននិយាយថា គណៈកម្មការនឹងចាប់ផ្ដើមការងារនៅខែក្រោយ។"
# "'They beat us every time we missed the target,' according to one victim."
KM_QUOTED = "«ពួកគេវាយយើងរាល់ពេលដែលយើងមិនបានគោលដៅ» នេះបើតាមសម្ដីរបស់ជនរងគ្រោះម្នាក់។"
# "The organisation IOM said it is helping to send the workers home."
KM_IOM = "អង្គការ IOM បាននិយាយថា ខ្លួនកំពុងជួយបញ្ជូនពលករទាំងនោះទៅប្រទេសកំណើតវិញ។"

CASES: tuple[Case, ...] = (
    # -- English ---------------------------------------------------------------------
    _case(
        "en-typo",
        "en",
        _side(RAID),
        _side(RAID, paragraphs=_replace(RAID, 4, "sports hall", "sport hall")),
        "silent_edit",
    ),
    _case(
        "en-number-title-and-lead",
        "en",
        _side(RAID),
        _side(
            RAID,
            title=RAID.title.replace("212", "200"),
            paragraphs=_replace(RAID, 0, "freed 212 workers", "freed 200 workers"),
        ),
        "numbers_changed",
        "headline_changed",
        "silent_edit",
    ),
    _case(
        "en-remove-police-chief",
        "en",
        _side(RAID),
        _side(RAID, paragraphs=_without(RAID, 3)),
        "paragraphs_removed",
        "names_removed",
        "silent_edit",
    ),
    _case(
        "en-remove-quoted-lawyer",
        "en",
        _side(RAID),
        _side(RAID, paragraphs=_without(RAID, 5)),
        "paragraphs_removed",
        "quote_removed",
        "names_removed",
        "silent_edit",
    ),
    _case(
        "en-headline-softened",
        "en",
        _side(RAID),
        _side(RAID, title="Police assist 212 foreigners at Sihanoukville compound"),
        "headline_changed",
        "headline_softened",
        "silent_edit",
    ),
    _case(
        "en-headline-sharpened",
        "en",
        _side(COURT),
        _side(COURT, title="Court jails three traffickers who enslaved teenagers in scam compound"),
        "headline_changed",
        "headline_sharpened",
        "silent_edit",
    ),
    _case(
        "en-headline-hedged",
        "en",
        _side(BAVET),
        _side(BAVET, title="Survivors allege debt bondage inside Bavet casino complex"),
        "headline_changed",
        "headline_softened",
        "silent_edit",
    ),
    _case(
        "en-photo-replaced",
        "en",
        _side(BAVET, images=(PHOTO,)),
        _side(BAVET, images=(SWAPPED,)),
        "images_changed",
    ),
    # The same photo recompressed by the outlet's CDN (2 bits apart): no edit at all.
    _case(
        "en-photo-recompressed",
        "en",
        _side(TASK, images=(PHOTO,)),
        _side(TASK, images=(RECOMPRESSED,)),
    ),
    _case("en-byline-removed", "en", _side(BAVET), _side(BAVET, byline=None), "byline_removed"),
    _case(
        "en-byline-changed",
        "en",
        _side(TASK),
        _side(TASK, byline="By Ledger Staff"),
        "byline_changed",
    ),
    _case(
        "en-date-moved",
        "en",
        _side(FAMILIES),
        _side(FAMILIES, published="2026-02-10T09:00:00+07:00"),
        "date_moved",
    ),
    _case(
        "en-correction-of-compensation",
        "en",
        _side(COURT),
        _side(
            COURT,
            paragraphs=(
                *_replace(COURT, 2, "20 million riel, about $5,000", "2 million riel, about $500"),
                "Correction: An earlier version of this article misstated the compensation "
                "ordered by the court.",
            ),
        ),
        "numbers_changed",
        "paragraphs_added",
        "correction_added",
    ),
    _case(
        "en-editors-note-and-cut",
        "en",
        _side(TASK),
        _side(
            TASK,
            paragraphs=(
                *_without(TASK, 3),
                "Editor's note: This story has been updated to remove an unverified claim.",
            ),
        ),
        "paragraphs_removed",
        "paragraphs_added",
        "correction_added",
    ),
    _case(
        "en-paragraph-added",
        "en",
        _side(MEKONG),
        _side(
            MEKONG,
            paragraphs=(
                *MEKONG.paragraphs,
                "Fisheries officials said they would publish new catch figures next month.",
            ),
        ),
        "paragraphs_added",
        "silent_edit",
    ),
    _case(
        "en-quote-reworded",
        "en",
        _side(BAVET),
        _side(BAVET, paragraphs=_replace(BAVET, 1, "next to each one", "beside each one")),
        "silent_edit",
    ),
    _case(
        "en-lawyer-unnamed",
        "en",
        _side(RAID),
        _side(
            RAID,
            paragraphs=_replace(RAID, 5, "said Dara Kim of a", "said a lawyer with a"),
        ),
        "names_removed",
        "silent_edit",
    ),
    _case(
        "en-committee-unnamed",
        "en",
        _side(TASK),
        _side(
            TASK,
            paragraphs=_replace(
                TASK,
                1,
                "A deputy secretary-general of the National Committee for Counter Trafficking",
                "A government official",
            ),
        ),
        "names_removed",
        "silent_edit",
    ),
    _case(
        "en-detainees-count",
        "en",
        _side(FAMILIES),
        _side(FAMILIES, paragraphs=_replace(FAMILIES, 0, "Relatives of 37", "Relatives of 27")),
        "numbers_changed",
        "silent_edit",
    ),
    _case(
        "en-sentence-cut",
        "en",
        _side(RAID),
        _side(
            RAID,
            paragraphs=_replace(
                RAID,
                2,
                " Two men showed reporters bruises they said came from beatings with an "
                "electric baton.",
                "",
            ),
        ),
        "silent_edit",
    ),
    _case(
        "en-name-moved-not-removed",
        "en",
        _side(RAID),
        _side(
            RAID,
            paragraphs=_replace(
                RAID,
                3,
                "Provincial police chief Chan Virak said",
                "Chan Virak, the provincial police chief, said",
            ),
        ),
        "silent_edit",
    ),
    _case(
        "en-many-at-once",
        "en",
        _side(COURT),
        _side(
            COURT,
            title="Court sentences three recruiters over call-centre job adverts",
            byline="By Ledger Staff",
            paragraphs=_without(COURT, 3),
        ),
        "headline_changed",
        "headline_softened",
        "byline_changed",
        "paragraphs_removed",
        "silent_edit",
    ),
    # -- Khmer -----------------------------------------------------------------------
    _case(
        "km-word-changed",
        "km",
        _side(KM_RESCUE),
        _side(KM_RESCUE, paragraphs=_replace(KM_RESCUE, 4, "បញ្ជូនពួកគេត្រឡប់", "បញ្ជូនពួកគាត់ត្រឡប់")),
        "silent_edit",
    ),
    _case(
        "km-number-title-and-lead",
        "km",
        _side(KM_RESCUE),
        _side(
            KM_RESCUE,
            title=KM_RESCUE.title.replace("១២០", "៨០"),
            paragraphs=_replace(KM_RESCUE, 0, "ចំនួន ១២០ នាក់", "ចំនួន ៨០ នាក់"),
        ),
        "numbers_changed",
        "headline_changed",
        "silent_edit",
    ),
    _case(
        "km-suspects-count",
        "km",
        _side(KM_RESCUE),
        _side(KM_RESCUE, paragraphs=_replace(KM_RESCUE, 3, "ចំនួន ១២ នាក់", "ចំនួន ៣ នាក់")),
        "numbers_changed",
        "silent_edit",
    ),
    _case(
        "km-beatings-removed",
        "km",
        _side(KM_RESCUE),
        _side(KM_RESCUE, paragraphs=_without(KM_RESCUE, 2)),
        "paragraphs_removed",
        "silent_edit",
    ),
    _case(
        "km-spokesman-removed",
        "km",
        _side(KM_COMMITTEE, paragraphs=(*KM_COMMITTEE.paragraphs, KM_NAMED)),
        _side(KM_COMMITTEE),
        "paragraphs_removed",
        "names_removed",
        "silent_edit",
    ),
    _case(
        "km-quote-removed",
        "km",
        _side(KM_TORTURE, paragraphs=(*KM_TORTURE.paragraphs, KM_QUOTED)),
        _side(KM_TORTURE),
        "paragraphs_removed",
        "quote_removed",
        "silent_edit",
    ),
    _case(
        "km-headline-softened",
        "km",
        _side(KM_TORTURE),
        _side(KM_TORTURE, title="អ្នកធ្វើការរៀបរាប់ពីជីវភាពនៅក្នុងអគារមួយ"),
        "headline_changed",
        "headline_softened",
        "silent_edit",
    ),
    _case(
        "km-headline-sharpened",
        "km",
        _side(KM_RESCUE),
        _side(
            KM_RESCUE,
            title="ប៉ូលិសជួយសង្គ្រោះជនរងគ្រោះនៃការជួញដូរ ១២០ នាក់ ដែលត្រូវបានបង្ខំឲ្យធ្វើការបោកប្រាស់",
        ),
        "headline_changed",
        "headline_sharpened",
        "silent_edit",
    ),
    _case(
        "km-byline-removed",
        "km",
        _side(KM_COMMITTEE),
        _side(KM_COMMITTEE, byline=None),
        "byline_removed",
    ),
    _case(
        "km-byline-changed",
        "km",
        _side(KM_TORTURE),
        _side(KM_TORTURE, byline="ដោយ អ្នកយកព័ត៌មាន"),
        "byline_changed",
    ),
    _case(
        "km-photo-removed",
        "km",
        _side(KM_RESCUE, images=(PHOTO, PORTRAIT)),
        _side(KM_RESCUE, images=(PHOTO,)),
        "images_changed",
    ),
    _case(
        "km-date-moved",
        "km",
        _side(KM_RESCUE),
        _side(KM_RESCUE, published="2026-02-21T09:00:00+07:00"),
        "date_moved",
    ),
    _case(
        "km-correction-of-count",
        "km",
        _side(KM_RESCUE),
        _side(
            KM_RESCUE,
            paragraphs=(
                *_replace(KM_RESCUE, 0, "ចំនួន ១២០ នាក់", "ចំនួន ១០២ នាក់"),
                # "Correction: an earlier version gave the wrong number of workers."
                "កំណែតម្រូវ៖ អត្ថបទមុនបានសរសេរចំនួនពលករខុស។",
            ),
        ),
        "numbers_changed",
        "paragraphs_added",
        "correction_added",
    ),
    _case(
        "km-ministry-unnamed",
        "km",
        _side(KM_COMMITTEE),
        _side(
            KM_COMMITTEE,
            paragraphs=_replace(KM_COMMITTEE, 1, "អ្នកនាំពាក្យក្រសួងមហាផ្ទៃបាន", "អ្នកនាំពាក្យម្នាក់បាន"),
        ),
        "names_removed",
        "silent_edit",
    ),
    _case(
        "km-paragraph-added",
        "km",
        _side(KM_TORTURE),
        _side(
            KM_TORTURE,
            # "Provincial officials promised to publish a report next month."
            paragraphs=(*KM_TORTURE.paragraphs, "មន្ត្រីខេត្តបានសន្យាថានឹងចេញរបាយការណ៍នៅខែក្រោយ។"),
        ),
        "paragraphs_added",
        "silent_edit",
    ),
    _case(
        "km-name-kept",
        "km",
        _side(KM_COMMITTEE, paragraphs=(*KM_COMMITTEE.paragraphs, KM_NAMED)),
        _side(
            KM_COMMITTEE,
            paragraphs=(*KM_COMMITTEE.paragraphs, KM_NAMED.replace("បាននិយាយថា", "បានបញ្ជាក់ថា")),
        ),
        "silent_edit",
    ),
    _case(
        "km-iom-removed",
        "km",
        _side(KM_RESCUE, paragraphs=(*KM_RESCUE.paragraphs, KM_IOM)),
        _side(KM_RESCUE),
        "paragraphs_removed",
        "names_removed",
        "silent_edit",
    ),
    # -- held out: written after the lists were settled ----------------------------------
    _held_out(
        "en-spokesman-named",
        "en",
        _side(BAVET),
        _side(
            BAVET,
            paragraphs=_replace(
                BAVET,
                4,
                "A spokesman for the provincial administration said",
                "Provincial spokesman Meas Sopheap said",
            ),
        ),
        "silent_edit",
    ),
    _held_out(
        "en-quote-paraphrased",
        "en",
        _side(BAVET),
        _side(
            BAVET,
            paragraphs=_replace(
                BAVET,
                1,
                "'They showed us a spreadsheet with our names and a number next to each one,' "
                "he said.",
                "He said managers kept a spreadsheet of what each worker owed.",
            ),
        ),
        "quote_removed",
        "silent_edit",
    ),
    _held_out(
        "en-months-in-words",
        "en",
        _side(TASK),
        _side(TASK, paragraphs=_replace(TASK, 0, "within three months", "within six months")),
        "numbers_changed",
        "silent_edit",
    ),
    _held_out(
        "en-place-dropped",
        "en",
        _side(FAMILIES),
        _side(FAMILIES, paragraphs=_replace(FAMILIES, 0, "a raid in Kampot last", "a raid last")),
        "silent_edit",
    ),
    _held_out(
        "en-update-word-not-note",
        "en",
        _side(MEKONG),
        _side(
            MEKONG,
            paragraphs=(
                *MEKONG.paragraphs,
                "Officials said they would update the flood forecast in March.",
            ),
        ),
        "paragraphs_added",
        "silent_edit",
    ),
    _held_out(
        "en-embassy-dropped",
        "en",
        _side(FAMILIES),
        _side(
            FAMILIES,
            paragraphs=_replace(
                FAMILIES,
                2,
                "The Indonesian embassy said it had visited the detainees and was working with "
                "Cambodian authorities on travel documents. ",
                "",
            ),
        ),
        "names_removed",
        "silent_edit",
    ),
    _held_out(
        "km-age-changed",
        "km",
        _side(KM_TORTURE),
        _side(KM_TORTURE, paragraphs=_replace(KM_TORTURE, 1, "អាយុ ២២ ឆ្នាំ", "អាយុ ២៥ ឆ្នាំ")),
        "numbers_changed",
        "silent_edit",
    ),
    _held_out(
        "km-headline-may",
        "km",
        _side(KM_COMMITTEE),
        # "Government may form a special committee against human trafficking"
        _side(KM_COMMITTEE, title="រដ្ឋាភិបាលអាចបង្កើតគណៈកម្មការពិសេសប្រឆាំងការជួញដូរមនុស្ស"),
        "headline_changed",
        "headline_softened",
        "silent_edit",
    ),
    _held_out(
        "km-rights-groups-cut",
        "km",
        _side(KM_COMMITTEE),
        _side(KM_COMMITTEE, paragraphs=_without(KM_COMMITTEE, 3)),
        "paragraphs_removed",
        "silent_edit",
    ),
)
