"""A labelled corpus for story clustering (issue 25), written for this project: four
local outlets, English and Khmer, carrying shared wire stories under their own
headlines and intros, and stories of their own on the same topic (raids on scam
compounds in different provinces) that must not join them.

Every sentence here was written for Presswatch; stories are assembled from them with a
seeded random generator, so the corpus is the same on every run. What it holds:

- English wire stories, each carried by two or three of the English-language outlets:
  each copy has its own headline and its own intro paragraph, may drop the wire's lead,
  cut the last paragraphs or add a closing line of its own, and one outlet rewords a
  sentence as sub-editors do;
- Khmer wire stories, carried by the two outlets that publish in Khmer, with their own
  headlines and intros;
- exclusive stories: one outlet only, same topic, another province, written from the
  same sentence bank (so they share phrases and sometimes a whole stock background
  paragraph with the wire stories, but not the story);
- `REMOVALS`: which copies a scenario takes down on which day (one, two and three
  outlets), for the removals-together work built on top of clustering.

`pair_scores` measures a clustering against the labels on article pairs: precision,
recall, and the pairs of different stories it joined.

Pure data and functions: no network, no database.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from presswatch.demo.content import DemoArticle

__all__ = [
    "OUTLETS",
    "REMOVALS",
    "CorpusArticle",
    "Outlet",
    "PairScores",
    "pair_scores",
    "story_corpus",
]


@dataclass(frozen=True, slots=True)
class Outlet:
    name: str
    langs: tuple[str, ...]
    intro_style: int  # which of the outlet's own intro phrasings it uses


OUTLETS: tuple[Outlet, ...] = (
    Outlet("phnom-daily", ("en",), 0),
    Outlet("mekong-times", ("en",), 1),
    Outlet("angkor-post", ("en", "km"), 2),
    Outlet("khmer-voice", ("km",), 3),
)


@dataclass(frozen=True, slots=True)
class CorpusArticle:
    outlet: str
    article: DemoArticle
    story: str  # the label: articles with one label are copies of one story


# -- English sentence bank ------------------------------------------------------------------

_PROVINCES = (
    "Pursat", "Kampot", "Koh Kong", "Banteay Meanchey", "Svay Rieng", "Preah Sihanouk",
    "Takeo", "Kandal", "Oddar Meanchey", "Battambang", "Kampong Speu", "Siem Reap",
)  # fmt: skip
_NATIONALITIES = (
    "Indonesian", "Vietnamese", "Thai", "Chinese", "Malaysian", "Kenyan", "Filipino",
    "Bangladeshi", "Sri Lankan", "Myanmar", "Lao", "Ugandan",
)  # fmt: skip
_NAMES = (
    "Sok Dara", "Chea Sokha", "Heng Ratana", "Keo Sopheap", "Lim Vannak", "Meas Bunthoeun",
    "Ouk Sreymom", "Pen Visal", "Ros Chanthou", "Sam Pisey", "Touch Kimsan", "Yim Sophal",
)  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_PLACES = (
    "a casino complex", "a former hotel", "a gated compound", "an unfinished condominium",
    "a row of shophouses", "a fenced industrial park",
)  # fmt: skip

_LEADS = (
    "Police in {province} province raided {place} on {day} and detained {n} foreign "
    "workers, officials said, in the latest operation against online scam compounds.",
    "Authorities in {province} freed {n} people from {place} on {day}, after relatives "
    "abroad reported that they were being held and forced to defraud strangers online.",
    "More than {n} workers were removed from {place} in {province} on {day} when police "
    "and military police surrounded the site before dawn.",
)
_BODY = (
    "The workers, {m} of them {nat} and the rest {nat2} nationals, told investigators they "
    "had been promised jobs in customer service and were instead made to run romance scams.",
    "Provincial police chief {name} said the raid followed a tip from a worker who escaped "
    "through a window and walked {k} kilometres to the nearest village.",
    "Officers seized {m} mobile phones, scripts written in four languages and ledgers "
    "recording payments to the managers of the {province} site.",
    "A spokesman for the Interior Ministry, {name}, said the {n} foreigners would be screened "
    "to tell victims of trafficking from willing participants.",
    "Several of the {nat} workers showed reporters bruises on their arms and said guards "
    "had beaten them when they failed to meet a daily quota of {k} conversations.",
    "The {nat} embassy in Phnom Penh said it had sent officials to {province} to issue "
    "travel documents to {m} of its citizens whose passports had been confiscated.",
    "{name}, a deputy governor of {province}, said {k} managers had been arrested and "
    "would be charged with human trafficking and illegal detention.",
    "Villagers near the {province} compound said buses had arrived at night for {k} months "
    "and that the gates were guarded by men in black uniforms carrying batons.",
    "Lawyers for the {k} detained managers could not be reached, and a company registered "
    "at the address in {province} did not answer calls on {day}.",
    "According to the provincial court, {m} of the workers had debts of up to {k},000 dollars "
    "that their employers said they must repay before they could leave.",
    "Rights workers who visited the {province} site on {day} said the rescued {nat} workers "
    "were sleeping on the floor of a police training hall without enough water.",
    "A labour ministry official, {name}, said inspectors had visited the {province} building "
    "twice this year and found nothing wrong on either visit.",
    "The raid in {province} came {k} days after a {nat} woman posted a video pleading for "
    "help from a room she said she had not been allowed to leave for {m} days.",
    "Prosecutors in {province} said they had opened an investigation into {k} local officials "
    "suspected of taking money to warn the compound's owners about inspections.",
)
# Stock background paragraphs, as a wire service pastes them under many different stories:
# shared word for word by stories that are not the same story.
_BACKGROUND = (
    "Cambodia has faced mounting pressure from foreign governments over compounds where "
    "tens of thousands of people are believed to be held and forced to defraud strangers "
    "online, according to United Nations estimates. The government says it has closed "
    "dozens of such sites since the start of last year.",
    "Rights groups have long accused local authorities of warning compound owners before "
    "raids, allowing managers to move workers across provincial lines and reopen elsewhere "
    "within weeks.",
)
_INTROS = (
    "{outlet_title}: the scam-compound crackdown reached {province} this week, with a "
    "pre-dawn operation that officials described as one of the largest this year.",
    "Residents of {province} watched from the roadside on {day} as buses carried away "
    "workers from a site many of them had long suspected, our correspondent reports.",
    "In a story that has drawn attention from several embassies, officials in {province} "
    "moved against another compound accused of holding foreign workers against their will.",
    "A new operation in {province} has again raised the question of how such compounds "
    "operate for months in plain sight, reports our provincial team.",
)
_CLOSERS = (
    "Additional reporting by the {outlet_title} newsroom in Phnom Penh.",
    "This story was updated with comment from the provincial police.",
)

# -- Khmer sentence bank ------------------------------------------------------------------

_KM_PROVINCES = ("ពោធិ៍សាត់", "កំពត", "កោះកុង", "បន្ទាយមានជ័យ", "ស្វាយរៀង", "តាកែវ")
_KM_NATIONALITIES = ("ឥណ្ឌូនេស៊ី", "វៀតណាម", "ថៃ", "ចិន", "ម៉ាឡេស៊ី", "ហ្វីលីពីន")
_KM_LEADS = (
    "សមត្ថកិច្ចខេត្ត{province} បានចុះបង្ក្រាបទីតាំងបោកប្រាស់តាមអនឡាញមួយកន្លែង "
    "កាលពីថ្ងៃ{day} និងបានឃាត់ខ្លួនពលករបរទេសចំនួន {n} នាក់។",
    "ប៉ូលិសខេត្ត{province} បានជួយសង្គ្រោះមនុស្សចំនួន {n} នាក់ ចេញពីអគារមួយ "
    "បន្ទាប់ពីក្រុមគ្រួសាររបស់ពួកគេនៅបរទេសបានរាយការណ៍ថា ពួកគេត្រូវបានឃុំខ្លួន។",
)
_KM_BODY = (
    "ពលករចំនួន {m} នាក់ជាជនជាតិ{nat} ដែលបានប្រាប់អ្នកស៊ើបអង្កេតថា ពួកគេត្រូវបានគេសន្យាផ្ដល់ការងារ"
    "ក្នុងផ្នែកសេវាកម្មអតិថិជន ប៉ុន្តែត្រូវបង្ខំឱ្យបោកប្រាស់មនុស្សតាមអនឡាញវិញ។",
    "ស្នងការនគរបាលខេត្ត{province} បានឱ្យដឹងថា ប្រតិបត្តិការនេះធ្វើឡើងបន្ទាប់ពីពលករម្នាក់"
    "បានរត់គេចខ្លួនចេញតាមបង្អួច ហើយដើរចម្ងាយ {k} គីឡូម៉ែត្រទៅដល់ភូមិជិតខាង។",
    "មន្ត្រីនគរបាលបានរឹបអូសទូរស័ព្ទដៃចំនួន {m} គ្រឿង និងសៀវភៅកត់ត្រាការបង់ប្រាក់ ទៅឱ្យអ្នកគ្រប់គ្រងទីតាំងនៅខេត្ត{province}។",
    "អ្នកនាំពាក្យក្រសួងមហាផ្ទៃបានថ្លែងថា ជនបរទេសទាំង {n} នាក់នឹងត្រូវពិនិត្យ"
    "ដើម្បីបែងចែកជនរងគ្រោះនៃការជួញដូរមនុស្ស ពីអ្នកដែលស្ម័គ្រចិត្តធ្វើការ។",
    "ពលករជនជាតិ{nat} ខ្លះបានបង្ហាញស្នាមជាំនៅលើដៃ ហើយនិយាយថា ឆ្មាំបានវាយពួកគេ "
    "នៅពេលពួកគេមិនអាចសម្រេចបានកិច្ចសន្ទនាចំនួន {k} ក្នុងមួយថ្ងៃ។",
    "ស្ថានទូត{nat} ប្រចាំរាជធានីភ្នំពេញ បានប្រាប់ថា ខ្លួនបានបញ្ជូនមន្ត្រីទៅខេត្ត{province} "
    "ដើម្បីចេញឯកសារធ្វើដំណើរជូនពលរដ្ឋចំនួន {m} នាក់ ដែលលិខិតឆ្លងដែនត្រូវបានគេរឹបអូស។",
    "អភិបាលរងខេត្ត{province} បាននិយាយថា អ្នកគ្រប់គ្រងចំនួន {k} នាក់ត្រូវបានចាប់ខ្លួន "
    "ហើយនឹងត្រូវចោទប្រកាន់ពីបទជួញដូរមនុស្ស និងឃុំខ្លួនដោយខុសច្បាប់។",
    "អ្នកភូមិក្បែរទីតាំងនៅខេត្ត{province} បាននិយាយថា ឡានក្រុងបានមកដល់នៅពេលយប់អស់រយៈពេល {k} ខែមកហើយ "
    "ហើយទ្វារត្រូវបានយាមដោយបុរសស្លៀកពាក់ឯកសណ្ឋានខ្មៅ។",
    "តុលាការខេត្ត{province} បានឱ្យដឹងថា ពលករចំនួន {m} នាក់មានបំណុលរហូតដល់ {k} ពាន់ដុល្លារ "
    "ដែលនិយោជករបស់ពួកគេទាមទារឱ្យសងមុនពេលចាកចេញ។",
    "ក្រុមអ្នកការពារសិទ្ធិមនុស្សដែលបានទៅដល់ទីតាំងកាលពីថ្ងៃ{day} បាននិយាយថា ពលករ {m} នាក់ "
    "កំពុងដេកនៅលើឥដ្ឋនៃសាលហ្វឹកហ្វឺនរបស់នគរបាល ដោយគ្មានទឹកគ្រប់គ្រាន់។",
    "មន្ត្រីក្រសួងការងារបានឱ្យដឹងថា អធិការការងារបានចុះពិនិត្យអគារនៅខេត្ត{province} "
    "ចំនួន {k} ដងក្នុងឆ្នាំនេះ ហើយមិនបានរកឃើញបញ្ហាអ្វីឡើយ។",
    "ការបង្ក្រាបនេះធ្វើឡើង {k} ថ្ងៃបន្ទាប់ពីស្ត្រីជនជាតិ{nat} ម្នាក់បានបង្ហោះវីដេអូសុំជំនួយ "
    "ពីបន្ទប់មួយដែលនាងនិយាយថា នាងមិនត្រូវបានអនុញ្ញាតឱ្យចេញអស់រយៈពេល {m} ថ្ងៃ។",
    "ព្រះរាជអាជ្ញាខេត្ត{province} បាននិយាយថា ខ្លួនបានបើកការស៊ើបអង្កេតលើមន្ត្រីមូលដ្ឋានចំនួន {k} "
    "នាក់ ដែលត្រូវបានសង្ស័យថាបានទទួលប្រាក់ដើម្បីប្រាប់ម្ចាស់ទីតាំងមុនពេលមានការត្រួតពិនិត្យ។",
)
_KM_INTROS = (
    "ការបង្ក្រាបទីតាំងបោកប្រាស់បានមកដល់ខេត្ត{province} ក្នុងសប្តាហ៍នេះ "
    "ដោយមានប្រតិបត្តិការមួយនៅព្រឹកព្រលឹម ដែលមន្ត្រីហៅថាធំជាងគេមួយក្នុងឆ្នាំនេះ។",
    "អ្នករស់នៅខេត្ត{province} បានឈរមើលនៅតាមផ្លូវ ខណៈឡានក្រុងដឹកពលករចេញពីទីតាំងមួយ "
    "ដែលពួកគេសង្ស័យជាយូរមកហើយ នេះបើតាមអ្នកយកព័ត៌មានរបស់យើង។",
)
_KM_DAYS = ("ច័ន្ទ", "អង្គារ", "ពុធ", "ព្រហស្បតិ៍", "សុក្រ", "សៅរ៍", "អាទិត្យ")

# Which wire stories each outlet carries (by index), and the removals scenario.
_EN_WIRES = 6
_KM_WIRES = 3
_EN_CARRIERS = (
    ("phnom-daily", "mekong-times", "angkor-post"),
    ("phnom-daily", "mekong-times"),
    ("mekong-times", "angkor-post"),
    ("phnom-daily", "angkor-post"),
    ("phnom-daily", "mekong-times", "angkor-post"),
    ("phnom-daily", "mekong-times"),
)
_KM_CARRIERS = ("angkor-post", "khmer-voice")
_EN_EXCLUSIVES = 8  # spread over the English outlets
_KM_EXCLUSIVES = 3  # spread over the Khmer outlets

# (story, outlets whose copies are taken down, day of the scenario each goes)
REMOVALS: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = (
    ("wire-en-0", (("phnom-daily", 2),)),
    ("wire-en-1", (("phnom-daily", 3), ("mekong-times", 5))),
    ("wire-en-4", (("phnom-daily", 1), ("mekong-times", 2), ("angkor-post", 4))),
    ("wire-km-0", (("angkor-post", 2), ("khmer-voice", 30))),
)


def _fill(template: str, values: Mapping[str, Any]) -> str:
    return template.format(**values)


def _sentence(rng: random.Random, template: str, values: Mapping[str, Any]) -> str:
    """A body sentence of one story: its own counts (`m`, `k`), as a reporter's figures
    differ from sentence to sentence, and the story's place, people and headline count."""
    return template.format(**{**values, "m": rng.randint(12, 400), "k": rng.randint(3, 40)})


def _story_values(rng: random.Random, province: str, km: bool) -> dict[str, Any]:
    nats = _KM_NATIONALITIES if km else _NATIONALITIES
    nat, nat2 = rng.sample(nats, 2)
    return {
        "province": province,
        "day": rng.choice(_KM_DAYS if km else _DAYS),
        "n": rng.randint(20, 700),
        "m": rng.randint(12, 400),
        "k": rng.randint(3, 40),
        "nat": nat,
        "nat2": nat2,
        "name": rng.choice(_NAMES),
        "place": rng.choice(_PLACES),
    }


def _wire_en(rng: random.Random, province: str) -> tuple[dict[str, Any], list[str]]:
    values = _story_values(rng, province, km=False)
    body = [_sentence(rng, t, values) for t in rng.sample(_BODY, 7)]
    paragraphs = [_fill(rng.choice(_LEADS), values), *body]
    if rng.random() < 0.6:
        paragraphs.insert(5, rng.choice(_BACKGROUND))
    return values, paragraphs


def _wire_km(rng: random.Random, province: str) -> tuple[dict[str, Any], list[str]]:
    values = _story_values(rng, province, km=True)
    body = [_sentence(rng, t, values) for t in rng.sample(_KM_BODY, 6)]
    return values, [_fill(rng.choice(_KM_LEADS), values), *body]


def _copy(
    rng: random.Random, outlet: Outlet, values: dict[str, Any], wire: list[str], km: bool
) -> list[str]:
    """An outlet's copy of a wire story: its own intro, the wire's lead kept or dropped,
    sometimes the tail cut or a line of its own added, one sentence reworded."""
    title = outlet.name.replace("-", " ").title()
    intros = _KM_INTROS if km else _INTROS
    intro = _fill(intros[outlet.intro_style % len(intros)], {**values, "outlet_title": title})
    body = list(wire[1:]) if rng.random() < 0.5 else list(wire)
    if rng.random() < 0.4:
        body = body[: len(body) - rng.randint(1, 2)]
    if not km and outlet.name == "mekong-times":  # a sub-editor's hand
        body = [
            p.replace(" said ", " told reporters ", 1) if i == 2 else p for i, p in enumerate(body)
        ]
    paragraphs = [intro, *body]
    if not km and rng.random() < 0.5:
        paragraphs.append(_fill(rng.choice(_CLOSERS), {"outlet_title": title}))
    return paragraphs


def _headline(rng: random.Random, values: dict[str, Any], outlet: Outlet, km: bool) -> str:
    if km:
        return rng.choice(
            (
                "ប៉ូលិសខេត្ត{province} បង្ក្រាបទីតាំងបោកប្រាស់ ({outlet})",
                "ពលករបរទេស {n} នាក់ត្រូវបានជួយសង្គ្រោះនៅខេត្ត{province} ({outlet})",
            )
        ).format(**values, outlet=outlet.name)
    return (
        rng.choice(
            (
                "{n} held in {province} scam compound raid",
                "{province} raid: police free {n} from scam site",
                "Crackdown reaches {province} as {n} workers detained",
                "Inside the {province} compound: {n} foreign workers found",
            )
        ).format(**values)
        + f" ({outlet.name})"
    )


def story_corpus(seed: int = 25, *, scale: int = 1) -> list[CorpusArticle]:
    """The labelled corpus, in a fixed order. `scale` multiplies the number of stories
    (wire and exclusive alike); provinces repeat, so a larger corpus holds more
    different raids in one province."""
    rng = random.Random(seed)
    outlets = {o.name: o for o in OUTLETS}
    out: list[CorpusArticle] = []
    age = 1.0
    provinces = list(_PROVINCES)
    rng.shuffle(provinces)

    def add(
        outlet: str, lang: str, slug: str, title: str, paragraphs: list[str], story: str
    ) -> None:
        nonlocal age
        age += 0.75
        article = DemoArticle(
            slug=slug,
            lang=lang,
            title=title,
            byline=f"By {rng.choice(_NAMES)}",
            section="Trafficking",
            age_hours=age,
            paragraphs=tuple(paragraphs),
        )
        out.append(CorpusArticle(outlet, article, story))

    for i in range(_EN_WIRES * scale):
        province = provinces[i % len(provinces)]
        values, wire = _wire_en(rng, province)
        for name in _EN_CARRIERS[i % len(_EN_CARRIERS)]:
            outlet = outlets[name]
            slug = f"{province.lower().replace(' ', '-')}-raid-{i}-{name}"
            add(
                name,
                "en",
                slug,
                _headline(rng, values, outlet, km=False),
                _copy(rng, outlet, values, wire, km=False),
                f"wire-en-{i}",
            )
    english = [o for o in OUTLETS if "en" in o.langs]
    for i in range(_EN_EXCLUSIVES * scale):
        # Other provinces, or a province a wire story already covered (a second raid
        # there): same topic, same phrases, not the same story.
        province = (
            provinces[(_EN_WIRES + i) % len(provinces)] if i % 2 else provinces[i % _EN_WIRES]
        )
        values, paragraphs = _wire_en(rng, province)
        outlet = english[i % len(english)]
        add(
            outlet.name,
            "en",
            f"{province.lower().replace(' ', '-')}-own-{i}",
            _headline(rng, values, outlet, km=False),
            paragraphs,
            f"own-en-{i}",
        )
    for i in range(_KM_WIRES * scale):
        province = _KM_PROVINCES[i % len(_KM_PROVINCES)]
        values, wire = _wire_km(rng, province)
        for name in _KM_CARRIERS:
            outlet = outlets[name]
            add(
                name,
                "km",
                f"km-raid-{i}-{name}",
                _headline(rng, values, outlet, km=True),
                _copy(rng, outlet, values, wire, km=True),
                f"wire-km-{i}",
            )
    khmer = [o for o in OUTLETS if "km" in o.langs]
    for i in range(_KM_EXCLUSIVES * scale):
        province = _KM_PROVINCES[(i + 1) % len(_KM_PROVINCES)]  # where a wire story was too
        values, paragraphs = _wire_km(rng, province)
        outlet = khmer[i % len(khmer)]
        add(
            outlet.name,
            "km",
            f"km-own-{i}",
            _headline(rng, values, outlet, km=True),
            paragraphs,
            f"own-km-{i}",
        )
    return out


@dataclass(frozen=True, slots=True)
class PairScores:
    pairs: int
    true_pairs: int
    found_pairs: int
    correct_pairs: int
    precision: float
    recall: float
    wrong: tuple[tuple[str, str], ...]  # labels of the different stories joined
    missed: tuple[tuple[str, str], ...]  # keys of copies of one story left apart

    def as_json(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "true_pairs": self.true_pairs,
            "found_pairs": self.found_pairs,
            "correct_pairs": self.correct_pairs,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "wrong": [list(p) for p in self.wrong],
            "missed": [list(p) for p in self.missed],
        }


def pair_scores(labels: Mapping[str, str], clusters: Mapping[str, int | None]) -> PairScores:
    """Score a clustering on article pairs. `labels`: article key -> story label;
    `clusters`: article key -> cluster id (None: alone). A pair is found when both
    articles are in one cluster, true when they carry one label."""
    keys = sorted(labels)
    true = found = correct = 0
    wrong: list[tuple[str, str]] = []
    missed: list[tuple[str, str]] = []
    for a, b in combinations(keys, 2):
        same_story = labels[a] == labels[b]
        ca, cb = clusters.get(a), clusters.get(b)
        together = ca is not None and ca == cb
        true += same_story
        found += together
        correct += same_story and together
        if together and not same_story:
            wrong.append((labels[a], labels[b]))
        if same_story and not together:
            missed.append((a, b))
    return PairScores(
        pairs=len(keys) * (len(keys) - 1) // 2,
        true_pairs=true,
        found_pairs=found,
        correct_pairs=correct,
        precision=correct / found if found else 1.0,
        recall=correct / true if true else 1.0,
        wrong=tuple(sorted(set(wrong))),
        missed=tuple(missed),
    )
