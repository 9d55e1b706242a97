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

from warehouse_tui.errors import InvalidInput
from warehouse_tui.scan.gtin import gs1_check_digit, has_valid_check_digit

if TYPE_CHECKING:
    from biip.gs1_digital_link_uris import GS1DigitalLinkURI

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
        low, _, high = first.partition("-")
        for number in range(int(low), int(high or low) + 1):
            ai = f"{number:0{len(low)}d}"
            rules[ai] = AiRule(ai, tuple(components), tuple(req), tuple(ex), key or ai in _OTHER_KEYS, title.strip())
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


def check_message(elements: Sequence[tuple[str, str]]) -> None:
    """Refuse (Gs1Refused) a parsed message that breaks a rule of the Syntax Dictionary.

    `elements` are the (AI, value) pairs in scan order. Checked: an AI given
    twice with different values, each component's check digit (csum) and
    country code (iso3166, iso3166999), invalid pairs (ex=), and — when the
    symbol carries an identification key — mandatory associations (req=).
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
    for ai in present:
        rule = rules.get(ai)
        for group in rule.req if rule else ():
            if not any(all(any(_matches(other, p) for other in present) for p in alt) for alt in group):
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

    try:
        uri = GS1DigitalLinkURI.parse(text)
    except (BiipException, ValueError, ArithmeticError, LookupError) as exc:
        raise refused("this GS1 Digital Link does not read as GS1 data") from exc
    if not uri.element_strings:
        raise refused("this GS1 Digital Link holds no data")
    return uri
