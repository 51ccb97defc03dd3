"""Bylines: the people who wrote an article, apart from the organisations credited beside them.

A page's author metadata mixes people with the site's own name ("Condé Nast; Molly Wood"), news agencies
("Reuters", "dpa"), CMS placeholders ("Admin"), role labels ("Autor …", "By …"), URL slugs that repeat a name
("Sophie Foster; Sophie-Foster") and dates' labels ("… Stand"). `split_byline` keeps the people and moves the
organisations to a credit line. Pure: strings in, strings out.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from pipelines.names import fold

# News agencies and wire services: credited, never a person.
AGENCIES = frozenset(
    "ap associatedpress reuters thomsonreuters afp agencefrancepresse dpa deutschepresseagentur efe apa ansa "
    "kna epd ddp sid xinhua pti ians ani upi kyodo yonhap tass ria europapress belga anp tt ntb sda keystonesda "
    "ats aap cna bernama antara agenturen agencies agencias agences staffandagencies bloomberg".split()
)
# Legal forms: an organisation's when they end its name ("Example Media GmbH"; not "A.G. Sulzberger").
LEGAL_FORMS = frozenset("gmbh ag inc ltd llc llp plc corp kg ev eg sas srl spa bv nv".split())
# Words that make a name an organisation's wherever they stand: desks, publishers, institutions (no word that is
# also a common surname: "Post", "Press", "Holding", "Times").
ORGANISATION_WORDS = frozenset(
    "group holdings red media verlag presse news newsroom newsdesk desk redaktion redaccion redacción rédaction "
    "redazione editors editorial staff team online magazine magazin zeitung foundation stiftung verband "
    "bundesverband institut institute university universität department departement ministerium ministry agency "
    "agentur consulting kitchens partei fraktion bundestagsfraktion gesellschaft association".split()
)
# CMS placeholders and bare roles: neither a person nor a credit.
PLACEHOLDERS = frozenset(
    "admin administrator superuser user name author autor guest guestcontributor gastautor staffwriter editor "
    "webmaster anonymous unknown".split()
)
# Role labels before the names: the unmistakable ones with or without a colon ("Autor Max Muster", "By Jane"),
# words that can begin a name ("Story", "Text", "Di") only with one ("Text: Jane Doe").
_ROLE_PREFIX = re.compile(
    r"^(?:(?:(?:written|posted|published|reported|photographed)\s+by|artikel\s+von|ein\s+beitrag\s+von|"
    r"beitrag\s+von|gastbeitrag\s+von|gastautor(?:in)?|autor(?:in)?|author|by|von|por|par|redakteur(?:in)?)"
    r"\s*:?\s+|(?:text|story|words|reporting|photos?|fotos?|di|door|av|af)\s*:\s*)+",
    re.IGNORECASE,
)
# A date label that a byline search takes along ("Sara Zinnecker Stand 12.03.", "… vor 3 Stunden").
_TRAILING_LABEL = re.compile(r"\s+(?:stand|vor|updated|aktualisiert|tiempo de lectura)$", re.IGNORECASE)
# Word endings of compound organisation names ("Hanns-Seidel-Stiftung", "Wirtschaftsnachrichten").
ORGANISATION_ENDINGS = ("stiftung", "verband", "verlag", "zeitung", "nachrichten", "gesellschaft", "institut")
_SOCIAL = re.compile(r"^(?:www\s+)?(?:facebook|twitter|instagram|linkedin|youtube|tiktok|x)\s+com$", re.IGNORECASE)
_TOP_LEVEL = frozenset("com net org at ch cl fr uk io eu info biz nl pl".split())  # not "De", "It": surnames
_INITIAL = re.compile(r"(?<![\w.])([A-Z])(?=\s|$)")


def key(name: str) -> str:
    """A name's comparison key: letters and digits, casefolded, accents dropped."""
    return "".join(ch for ch in fold(name).casefold() if ch.isalnum())


def split_byline(
    author: str | None,
    organisations: Iterable[str] = (),
    declared: Collection[str] = (),
    holders: Iterable[str] = (),
) -> tuple[str | None, str | None]:
    """(people, credit) of a byline, each "; "-joined, or None.

    Args:
        author: the byline's names, "; "-separated (as trafilatura gives them).
        organisations: names the page gives to organisations: the site's own names (og:site_name, the seed's
            title, its host), its JSON-LD publisher, JSON-LD authors typed Organization.
        declared: the author values as the page wrote them (meta tags, JSON-LD), where "Last, First" survives.
        holders: the page's copyright holders: an organisation when the byline names someone else beside them
            ("Condé Nast; Molly Wood"), the author of a blog that is its own holder otherwise.
    """
    if not author:
        return None, None
    org_keys = {k for k in (key(name) for name in organisations) if len(k) >= 2}
    parts = _rejoined([p for p in (_clean(part) for part in author.split(";")) if p], declared)
    kinds = [_kind(part, org_keys) for part in parts]
    holder_keys = {k for k in (key(name) for name in holders) if len(k) >= 2}
    if sum(kind == "person" for kind in kinds) > 1:
        kinds = [
            "organisation" if kind == "person" and key(part) in holder_keys else kind
            for part, kind in zip(parts, kinds, strict=True)
        ]
    people: list[str] = []
    credit: list[str] = []
    for part, kind in zip(parts, kinds, strict=True):
        if kind == "person":
            people.append(_with_initials(part))
        elif kind == "organisation":
            credit.append(part)
    return _joined(_distinct(people)), _joined(_distinct(credit))


def _clean(part: str) -> str:
    part = " ".join(part.split())
    part = _ROLE_PREFIX.sub("", part)
    part = _TRAILING_LABEL.sub("", part)
    return part.strip(" ,:|-–—")


def _rejoined(parts: list[str], declared: Collection[str]) -> list[str]:
    """Two one-word parts that the page wrote as "Last, First" made one name again."""
    written = {" ".join(value.split()) for value in declared}
    joined: list[str] = []
    index = 0
    while index < len(parts):
        pair = parts[index : index + 2]
        if len(pair) == 2 and all(" " not in p for p in pair) and any(f"{pair[0]}, {pair[1]}" in w for w in written):
            joined.append(f"{pair[0]}, {pair[1]}")
            index += 2
        else:
            joined.append(parts[index])
            index += 1
    return joined


def _kind(part: str, org_keys: set[str]) -> str:
    """ "person", "organisation" or "none" (a placeholder, a social-network link)."""
    part_key = key(part)
    words = [key(word) for word in part.split()]
    if not part_key or part_key in PLACEHOLDERS or _SOCIAL.match(part):
        return "none"
    if part_key in AGENCIES or part_key in org_keys:
        return "organisation"
    if len(words) <= 3 and any(len(k) >= 4 and (part_key.startswith(k) or part_key.endswith(k)) for k in org_keys):
        return "organisation"  # "Tech Monitor" for techmonitor.ai, "Business Insider Deutschland"
    if any(word in ORGANISATION_WORDS or word.endswith(ORGANISATION_ENDINGS) for word in words):
        return "organisation"
    if len(words) >= 2 and (words[-1] in _TOP_LEVEL | LEGAL_FORMS or "".join(words[-2:]) in LEGAL_FORMS):
        return "organisation"
    if part.isupper() and len(words) == 1 and len(part_key) <= 5:
        return "organisation"  # an acronym alone: "GNB", "EFE"
    return "person"


def _with_initials(name: str) -> str:
    """A single capital between words is an initial: "Darryl K Taft" -> "Darryl K. Taft"."""
    return _INITIAL.sub(r"\1.", name) if " " in name else name


def _distinct(names: list[str]) -> list[str]:
    """Each name once: a slug ("Sophie-Foster", "Kevin-R") that repeats or abbreviates another name goes."""
    keys = [key(name) for name in names]
    kept = []
    for index, (name, name_key) in enumerate(zip(names, keys, strict=True)):
        if name_key in keys[:index]:
            continue
        if ("-" in name or name.islower()) and any(other != name_key and other.startswith(name_key) for other in keys):
            continue
        kept.append(name)
    return kept


def _joined(names: list[str]) -> str | None:
    return "; ".join(names) or None
