"""The articles of the demo outlet, "The Mekong Ledger", written for Presswatch.

Fictional reporting in English and Khmer on trafficking into online-scam compounds and
the government's response, modelled on the kind of coverage Presswatch watches. Names of
people are invented; places and institutions are real so the text reads like the news
it stands for. Nothing here is copied from any outlet.

`DEMO_ARTICLES` are what the demo and the tests serve; `EDITS` are the changes the demo
makes to them; `bulk_articles(n)` builds any number of further articles from a bank of
sentences, for benchmarks and crawl tests of a larger site.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class DemoArticle:
    slug: str
    lang: str  # "en" | "km"
    title: str
    byline: str
    section: str
    age_hours: float  # published this long before the site starts
    paragraphs: tuple[str, ...]
    comments: tuple[tuple[str, str], ...] = field(default=())

    def edited(self, **changes: object) -> DemoArticle:
        return replace(self, **changes)  # type: ignore[arg-type]


DEMO_ARTICLES: tuple[DemoArticle, ...] = (
    DemoArticle(
        slug="police-free-212-workers-from-sihanoukville-scam-compound",
        lang="en",
        title="Police free 212 workers from Sihanoukville scam compound",
        byline="By Sreyneang Chhun",
        section="Trafficking",
        age_hours=3,
        paragraphs=(
            "Police in Preah Sihanouk province freed 212 workers from a fenced compound on "
            "the city's western edge early on Tuesday, after three of them managed to send "
            "their location to relatives abroad from a phone hidden in a bathroom.",
            "The workers, from Indonesia, Vietnam, Kenya, China and Thailand, told officers "
            "they had been recruited with offers of customer-service jobs paying up to "
            "$1,500 a month and were then made to run online investment and romance scams "
            "for up to sixteen hours a day.",
            "Several said their passports were taken on arrival and that they were told they "
            "owed between $3,000 and $8,000 for their travel and 'training', a debt that grew "
            "each time they missed a daily target. Two men showed reporters bruises they said "
            "came from beatings with an electric baton.",
            "Provincial police chief Chan Virak said 19 people suspected of running the "
            "compound had been detained and that computers and more than 900 mobile phones "
            "had been seized as evidence. He did not say who owned the buildings.",
            "The freed workers were taken to a provincial sports hall, where officials from "
            "the Ministry of Social Affairs and several embassies began screening them to "
            "decide who would be treated as a victim of trafficking and who would face "
            "immigration charges.",
            "Rights groups have long warned that screening carried out in a hurry leaves "
            "victims facing fines and deportation instead of protection. 'People who were "
            "held against their will should not be punished for being undocumented,' said "
            "Dara Kim of a Phnom Penh legal aid group.",
        ),
        comments=(
            ("Sokha", "Finally some action. There are many more buildings like this."),
            ("Visitor", "Who owns the land? That is the question nobody answers."),
        ),
    ),
    DemoArticle(
        slug="survivors-describe-debt-bondage-inside-bavet-casino-complex",
        lang="en",
        title="Survivors describe debt bondage inside Bavet casino complex",
        byline="By Rith Sovann and Lena Marsh",
        section="Investigations",
        age_hours=30,
        paragraphs=(
            "Eleven former workers of a casino complex in the border town of Bavet, in "
            "Svay Rieng province, have described to the Ledger how their debts were sold "
            "between companies operating inside the same guarded perimeter.",
            "A 24-year-old from Malaysia said he was 'resold' twice in four months, each time "
            "for a higher price that was added to what he was told he owed. 'They showed us a "
            "spreadsheet with our names and a number next to each one,' he said.",
            "The workers said managers confiscated phones during shifts and punished those who "
            "failed to lure enough victims into fake cryptocurrency platforms by locking them "
            "in a dark room without food for a day.",
            "Three of the eleven said they had reported their situation to police officers "
            "who visited the complex, but that the officers spoke only with managers before "
            "leaving. The Ledger could not independently verify these accounts.",
            "A spokesman for the provincial administration said authorities 'take every "
            "complaint seriously' and had inspected the complex twice this year without "
            "finding evidence of forced labour.",
            "The complex's management did not respond to written questions sent by email "
            "and delivered to its front gate.",
        ),
    ),
    DemoArticle(
        slug="task-force-announces-nationwide-inspections-of-online-scam-sites",
        lang="en",
        title="Task force announces nationwide inspections of online-scam sites",
        byline="By Chea Malis",
        section="Politics",
        age_hours=50,
        paragraphs=(
            "The government's counter-trafficking task force said on Monday it would "
            "inspect every building suspected of housing online-scam operations within "
            "three months, the broadest campaign announced since raids began in 2022.",
            "A deputy secretary-general of the National Committee for Counter Trafficking "
            "told a news conference in Phnom Penh that teams of police, labour inspectors "
            "and immigration officers would visit sites in Preah Sihanouk, Kampot, Koh Kong, "
            "Svay Rieng and Oddar Meanchey provinces.",
            "Officials said landlords who rent buildings to scam operators would face "
            "prosecution, and that foreign workers found inside would be screened as "
            "possible victims of trafficking before any immigration charges were considered.",
            "Two inspectors who took part in an earlier campaign told the Ledger that the "
            "landlord of the largest compound they visited was a provincial tycoon with close "
            "ties to senior police officers, and that their report was never made public.",
            "Diplomats from countries whose citizens have been trapped in the compounds "
            "welcomed the announcement but said previous campaigns had ended with buildings "
            "emptied in advance of inspections and operations moving elsewhere.",
            "The task force said it would publish the results of the inspections, including "
            "the number of people rescued and prosecuted, at the end of the campaign.",
        ),
    ),
    DemoArticle(
        slug="families-of-trafficked-indonesians-plead-for-repatriation",
        lang="en",
        title="Families of trafficked Indonesians plead for repatriation",
        byline="By Sreyneang Chhun",
        section="Trafficking",
        age_hours=80,
        paragraphs=(
            "Relatives of 37 Indonesians held in immigration detention since a raid in "
            "Kampot last month have asked both governments to speed up their return home, "
            "saying the men are sleeping in an overcrowded cell with little food.",
            "In letters shared with the Ledger, families said the men had been told they "
            "would be sent home within a week, but that no date had been set and that some "
            "were being asked to pay for their own flights.",
            "The Indonesian embassy said it had visited the detainees and was working with "
            "Cambodian authorities on travel documents. An immigration official said the "
            "delay was caused by the need to confirm identities and check for criminal cases.",
            "Advocates said survivors of scam compounds often leave with nothing after their "
            "wages and passports were withheld, and that charging them for repatriation "
            "treats victims of trafficking as offenders.",
            "Several of the men have told their families they want to testify against the "
            "recruiters who sent them to Cambodia with promises of jobs in hotels and online "
            "marketing.",
        ),
    ),
    DemoArticle(
        slug="court-jails-three-recruiters-who-lured-teenagers-with-fake-jobs",
        lang="en",
        title="Court jails three recruiters who lured teenagers with fake call-centre jobs",
        byline="By Chea Malis",
        section="Courts",
        age_hours=400,
        paragraphs=(
            "The Phnom Penh Municipal Court on Friday sentenced three recruiters to between "
            "seven and ten years in prison for trafficking teenagers into a scam compound "
            "with advertisements for call-centre jobs posted on social media.",
            "Prosecutors said the three had sent at least fourteen people, the youngest aged "
            "sixteen, to a compound in Koh Kong province, where they were forced to contact "
            "strangers online and persuade them to invest in fraudulent trading apps.",
            "Two of the victims testified that they were beaten when they asked to leave. "
            "The court ordered the recruiters to pay each victim compensation of 20 million "
            "riel, about $5,000.",
            "Lawyers for the defendants said their clients had believed the jobs were real "
            "and would appeal. No one was charged over the operation of the compound itself.",
            "Anti-trafficking groups welcomed the verdict but said prosecutions of low-level "
            "recruiters rarely reach the people who profit most from the compounds.",
        ),
    ),
    DemoArticle(
        slug="police-rescue-120-workers-from-preah-sihanouk-scam-site",
        lang="km",
        title="ប៉ូលិសជួយសង្គ្រោះពលករ ១២០ នាក់ពីទីតាំងបោកប្រាស់អនឡាញនៅខេត្តព្រះសីហនុ",
        byline="ដោយ ចាន់ សុភា",
        section="ការជួញដូរមនុស្ស",
        age_hours=5,
        paragraphs=(
            "កម្លាំងនគរបាលខេត្តព្រះសីហនុ បានជួយសង្គ្រោះពលករបរទេសចំនួន ១២០ នាក់ "
            "ចេញពីអគារមួយដែលត្រូវបានគេប្រើជាទីតាំងបោកប្រាស់តាមអនឡាញ "
            "កាលពីយប់ថ្ងៃច័ន្ទ បន្ទាប់ពីទទួលបានពាក្យបណ្ដឹងពីក្រុមគ្រួសាររបស់ពលករទាំងនោះ។",
            "ពលករទាំងនោះបានប្រាប់មន្ត្រីថា ពួកគេត្រូវបានគេបោកបញ្ឆោតឲ្យមកធ្វើការ "
            "ដោយសន្យាផ្ដល់ប្រាក់ខែខ្ពស់ ប៉ុន្តែនៅពេលមកដល់ ពួកគេត្រូវបានរឹបអូសលិខិតឆ្លងដែន "
            "និងបង្ខំឲ្យធ្វើការបោកប្រាស់ជនរងគ្រោះតាមប្រព័ន្ធអ៊ីនធឺណិតរហូតដល់ ១៦ ម៉ោងក្នុងមួយថ្ងៃ។",
            "អ្នកខ្លះបាននិយាយថា ពួកគេត្រូវបានគេវាយដំ និងឃុំខ្លួននៅក្នុងបន្ទប់ងងឹត "
            "នៅពេលដែលពួកគេមិនអាចបំពេញគោលដៅប្រចាំថ្ងៃបាន។",
            "មន្ត្រីនគរបាលបាននិយាយថា ជនសង្ស័យចំនួន ១២ នាក់ត្រូវបានឃាត់ខ្លួន "
            "ហើយកុំព្យូទ័រ និងទូរស័ព្ទដៃជាច្រើនរយគ្រឿងត្រូវបានដកហូតទុកជាវត្ថុតាង។",
            "ពលករដែលត្រូវបានជួយសង្គ្រោះ ត្រូវបានបញ្ជូនទៅកាន់មន្ត្រីសង្គមកិច្ច "
            "ដើម្បីពិនិត្យថាតើពួកគេជាជនរងគ្រោះនៃការជួញដូរមនុស្សឬយ៉ាងណា "
            "មុនពេលបញ្ជូនពួកគេត្រឡប់ទៅប្រទេសកំណើតវិញ។",
        ),
        comments=(("សុខា", "សូមអរគុណដល់កម្លាំងសមត្ថកិច្ច។"),),
    ),
    DemoArticle(
        slug="government-forms-special-committee-against-human-trafficking",
        lang="km",
        title="រដ្ឋាភិបាលបង្កើតគណៈកម្មការពិសេសប្រឆាំងការជួញដូរមនុស្សក្នុងទីតាំងបោកប្រាស់",
        byline="ដោយ ហេង វណ្ណា",
        section="នយោបាយ",
        age_hours=60,
        paragraphs=(
            "រាជរដ្ឋាភិបាលបានសម្រេចបង្កើតគណៈកម្មការពិសេសមួយ "
            "ដើម្បីត្រួតពិនិត្យអគារ និងកាស៊ីណូទាំងអស់ដែលសង្ស័យថាជាទីតាំងបោកប្រាស់តាមអនឡាញ "
            "និងការជួញដូរមនុស្ស នៅទូទាំងប្រទេស។",
            "អ្នកនាំពាក្យក្រសួងមហាផ្ទៃបានមានប្រសាសន៍ថា "
            "គណៈកម្មការនេះនឹងមានសមាសភាពមកពីនគរបាល អធិការការងារ និងមន្ត្រីអន្តោប្រវេសន៍ "
            "ហើយនឹងចុះត្រួតពិនិត្យក្នុងខេត្តព្រះសីហនុ កំពត កោះកុង និងស្វាយរៀង។",
            "លោកបានបន្ថែមថា ម្ចាស់អគារដែលជួលទីតាំងឲ្យក្រុមបោកប្រាស់ "
            "នឹងត្រូវទទួលខុសត្រូវចំពោះមុខច្បាប់ ហើយពលករបរទេសដែលរកឃើញ "
            "នឹងត្រូវពិនិត្យជាមុនសិន ថាតើពួកគេជាជនរងគ្រោះឬអត់។",
            "អង្គការសិទ្ធិមនុស្សបានស្វាគមន៍ចំពោះការសម្រេចនេះ "
            "ប៉ុន្តែបានលើកឡើងថា យុទ្ធនាការមុនៗជាច្រើន "
            "បានបញ្ចប់ដោយគ្មានការចោទប្រកាន់ម្ចាស់ទីតាំងធំៗនោះទេ។",
        ),
    ),
    DemoArticle(
        slug="victims-describe-torture-inside-scam-building",
        lang="km",
        title="ជនរងគ្រោះរៀបរាប់ពីការធ្វើទារុណកម្មនៅក្នុងអគារបោកប្រាស់",
        byline="ដោយ ចាន់ សុភា",
        section="ការស៊ើបអង្កេត",
        age_hours=100,
        paragraphs=(
            "ជនរងគ្រោះបួននាក់ដែលបានរត់គេចខ្លួនចេញពីអគារបោកប្រាស់មួយនៅខេត្តកោះកុង "
            "បានរៀបរាប់ប្រាប់អ្នកសារព័ត៌មានពីការធ្វើទារុណកម្ម "
            "ដែលពួកគេបានរងនៅពេលមិនអាចរកប្រាក់បានគ្រប់ចំនួនតាមការកំណត់។",
            "បុរសម្នាក់អាយុ ២២ ឆ្នាំបាននិយាយថា គាត់ត្រូវបានគេឆក់ដោយដំបងអគ្គិសនី និងឃុំនៅក្នុងបន្ទប់តូចមួយអស់រយៈពេលបីថ្ងៃ។",
            "ជនរងគ្រោះទាំងនោះបាននិយាយថា ពួកគេត្រូវបានគេលក់បន្តពីក្រុមហ៊ុនមួយទៅក្រុមហ៊ុនមួយទៀត "
            "ហើយបំណុលរបស់ពួកគេកាន់តែកើនឡើងរាល់ពេលដែលគេលក់ពួកគេ។",
            "មន្ត្រីខេត្តបាននិយាយថា អាជ្ញាធរនឹងស៊ើបអង្កេតលើការចោទប្រកាន់ទាំងនេះ "
            "ប៉ុន្តែមិនទាន់បានចុះទៅពិនិត្យអគារនោះនៅឡើយទេ។",
        ),
    ),
    DemoArticle(
        slug="mekong-water-levels-rise-early-this-year",
        lang="en",
        title="Mekong water levels rise early this year, fishermen say",
        byline="By Lena Marsh",
        section="Environment",
        age_hours=20,
        paragraphs=(
            "Fishermen on the Tonle Sap say the lake began to swell nearly three weeks "
            "earlier than usual this year, raising hopes of a better catch after several "
            "lean seasons.",
            "Hydrologists cautioned that a single early rise does not mean the long decline "
            "in the river's seasonal flood pulse has reversed, and pointed to upstream dams "
            "that hold back water during the dry months.",
            "At a floating village near Kampong Chhnang, families were repairing nets and "
            "boats ahead of the main season, and traders said fish prices at the landing had "
            "already fallen slightly.",
            "The Mekong River Commission is expected to publish its flood-season outlook "
            "next month.",
        ),
    ),
)

# What the demo does to the site between rechecks (see presswatch.demo.run).
EDIT_SLUG = "task-force-announces-nationwide-inspections-of-online-scam-sites"
HEADLINE_SLUG = "police-free-212-workers-from-sihanoukville-scam-compound"
REMOVED_SLUG = "survivors-describe-debt-bondage-inside-bavet-casino-complex"
SOFT404_SLUG = "victims-describe-torture-inside-scam-building"
FAILING_SLUG = "families-of-trafficked-indonesians-plead-for-repatriation"
# A word found only in the paragraph the edit removes.
REMOVED_WORD = "tycoon"


def edited_task_force(article: DemoArticle) -> DemoArticle:
    """The edit: the paragraph about the landlord goes, and the campaign's scope is
    softened."""
    paragraphs = [p for p in article.paragraphs if REMOVED_WORD not in p]
    paragraphs[0] = paragraphs[0].replace(
        "inspect every building suspected of housing online-scam operations within "
        "three months, the broadest campaign announced since raids began in 2022.",
        "inspect buildings suspected of housing online-scam operations, continuing a "
        "campaign that began in 2022.",
    )
    return article.edited(paragraphs=tuple(paragraphs))


def new_headline(article: DemoArticle) -> DemoArticle:
    return article.edited(title="Authorities assist 212 foreigners at Sihanoukville site")


# -- bulk articles for benchmarks and large-site tests ----------------------------------

_PLACES = (
    "Preah Sihanouk", "Kampot", "Koh Kong", "Svay Rieng", "Oddar Meanchey", "Pursat",
    "Banteay Meanchey", "Kandal", "Takeo", "Siem Reap",
)  # fmt: skip
_OPENERS = (
    "Police in {place} province said on {day} they had found {n} foreign workers inside "
    "a compound used for online scams, after a tip from relatives abroad.",
    "Labour inspectors visited a former hotel in {place} on {day} and found {n} people "
    "who said they had been forced to defraud strangers online.",
    "A court in {place} on {day} heard testimony from {n} survivors of a scam compound "
    "who said their passports had been taken on arrival.",
    "Officials in {place} said on {day} that {n} people had been handed to social "
    "workers after a raid on a building rented by an online-gambling company.",
)
_MIDDLES = (
    "Workers said they had been recruited through social media with offers of jobs in "
    "customer service, marketing or translation, and were told on arrival that they owed "
    "thousands of dollars for their travel.",
    "Several described beatings, electric shocks and days locked in dark rooms for "
    "failing to meet targets set by managers who spoke only through interpreters.",
    "Rights groups said the screening of foreign workers was too hurried to tell victims "
    "of trafficking from willing employees, leaving many to face deportation and fines.",
    "Diplomats said their citizens had sent messages for weeks before anyone came, and "
    "asked why the buildings had been allowed to operate in plain sight for so long.",
    "The company that rented the building did not answer questions, and land records "
    "showed it had changed its registered name twice in two years.",
    "Police said computers, bank cards and hundreds of mobile phones had been seized, "
    "and that the suspected managers would be questioned by the provincial prosecutor.",
    "Survivors said debts were sold between companies inside the same compound, and "
    "that each sale added to what they were told they had to repay before leaving.",
    "Officials promised to publish the results of the inspections, though earlier "
    "campaigns ended without public reports or charges against landlords.",
)
_CLOSERS = (
    "The ministry said the rescued workers would be repatriated once their identities "
    "had been confirmed.",
    "Anti-trafficking groups urged the authorities to prosecute the owners of the "
    "buildings, not only the recruiters.",
    "The provincial administration said investigations were continuing.",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_NAMES = ("Chhun Sreyneang", "Rith Sovann", "Chea Malis", "Lena Marsh", "Heng Vanna")


def bulk_articles(count: int, *, seed: int = 7) -> list[DemoArticle]:
    """`count` distinct English articles built from the sentence bank (deterministic)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        place = _PLACES[i % len(_PLACES)]
        opener = rng.choice(_OPENERS).format(
            place=place, day=rng.choice(_DAYS), n=rng.randint(9, 400)
        )
        middles = rng.sample(_MIDDLES, k=5)
        body = (opener, *middles, rng.choice(_CLOSERS), f"Reference {i:05d}: filed from {place}.")
        out.append(
            DemoArticle(
                slug=f"report-{i:05d}-{place.lower().replace(' ', '-')}",
                lang="en",
                title=f"{rng.randint(9, 400)} freed from scam compound in {place} (report {i})",
                byline=f"By {rng.choice(_NAMES)}",
                section="Trafficking",
                age_hours=1 + i * 0.5,
                paragraphs=body,
            )
        )
    return out
