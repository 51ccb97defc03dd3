"""An article's main text from a parsed page: a site's recipe, trafilatura's search made whole, or the article
payload a script-only page embeds.

Pure: lxml trees in, text out (no Scrapy, no database). `pipelines.extract` calls `main_text`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator

import trafilatura
from lxml import html as lxml_html

MIN_TEXT_CHARS = 200
MAX_TEXT_CHARS = 200_000

# Where trafilatura's fast search (no readability/jusText comparison, a third of its cost) may have missed the
# text, the full search runs: a text shorter than this, or under this share of the page's paragraph text.
FULL_SEARCH_BELOW_CHARS = 1500
FULL_SEARCH_BELOW_SHARE = 0.5
# A recipe that finds less than this share of the page's paragraph text gave way to a redesign: search instead.
RECIPE_MIN_SHARE = 0.4

BLOCKS = "p", "h1", "h2", "h3", "h4", "li", "blockquote", "pre"
HIDDEN = "script", "style", "noscript", "template"
_RECOVERABLE = "p", "h2", "h3", "h4", "blockquote"
_OUTSIDE_ARTICLE = "nav", "aside", "footer", "header", "form", "figure", "figcaption"
_MIN_REPEATED_CHARS = 30  # a shorter line may repeat in a real text ("Yes.", a heading)
_PARAGRAPH_CHARS = 80  # a recovered container holds at least one paragraph this long
_ANCHOR_CHARS = 40  # a paragraph of the text this long names its container (a short line may be a widget's)


def main_text(tree: lxml_html.HtmlElement, url: str, recipe: str | None = None) -> tuple[str, str]:
    """The page's article text and how it was found: "recipe", "search" or "payload" ("" when none).

    Args:
        tree: the parsed page (left unchanged).
        url: the page's URL, for trafilatura.
        recipe: the source's XPath for its article body (seeds' `extract.text`), tried first.
    """
    paragraphs = _paragraph_chars(tree)
    if recipe:
        text = selected_text(tree, recipe)
        if len(text) >= MIN_TEXT_CHARS and len(text) >= RECIPE_MIN_SHARE * paragraphs:
            return text, "recipe"
    text = whole_body(tree, _searched_text(tree, url, paragraphs))
    if len(text) >= MIN_TEXT_CHARS:
        return text, "search"
    payload = payload_text(tree)
    if len(payload) > len(text):
        return payload, "payload"
    return text, "search" if text else ""


def _searched_text(tree: lxml_html.HtmlElement, url: str, paragraphs: int) -> str:
    """trafilatura's main text: its fast search, then its full one where the fast one looks short."""
    text = _trafilatura_text(tree, url, fast=True)
    if len(text) < FULL_SEARCH_BELOW_CHARS or len(text) < FULL_SEARCH_BELOW_SHARE * paragraphs:
        full = _trafilatura_text(tree, url, fast=False)
        if len(full) > len(text):
            return full
    return text


def _trafilatura_text(tree: lxml_html.HtmlElement, url: str, *, fast: bool) -> str:
    doc = trafilatura.bare_extraction(
        tree, url=url, with_metadata=False, include_comments=False, include_tables=True, fast=fast
    )
    return ((getattr(doc, "text", None) or "") if doc is not None else "").strip()


def _paragraph_chars(tree: lxml_html.HtmlElement) -> int:
    """Characters of text in the page's paragraphs outside forms, asides, comments, related and share boxes: the
    yardstick for a short text."""
    beside: dict[lxml_html.HtmlElement, bool] = {}

    def is_beside(element: lxml_html.HtmlElement | None) -> bool:
        unknown = []
        while element is not None and element.tag not in _PAGE_FRAME and element not in beside:
            unknown.append(element)
            element = element.getparent()
        value = beside.get(element, False) if element is not None else False
        for ancestor in reversed(unknown):  # outermost first: an element inside a comment box is in it too
            value = value or _is_beside_text(ancestor)
            beside[ancestor] = value
        return value

    return sum(len(_line_key(p.text_content())) for p in tree.iter("p") if not is_beside(p.getparent()))


def _line_key(text: str) -> str:
    return " ".join(text.split())


def whole_body(tree: lxml_html.HtmlElement, text: str) -> str:
    """`text` with the blocks of its article that it lost, in page order, and without repeated blocks.

    The article's containers are the parents of the page paragraphs (40+ characters) `text` holds; its lost
    blocks are the paragraphs of other elements of the same tag and class at the same depth (an article split
    by an ad row, a related-links block or an ad breaker into several `body__container`s), or of same-tag
    classless siblings, that come after its first paragraph, are paragraph-like (not a list of links) and are
    not already in `text`.
    """
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return text
    keys = {_line_key(line) for line in lines}
    position: dict[str, int] = {}
    containers: dict[lxml_html.HtmlElement, None] = {}
    for index, block in enumerate(tree.iter(*BLOCKS)):
        key = _line_key(block.text_content())
        if key in keys:
            position.setdefault(key, index)
            parent = block.getparent()
            if block.tag == "p" and parent is not None and len(key) >= _ANCHOR_CHARS:
                containers.setdefault(parent)
    found = _lost_blocks(tree, containers, keys, position) if position else []
    return "\n".join(_without_repeats(_merged(lines, position, found)))


def _lost_blocks(
    tree: lxml_html.HtmlElement,
    containers: dict[lxml_html.HtmlElement, None],
    keys: set[str],
    position: dict[str, int],
) -> list[tuple[int, str]]:
    """(page position, text) of the paragraph-like blocks of the article's other containers."""
    others: dict[lxml_html.HtmlElement, None] = {}
    classed = _by_kind(tree, {(c.tag, c.get("class")) for c in containers if (c.get("class") or "").strip()})
    done: set[object] = set()
    for container in containers:
        css_class = (container.get("class") or "").strip()
        kind = (container.tag, css_class, _depth(container)) if css_class else (container.tag, container.getparent())
        if kind in done:
            continue  # many containers of one kind (a paragraph per <div>): their kin are found once
        done.add(kind)
        for other in _same_kind(container, classed):
            if other not in containers and not _outside_article(other):
                others.setdefault(other)
    if not others:
        return []
    wanted = set()
    for other in others:
        blocks = [b for b in _outer_blocks(other) if b.tag in _RECOVERABLE]
        if any(len(_line_key(b.text_content())) >= _PARAGRAPH_CHARS and not _linky(b) for b in blocks):
            wanted.update(blocks)
    if not wanted:
        return []
    found = []
    start = min(position.values())  # the search finds an article's first part: what it loses comes after
    for index, block in enumerate(tree.iter(*BLOCKS)):
        if block in wanted and index > start:
            key = _line_key(_visible_text(block))
            if key and key not in keys and not _linky(block):
                found.append((index, key))
    return found


def _by_kind(
    tree: lxml_html.HtmlElement, kinds: set[tuple[str, str | None]]
) -> dict[tuple[str, str | None], list[lxml_html.HtmlElement]]:
    """The page's elements of each (tag, class), in one pass."""
    found: dict[tuple[str, str | None], list[lxml_html.HtmlElement]] = {kind: [] for kind in kinds}
    if kinds:
        for element in tree.iter(*{tag for tag, _ in kinds}):
            kind = (element.tag, element.get("class"))
            if kind in found:
                found[kind].append(element)
    return found


def _same_kind(
    container: lxml_html.HtmlElement, classed: dict[tuple[str, str | None], list[lxml_html.HtmlElement]]
) -> Iterator[lxml_html.HtmlElement]:
    """Elements of the container's tag and class at its depth anywhere in the page; without a class, its siblings
    of its tag."""
    kind = (container.tag, container.get("class"))
    if kind in classed:
        depth = _depth(container)
        yield from (element for element in classed[kind] if _depth(element) == depth)
        return
    parent = container.getparent()
    if parent is not None:
        yield from (sibling for sibling in parent if sibling.tag == container.tag and not sibling.get("class"))


def _depth(element: lxml_html.HtmlElement) -> int:
    return sum(1 for _ in element.iterancestors())


def _outside_article(element: lxml_html.HtmlElement) -> bool:
    return any(ancestor.tag in _OUTSIDE_ARTICLE for ancestor in element.iterancestors())


def _linky(block: lxml_html.HtmlElement, share: float = 0.5) -> bool:
    """More than `share` of its text is link text: a related-links entry, not a paragraph."""
    text = len(_line_key(block.text_content()))
    links = sum(len(_line_key(a.text_content())) for a in block.iter("a"))
    return text == 0 or links > share * text


def _merged(lines: list[str], position: dict[str, int], found: list[tuple[int, str]]) -> list[str]:
    """The extracted lines with the recovered blocks put where the page has them."""
    if not found:
        return lines
    merged: list[str] = []
    pending = sorted(found)
    at = -1
    for line in lines:
        at = max(at, position.get(_line_key(line), -1))
        while pending and pending[0][0] < at:
            merged.append(pending.pop(0)[1])
        merged.append(line)
    merged.extend(text for _, text in pending)
    return merged


def _without_repeats(lines: list[str]) -> list[str]:
    """Each block once: a page that holds its text twice (a newsletter's web and e-mail copies) yields it once."""
    seen: set[str] = set()
    kept = []
    for line in lines:
        key = _line_key(line)
        if len(key) >= _MIN_REPEATED_CHARS:
            if key in seen:
                continue
            seen.add(key)
        kept.append(line)
    return kept


def _outer_blocks(element: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """The outermost paragraph-like elements in `element` (a list item's own paragraphs are not repeated)."""
    if element.tag in BLOCKS:
        return [element]
    return [block for child in element if isinstance(child.tag, str) for block in _outer_blocks(child)]


def _visible_text(element: lxml_html.HtmlElement) -> str:
    """An element's text without what its scripts, styles and templates hold."""
    if not any(True for _ in element.iter(*HIDDEN)):
        return element.text_content()
    clean = copy.deepcopy(element)
    for hidden in list(clean.iter(*HIDDEN)):
        hidden.drop_tree()  # keeps the text that follows it
    return clean.text_content()


def select(tree: lxml_html.HtmlElement, xpath: str) -> list[object]:
    """What an XPath finds, as a list; nothing for an expression lxml refuses."""
    try:
        found = tree.xpath(xpath)
    except (lxml_html.etree.XPathError, ValueError):
        return []
    return found if isinstance(found, list) else [found]


# What an article's container holds beside its text: forms, asides, captions, embeds, share and author boxes,
# named by a word of a class or id ("related-posts", "share_bar", "ad"); never the page's frame, whose classes
# name its post ("wp-embed-responsive", "tag-sponsor", "postid-…-private-credit").
_BESIDE_TEXT_TAGS = frozenset(("form", "aside", "nav", "footer", "figure", "figcaption", "button", "iframe"))
_BESIDE_TEXT_WORDS = frozenset(
    "newsletter newsletters subscribe subscription related share sharing social author authors promo promos advert "
    "ad ads advertisement sponsor sponsored tweet twitter instagram embed embedded comment comments signup byline "
    "caption credit credits tags breadcrumb breadcrumbs".split()
)
_PAGE_FRAME = frozenset(("html", "body", "main"))
_NAMING_A_POST = ("tag-", "category-", "post-", "postid-", "page-", "single-", "type-", "format-", "status-")
_WORD_SPLIT = re.compile(r"[-_\s]+")


def _is_beside_text(element: lxml_html.HtmlElement) -> bool:
    """A form, aside, caption or embed, or an element whose class or id names one (a word of it does)."""
    if element.tag in _BESIDE_TEXT_TAGS:
        return True
    for name in f"{element.get('class', '')} {element.get('id', '')}".lower().split():
        if not name.startswith(_NAMING_A_POST) and any(w in _BESIDE_TEXT_WORDS for w in _WORD_SPLIT.split(name)):
            return True
    return False


def selected_text(tree: lxml_html.HtmlElement, xpath: str) -> str:
    """The article body a recipe finds: its paragraphs, headings and list items, one per line, each once,
    without what the container holds beside the text (forms, asides, captions, embeds, share and author boxes,
    lists of links)."""
    lines: list[str] = []
    for element in select(tree, xpath)[:20]:
        if not isinstance(element, lxml_html.HtmlElement):
            continue
        for block in _outer_blocks(element) or [element]:
            if block is not element and (_beside_text(block, element) or _linky(block, 0.8)):
                continue
            line = _line_key(_visible_text(block))
            if line:
                lines.append(line)
    return "\n".join(_without_repeats(lines))[:MAX_TEXT_CHARS]


def _beside_text(block: lxml_html.HtmlElement, container: lxml_html.HtmlElement) -> bool:
    """Whether `block`, or an element between it and `container`, is something other than the article's text."""
    for element in (block, *block.iterancestors()):
        if element is container:
            return False
        if _is_beside_text(element):
            return True
    return False


# Script-only pages ------------------------------------------------------------------------------------------

_BODY_KEYS = ("articleBody", "body", "content", "bodyText", "text", "blocks", "contents")
_TEXT_KEYS = frozenset({"text", "textContent", "content", "value", "html", "articleBody", "bodyText", "body"})
_PAYLOAD_SCRIPTS = "//script[@id='__NEXT_DATA__' or @id='__NUXT_DATA__' or @type='application/json']"
_MAX_PAYLOAD_CHARS = 5_000_000
_TAG = re.compile(r"<[^>]{0,2000}>")


def payload_text(tree: lxml_html.HtmlElement) -> str:
    """The article text a page carries only in its scripts: JSON-LD `articleBody`, else the body of the article
    object in `__NEXT_DATA__` or a similar JSON payload (its text fields only, each paragraph once)."""
    best = ""
    for data in json_scripts(tree, "//script[@type='application/ld+json']"):
        for node in _dicts(data):
            body = node.get("articleBody")
            if isinstance(body, str) and len(body) > len(best):
                best = body
    if len(best) >= MIN_TEXT_CHARS:
        return _paragraphs(best)
    for data in json_scripts(tree, _PAYLOAD_SCRIPTS):
        for node in _dicts(data):
            if not _looks_like_article(node):
                continue
            for key in _BODY_KEYS:
                if key in node:
                    text = "\n".join(_without_repeats(list(_text_fields(node[key]))))
                    if len(text) > len(best):
                        best = text
    return best[:MAX_TEXT_CHARS] if len(best) >= MIN_TEXT_CHARS else ""


def json_scripts(tree: lxml_html.HtmlElement, xpath: str) -> Iterator[object]:
    """The parsed JSON of the page's scripts that `xpath` finds (at most 20; unreadable or huge ones skipped)."""
    for script in tree.xpath(xpath)[:20]:
        raw = script.text_content() or ""
        if len(raw) > _MAX_PAYLOAD_CHARS:
            continue
        try:
            yield json.loads(raw)
        except (ValueError, RecursionError):
            continue


def _dicts(data: object) -> Iterator[dict]:
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def _looks_like_article(node: dict) -> bool:
    """An article object: it names a headline or title beside its body."""
    return any(isinstance(node.get(k), str) for k in ("headline", "title", "headlineText")) or (
        isinstance(node.get("body"), dict | list) and "__typename" in node
    )


def _text_fields(value: object) -> Iterator[str]:
    """The prose of an article body: strings under text-like keys (or the body itself), markup removed."""
    if isinstance(value, str):
        yield from _paragraphs(value).split("\n") if value.strip() else ()
        return
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            for key, child in reversed(list(node.items())):
                if key in _TEXT_KEYS and isinstance(child, str):
                    stack.append(("text", child))
                elif isinstance(child, dict | list):
                    stack.append(child)
        elif isinstance(node, tuple):
            for line in _paragraphs(node[1]).split("\n"):
                if len(line.split()) >= 3:  # a label, a type name or an id is no prose
                    yield line


def _paragraphs(text: str) -> str:
    """Text with any markup turned into one line per block."""
    if "<" in text and _TAG.search(text):
        try:
            fragment = lxml_html.fragment_fromstring(text, create_parent="div")
        except (lxml_html.etree.ParserError, ValueError):
            return _line_key(_TAG.sub(" ", text))
        blocks = _outer_blocks(fragment)
        if blocks:
            return "\n".join(k for k in (_line_key(b.text_content()) for b in blocks) if k)
        return _line_key(fragment.text_content())
    return "\n".join(k for k in (_line_key(line) for line in text.split("\n")) if k)
