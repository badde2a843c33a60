"""What a page shows a person, and whether it comes from the catalogue of the page's language (issue 18): shared by
the browser tests of every page."""

from __future__ import annotations

import re

from dashboard.i18n_api import CATALOGUE

PARAM = re.compile(r"\{\w+\}")
# words that are the same in both languages (acronyms, product names, the language names of the switch)
LATIN_OK = {"SOS", "CAP", "CSV", "Excel", "English", "MQTT"}
# Leaflet's own controls (scale bar units, the library's credit) are the library's, not the hub's strings
SKIP = '[translate="no"], .notranslate, script, style, .leaflet-control-scale, .leaflet-control-attribution'
VISIBLE_TEXT = """(skip) => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const node = walk.currentNode, text = node.textContent.trim(), parent = node.parentElement;
    if (!text || !parent || parent.closest(skip)) continue;
    if (!parent.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    out.push(text);
  }
  for (const input of document.querySelectorAll("input[placeholder]")) {
    if (input.checkVisibility()) out.push(input.placeholder);
  }
  out.push(document.title);
  return out;
}"""


def templates(language: str) -> list[re.Pattern[str]]:
    """Each text of the catalogue as a pattern; a placeholder stands for any value."""
    out = []
    for text in CATALOGUE.messages(language).values():
        literal = PARAM.sub("", text).strip()
        if not literal:
            continue
        parts = [re.escape(p.strip()) for p in PARAM.split(text.strip())]
        out.append(re.compile(r"\s*" + r".*?".join(parts) + r"\s*", re.S))
    return out


def foreign(texts: list[str], language: str) -> list[str]:
    """The texts not from `language`'s catalogue (and, on a Chinese page, those with English words)."""
    patterns = templates(language)
    bad = []
    for text in texts:
        if not re.search(r"[A-Za-z\u3400-\u9fff]", text):
            continue  # numbers, times, punctuation
        if not any(p.fullmatch(text) for p in patterns):
            bad.append(text)
        elif language == "zh-CN":
            words = re.findall(r"[A-Za-z][A-Za-z0-9_-]*", text)
            english = [w for w in words if len(w) >= 3 and not re.search(r"\d", w) and w not in LATIN_OK]
            if english:
                bad.append(text)
    return bad
