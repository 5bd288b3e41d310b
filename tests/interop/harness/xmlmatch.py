"""Stanza templates: what `expect` steps compare received stanzas against.

A template is XML, written the way the stanza looks on a client stream (default namespace
`jabber:client`, RFC 6120 §4.8.3), in the spirit of Prosody's scansion:

    <message from='alice@alpha.test/*' type='chat'><body>hello</body></message>

A received element matches a template when
  - the qualified names are equal,
  - every attribute of the template is present with an equal value; a value containing `*` is
    a glob (`fnmatch`), so `from='alice@alpha.test/*'` accepts any resource and `id='*'` only
    asks that the attribute be there,
  - the template's text, if it has any non-blank text, equals the received text (stripped; globs
    allowed),
  - every child of the template matches a distinct child of the received element (in any order).
Attributes and children the template does not mention are ignored.

A matcher may also be a predicate `f(element) -> bool`, with a description for messages.
"""

import fnmatch
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Callable, Union

from .errors import HarnessError

CLIENT_NS = "jabber:client"


def parse_template(xml: str, default_ns: str = CLIENT_NS) -> ET.Element:
    """Parse one element written with `default_ns` as its default namespace."""
    try:
        wrapper = ET.fromstring(f"<wrapper xmlns='{default_ns}'>{xml}</wrapper>")
    except ET.ParseError as e:
        raise HarnessError(f"template is not well-formed XML ({e}): {xml}") from e
    children = list(wrapper)
    if len(children) != 1 or (wrapper.text or "").strip() or (children[0].tail or "").strip():
        raise HarnessError(f"a template must be exactly one element: {xml}")
    return children[0]


def _value_matches(pattern: str, value: str) -> bool:
    if "*" in pattern:
        return fnmatch.fnmatchcase(value, pattern)
    return pattern == value


def matches(template: ET.Element, element: ET.Element) -> bool:
    if template.tag != element.tag:
        return False
    for name, value in template.attrib.items():
        got = element.get(name)
        if got is None or not _value_matches(value, got):
            return False
    text = (template.text or "").strip()
    if text and not _value_matches(text, (element.text or "").strip()):
        return False
    used: set[int] = set()
    for want in template:
        for i, child in enumerate(element):
            if i not in used and matches(want, child):
                used.add(i)
                break
        else:
            return False
    return True


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        return ns, local
    return "", tag


def _attr_name(name: str) -> str:
    ns, local = _split(name)
    if ns == "http://www.w3.org/XML/1998/namespace":
        return "xml:" + local
    return local if not ns else f"{{{ns}}}{local}"


def to_xml(element: ET.Element, parent_ns: str = CLIENT_NS) -> str:
    """Compact XML with an xmlns only where the namespace changes (for messages)."""
    ns, local = _split(element.tag)
    parts = [f"<{local}"]
    if ns != parent_ns:
        parts.append(f" xmlns='{ns}'")
    for name, value in element.attrib.items():
        parts.append(f" {_attr_name(name)}='{_escape(value, attr=True)}'")
    inner = _escape(element.text or "") + "".join(to_xml(c, ns) + _escape(c.tail or "")
                                                  for c in element)
    parts.append(f">{inner}</{local}>" if inner else "/>")
    return "".join(parts)


def _escape(s: str, attr: bool = False) -> str:
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace("'", "&apos;") if attr else s


Predicate = Callable[[ET.Element], bool]


@dataclass
class Matcher:
    """A template or a predicate, with how to describe it in messages."""
    test: Predicate
    description: str

    def __call__(self, element: ET.Element) -> bool:
        return self.test(element)


MatcherLike = Union[str, ET.Element, Predicate, Matcher]


def make_matcher(spec: MatcherLike, description: str | None = None) -> Matcher:
    """A Matcher from a template string, a parsed template, a predicate or a Matcher."""
    if isinstance(spec, Matcher):
        return spec
    if isinstance(spec, str):
        template = parse_template(spec)
        return Matcher(lambda el: matches(template, el), description or spec)
    if isinstance(spec, ET.Element):
        return Matcher(lambda el: matches(spec, el), description or to_xml(spec))
    if callable(spec):
        return Matcher(spec, description or getattr(spec, "__name__", "predicate"))
    raise HarnessError(f"not a matcher: {spec!r}")
