"""GS1 rules beyond what biip parses: the Barcode Syntax Dictionary's pairings and linters, and Digital Link URIs.

biip splits a message into element strings and checks each AI's format; it
does not know which AIs may stand together. GS1's Barcode Syntax Dictionary
(vendored unchanged in `data/`, see `data/README.md`) does: `ex=` lists the
invalid pairs, `req=` the mandatory associations ("AI (37) needs AI (00) and
(02)"), and each component names the linters its value must pass. This module
reads those rules from the file and checks a parsed message against them.

Mandatory associations are checked on a symbol that carries an identification
key (SSCC, GTIN, …). A symbol without one — a second GS1-128 with only
(17)(10) beside the GTIN symbol on the same label — is checked together with
the key scanned before it by the workflow (the label must belong to the item
in hand), as the dictionary asks for data from several carriers of one item.
The General Specifications apply mandatory associations to the whole label,
not to one barcode: a logistic label often prints the SSCC (00) in a barcode
of its own and (02)(37)(10) in another. The AIs the same label already gave
for the unit in hand (`label_ais`, from the workflow: the SSCC or LPN taken
for the line) count towards them; invalid pairs (ex=) stay a matter of the
one barcode.

A failure is `Gs1Refused`: the resolver recognised GS1 data and refused it, so
it never becomes a new tote, a lot or any other code. Lint-level failures (a
(422) that is no ISO 3166 country, a GLN with a wrong check digit) are refused
too, not accepted with a warning: DESIGN §4 knows two outcomes for a scan,
resolved or "a clear error on screen, a bell, and nothing recorded", and §10
asks that bad input change nothing; a label that fails GS1's own checks is not
trusted for the GTIN, lot or expiry it also carries.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

from typing import TYPE_CHECKING

from drivers.base import GS
from warehouse_tui.errors import InvalidInput
from warehouse_tui.scan.gtin import gs1_check_digit, has_valid_check_digit

if TYPE_CHECKING:
    from biip.gs1_digital_link_uris import GS1DigitalLinkURI
    from biip.gs1_messages import GS1Message

AGAIN = "scan another label"


class Gs1Refused(InvalidInput):
    """A scan recognised as GS1 data and refused: never a new code, never a free value as it stands."""


def refused(reason: str) -> Gs1Refused:
    return Gs1Refused(f"Not a valid GS1 barcode: {reason} — {AGAIN}")


# --------------------------------------------------------------------------- the syntax dictionary


@dataclass(frozen=True)
class _Component:
    numeric: bool
    length: int
    variable: bool
    optional: bool
    linters: tuple[str, ...]


@dataclass(frozen=True)
class AiRule:
    """What the Syntax Dictionary says about one AI."""

    ai: str
    components: tuple[_Component, ...]
    req: tuple[tuple[tuple[str, ...], ...], ...]   # every group must hold; a group is alternatives of AND-ed patterns
    ex: tuple[str, ...]                             # patterns this AI may not stand with
    key: bool                                       # an identification key (dlpkey): the symbol stands alone
    title: str
    qualifiers: tuple[frozenset[str], ...] = ()     # Digital Link path qualifiers of a key: dlpkey=22,10,21|235


_COMPONENT = re.compile(r"(\[)?([NXYZ])(\.\.)?([0-9]+)(\])?((?:,[a-z0-9]+)*)")
# Keys that other AIs' `req=` name without being Digital Link primary keys themselves.
_OTHER_KEYS = frozenset({"02", "03", "8026"})


@functools.cache
def syntax_dictionary() -> dict[str, AiRule]:
    """Every AI of the vendored GS1 Barcode Syntax Dictionary, ranges expanded ("3100-3105" -> six AIs)."""
    text = resources.files("warehouse_tui.scan").joinpath("data/gs1-syntax-dictionary.txt").read_text("utf-8")
    rules: dict[str, AiRule] = {}
    for line in text.splitlines():
        body, _, title = line.partition("#")
        tokens = body.split()
        if not tokens:
            continue
        first, rest = tokens[0], tokens[1:]
        if rest and not _COMPONENT.fullmatch(rest[0]) and "=" not in rest[0] and rest[0] != "dlpkey":
            rest = rest[1:]  # the flags column
        components: list[_Component] = []
        req: list[tuple[tuple[str, ...], ...]] = []
        ex: list[str] = []
        key = False
        qualifiers: list[frozenset[str]] = []
        for token in rest:
            if match := _COMPONENT.fullmatch(token):
                components.append(_Component(match[2] == "N", int(match[4]), bool(match[3]), bool(match[1]),
                                             tuple(filter(None, match[6].split(",")))))
            elif token.startswith("req="):
                req.append(tuple(tuple(alt.split("+")) for alt in token[4:].split(",")))
            elif token.startswith("ex="):
                ex.extend(token[3:].split(","))
            elif token.startswith("dlpkey"):
                key = True
                qualifiers.extend(frozenset(alt.split(",")) for alt in token[7:].split("|") if alt)
        low, _, high = first.partition("-")
        for number in range(int(low), int(high or low) + 1):
            ai = f"{number:0{len(low)}d}"
            rules[ai] = AiRule(ai, tuple(components), tuple(req), tuple(ex), key or ai in _OTHER_KEYS, title.strip(),
                               tuple(qualifiers))
    return rules


@functools.cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 num-3 codes, as the dictionary's iso3166 linter accepts them."""
    text = resources.files("warehouse_tui.scan").joinpath("data/iso3166-num3.txt").read_text("ascii")
    return frozenset(code for line in text.splitlines() if not line.startswith("#") for code in line.split())


def _matches(ai: str, pattern: str) -> bool:
    # "394n" is any AI 3940-3949, "31nn" any 3100-3199.
    return len(ai) == len(pattern) and all(p in ("n", a) for a, p in zip(ai, pattern, strict=True))


def _named(alternative: Iterable[str]) -> str:
    return " and ".join(f"({p})" for p in alternative)


def _needs(group: tuple[tuple[str, ...], ...]) -> str:
    """A req= group in words: "(00) and (02) or (8026)", "(01), (02) or (03)"."""
    common = [p for p in group[0] if all(p in alt for alt in group)]
    rests = [[p for p in alt if p not in common] for alt in group]
    if all(len(rest) == 1 for rest in rests):
        choices = [f"({rest[0]})" for rest in rests]
        either = choices[0] if len(choices) == 1 else ", ".join(choices[:-1]) + " or " + choices[-1]
        return "".join(f"({p}) and " for p in common) + either
    return ", or ".join(_named(alt) for alt in group)


# --------------------------------------------------------------------------- checking a message


def check_message(elements: Sequence[tuple[str, str]], label_ais: frozenset[str] = frozenset()) -> None:
    """Refuse (Gs1Refused) a parsed message that breaks a rule of the Syntax Dictionary.

    `elements` are the (AI, value) pairs in scan order. Checked: an AI given
    twice with different values, each component's check digit (csum) and
    country code (iso3166, iso3166999), invalid pairs (ex=), and — when the
    symbol carries an identification key — mandatory associations (req=).
    `label_ais` are AIs another barcode of the same label already gave for the
    unit in hand (e.g. {"00"} once the pallet's SSCC is scanned): they satisfy
    mandatory associations, and nothing else.
    """
    rules = syntax_dictionary()
    seen: dict[str, str] = {}
    for ai, value in elements:
        if seen.setdefault(ai, value) != value:
            raise refused(f"AI ({ai}) appears twice with different values")
        if (rule := rules.get(ai)) is not None:
            _lint(rule, value)
    present = list(seen)
    for ai in present:
        rule = rules.get(ai)
        if rule is None:
            continue
        for pattern in rule.ex:
            clash = next((other for other in present if other != ai and _matches(other, pattern)), None)
            if clash is not None:
                raise refused(f"AI ({ai}) cannot be used with AI ({clash})")
    if not any(rules[ai].key for ai in present if ai in rules):
        return
    on_label = [*present, *(ai for ai in label_ais if ai not in seen)]
    for ai in present:
        rule = rules.get(ai)
        for group in rule.req if rule else ():
            if not any(all(any(_matches(other, p) for other in on_label) for p in alt) for alt in group):
                raise refused(f"AI ({ai}) needs AI {_needs(group)}")


def _lint(rule: AiRule, value: str) -> None:
    # The dictionary's linters that a warehouse scan can break and biip does not check: check digits (GLNs in
    # 410-417, GSIN, GRAI …) and country codes (422-426 …). Dates are checked by biip and parse_expiry; the
    # other linters (IBAN, coupon, media type, piece-of-total …) concern AIs the warehouse never reads.
    position = 0
    for component in rule.components:
        if position >= len(value) and component.optional:
            break
        part = value[position:] if component.variable else value[position:position + component.length]
        position += len(part)
        for linter in component.linters:
            if linter == "csum" and part.isdigit() and not has_valid_check_digit(part):
                raise refused(f"AI ({rule.ai}) {part} has a wrong check digit "
                              f"(should end in {gs1_check_digit(part[:-1])})")
            if linter in ("iso3166", "iso3166999") and part not in country_codes() and not (
                    linter == "iso3166999" and part == "999"):
                raise refused(f"AI ({rule.ai}) {part} is not a country code")


# --------------------------------------------------------------------------- Digital Link


def looks_like_uri(text: str) -> bool:
    return text[:8].lower().startswith(("http://", "https://"))


def is_digital_link(text: str) -> bool:
    """Whether this URI names a GS1 key in its path (`…/01/09501101530003`): GS1 data, whether or not it parses."""
    try:
        segments = urlsplit(text).path.split("/")
    except ValueError:
        return False
    keys = _digital_link_keys()
    return any(segment in keys for segment in segments[:-1])


@functools.cache
def _digital_link_keys() -> frozenset[str]:
    return frozenset(ai for ai, rule in syntax_dictionary().items() if rule.key)


def parse_digital_link(text: str) -> GS1DigitalLinkURI:
    """The GS1 Digital Link URI parsed by biip (its element strings read like a message's), or Gs1Refused."""
    from biip import BiipException
    from biip.gs1_digital_link_uris import GS1DigitalLinkURI

    _check_digital_link_form(text)
    try:
        uri = GS1DigitalLinkURI.parse(text)
    except (BiipException, ValueError, ArithmeticError, LookupError) as exc:
        raise refused("this GS1 Digital Link does not read as GS1 data") from exc
    if not uri.element_strings:
        raise refused("this GS1 Digital Link holds no data")
    return uri


def _check_digital_link_form(text: str) -> None:
    """What GS1's Digital Link syntax forbids and biip lets through: a mixed-case scheme, and query
    attributes that are empty, repeated, unknown AIs, keys, or qualifiers that belong in the path."""
    scheme = text.split(":", 1)[0]
    if scheme not in ("http", "https", "HTTP", "HTTPS"):
        raise refused(f"a Digital Link starts with http or https, not {scheme}")
    parts = urlsplit(text)
    rules = syntax_dictionary()
    segments = parts.path.split("/")
    start = next((n for n, segment in enumerate(segments[:-1]) if segment in _digital_link_keys()), None)
    primary = segments[start] if start is not None else None
    in_path = set(segments[start + 2::2]) if start is not None else set()
    # The qualifiers that belong in the path: those of the alternative the path uses (all when it uses none).
    path_only: set[str] = set()
    for alternative in rules[primary].qualifiers if primary else ():
        if not in_path or in_path & alternative:
            path_only |= alternative
    seen: set[str] = set()
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        if not key.isdigit():
            continue  # other query parameters are the web's business
        rule = rules.get(key)
        if rule is None:
            raise refused(f"this Digital Link holds an unknown AI ({key})")
        if not value:
            raise refused(f"AI ({key}) in this Digital Link holds no value")
        if key in seen:
            raise refused(f"AI ({key}) appears twice in this Digital Link")
        seen.add(key)
        if key == primary or key in path_only or key in in_path:
            raise refused(f"AI ({key}) belongs in the path of this Digital Link, not after the ?")


# --------------------------------------------------------------------------- recognising and parsing a GS1 scan

# AIM identifiers (without "]") whose data is a GS1 element string message.
GS1_SYMBOLOGIES = frozenset({"C1", "e0", "e1", "e2", "d2", "Q3", "J1"})

_HRI_START = re.compile(r"\([0-9]{2,4}\)")
# The whole bracketed form: biip's parse_hri would silently drop whitespace and stray tails.
_HRI_WHOLE = re.compile(r"(?:\([0-9]{2,4}\)[^()\s\x1d]+)+")
# The cheap test before asking biip about an unmarked string: somewhere an AI 01/02 + 14 digits or 00 + 18.
_IMPLICIT_GS1_HINT = re.compile(r"0[12][0-9]{14}|00[0-9]{18}")
# An unmarked string that starts so is GS1 data: if it does not parse or check, it is refused, never a new code.
_GS1_LOOKING = re.compile(r"0[12][0-9]{14}|00[0-9]{18}")
_BIIP_AI = re.compile(r"AI \(([0-9]{2,4})\)")


def load_gs1() -> tuple[type, type]:
    """biip's GS1Message and BiipException, imported on first use, and the Syntax Dictionary read with them
    (a tenth of a second together, which the app spends while the login screen waits: `App._load_the_rest`)."""
    from biip import BiipException
    from biip.gs1_messages import GS1Message

    syntax_dictionary()
    return GS1Message, BiipException


def explicit_form(text: str, symbology: str | None) -> str | None:
    """How the scan declares itself GS1: "hri" (bracketed), "gs" (separators), "dl" (a GS1 Digital Link URI),
    "aim" (identifier), or None."""
    if looks_like_uri(text) and is_digital_link(text):
        return "dl"
    if _HRI_START.match(text):
        return "hri"
    if GS in text:
        return "gs"
    if symbology in GS1_SYMBOLOGIES:
        return "aim"
    return None


def parse_explicit(text: str, form: str) -> GS1Message:
    """The message of a scan that declares itself GS1 (`explicit_form`), or Gs1Refused."""
    if not text.isascii():
        raise refused("it holds characters GS1 does not allow")
    if form == "dl":
        return parse_digital_link(text)
    if form == "hri" and not _HRI_WHOLE.fullmatch(text):
        raise refused("write it as (AI)value(AI)value")
    gs1_message, biip_error = load_gs1()
    try:
        message = gs1_message.parse_hri(text) if form == "hri" else gs1_message.parse(text)
    except (biip_error, ValueError, ArithmeticError, LookupError) as exc:
        raise refused(biip_reason(exc)) from exc
    if not message.element_strings:
        raise refused("it holds no data")
    return message


def biip_reason(exc: Exception) -> str:
    """What biip refused, in an operator's words: the AI when biip names one."""
    ai = _BIIP_AI.search(str(exc))
    return f"AI ({ai[1]}) holds a value GS1 does not allow" if ai else "it does not read as GS1 data"


def starts_as_gs1(text: str) -> bool:
    """Whether an unmarked scan starts as GS1 data does: AI 00 + 18 digits or 01/02 + 14 digits."""
    return _GS1_LOOKING.match(text) is not None


def implicit_message(text: str) -> GS1Message | None:
    """The GS1 message an unmarked scan is, if it parses whole and carries a valid GTIN or SSCC.

    A scan that starts with AI 00 + 18 digits or 01/02 + 14 digits is GS1 data
    whatever follows: if it does not parse it is refused (Gs1Refused), and a bad
    check digit is refused when its fields are read, so it never becomes a new
    tote or LPN.
    """
    if not (text[:2].isdigit() and text.isascii() and _IMPLICIT_GS1_HINT.search(text)):
        return None
    looks_gs1 = starts_as_gs1(text)
    gs1_message, biip_error = load_gs1()
    try:
        message = gs1_message.parse(text)
    except (biip_error, ValueError, ArithmeticError, LookupError) as exc:
        if looks_gs1:
            raise refused(biip_reason(exc)) from exc
        return None
    for element in message.element_strings:
        if element.ai.ai in ("00", "01", "02") and has_valid_check_digit(element.value):
            return message
    return message if looks_gs1 else None
