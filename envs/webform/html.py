"""Export a form to a real HTML page: the same elements, values and pixel boxes as the table.

Row ``i`` becomes the element with id ``e{i}``: ``<input type=text|password|checkbox|radio>``,
``<select>`` with a ``--`` placeholder and one ``<option>`` per option row, ``<span>`` headings,
``<button>``s for Next, Submit and distractors, each absolutely positioned at its box. Text boxes
carry ``maxlength`` (the table's width C). A date field is a text box with a ``mm/dd/yyyy``
placeholder; an autocomplete field is a text box followed by one ``<div>`` per suggestion, shown
(``visibility``) while it is in the box's open menu (the engine's jQuery UI rules). A small
script runs those menus, fills a box from a clicked suggestion, shows the next page on
Next, records the ``FormData`` on submit and flags a distractor click in ``window.episode``,
which the browser check reads (``browser.py``).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from curriculax.envs.webform.engine import TEXT_KINDS, Kind
from curriculax.envs.webform.layout import INPUT_X
from curriculax.envs.webform.text import decode

_STYLE = """
body { margin: 0; font: 13px "DejaVu Sans Mono", monospace; background: #fff; }
#form { position: relative; width: 640px; }
.page { position: absolute; left: 0; top: 0; width: 640px; height: 100%; }
.el, .lb { position: absolute; box-sizing: border-box; margin: 0; }
input.el[type=text], input.el[type=password] { padding: 2px 4px; border: 1px solid #767676;
  font: inherit; }
select.el { font: inherit; }
button.el { font: inherit; padding: 0; }
.lb { white-space: nowrap; }
.sug { padding: 1px 4px; background: #f4f4f4; border: 1px solid #c5c5c5; cursor: pointer;
  white-space: nowrap; }
"""

_SCRIPT = """
const episode = window.episode = {ended: 0, page: 0, formdata: null};
const form = document.getElementById("form");
function show(p) {
  for (const d of document.querySelectorAll(".page")) {
    d.style.display = Number(d.dataset.page) === p ? "block" : "none";
  }
  episode.page = p;
}
form.addEventListener("submit", (e) => {
  e.preventDefault();
  if (episode.ended) return;
  episode.ended = 1;
  episode.formdata = [...new FormData(form)].map(([k, v]) => [k, String(v)]);
});
for (const b of document.querySelectorAll("[data-next]")) {
  // Chromium blurs a focused element that becomes hidden only at its next frame; blurring here
  // makes the read-back right after the click see the body focused, as the mock does.
  b.addEventListener("click", () => {
    if (episode.ended) return;
    b.blur();
    show(episode.page + 1);
  });
}
for (const b of document.querySelectorAll("[data-distractor]")) {
  b.addEventListener("click", () => { if (!episode.ended) episode.ended = 2; });
}
// Autocomplete menus as jQuery UI runs them: a changed text searches (suggestions holding it
// anywhere, any case; none: closed), the menu closes when its box loses the focus, a pick fills
// the box and closes the menu; pressing a suggestion keeps the focus in the box.
function menu(box, open) {
  const typed = box.value.toLowerCase();
  for (const s of document.querySelectorAll(`[data-box="${box.id}"]`)) {
    const listed = open && typed.length > 0 && s.textContent.toLowerCase().includes(typed);
    s.style.visibility = listed ? "visible" : "hidden";
  }
}
for (const box of document.querySelectorAll("[data-suggest]")) {
  box.addEventListener("input", () => menu(box, true));
  box.addEventListener("blur", () => menu(box, false));
}
for (const s of document.querySelectorAll("[data-box]")) {
  s.addEventListener("mousedown", (e) => e.preventDefault());
  s.addEventListener("click", () => {
    const box = document.getElementById(s.dataset.box);
    box.value = s.textContent;
    menu(box, false);
  });
}
show(0);
"""


def _pos(box: np.ndarray, dx: int = 0, dy: int = 0, size: bool = True) -> str:
    x, y, w, h = (int(v) for v in box)
    style = f"left:{x + dx}px;top:{y + dy}px;"
    return style + (f"width:{w}px;height:{h}px;" if size else "")


def form_html(level: Any, state: Any = None, title: str = "curriculax form") -> str:
    """A standalone HTML page of one form (host side).

    Args:
        level: a ``FormLevel`` of one form (no batch dimension).
        state: an optional ``FormState``: its values, flags and page are written into the page
            (a replay frame); without it, the form as the episode starts.
        title: the page title.

    Returns:
        The HTML text.
    """
    lv = {k: np.asarray(v) for k, v in vars(level).items()}
    kind = lv["kind"]
    value, value_len, on = lv["value"], lv["value_len"], lv["on"]
    page_now = 0
    if state is not None:
        value, value_len = np.asarray(state.value), np.asarray(state.value_len)
        on, page_now = np.asarray(state.on), int(state.page)
    rows = len(kind)
    height = int(max([b[1] + b[3] for b in lv["box"]] + [0])) + 16
    pages: dict[int, list[str]] = {p: [] for p in range(int(lv["num_pages"]))}
    for i in range(rows):
        k = Kind(int(kind[i]))
        if k in (Kind.PAD, Kind.OPTION, Kind.SUGGESTION):
            continue
        box, text = lv["box"][i], html.escape(decode(lv["text"][i]))
        out = pages[int(lv["page"][i])]
        ident = f'id="e{i}" class="el" style="{_pos(box)}"'
        if k in TEXT_KINDS:
            kind_name = "password" if k == Kind.PASSWORD else "text"
            extra = {Kind.DATE: ' placeholder="mm/dd/yyyy"', Kind.AUTOCOMPLETE: " data-suggest"}
            typed = html.escape(decode(value[i], int(value_len[i])), quote=True)
            label_x = int(box[0]) - INPUT_X + 8
            out.append(
                f'<span class="lb" style="left:{label_x}px;top:{int(box[1]) + 6}px">{text}</span>'
            )
            out.append(
                f'<input {ident} type="{kind_name}" name="e{i}" maxlength="{lv["value"].shape[1]}" '
                f'value="{typed}"{extra.get(k, "")}>'
            )
            for j in np.flatnonzero((kind == Kind.SUGGESTION) & (lv["owner"] == i)):
                out.append(
                    f'<div id="e{j}" class="el sug" data-box="e{i}" style="{_pos(lv["box"][j])}'
                    f'visibility:hidden">{html.escape(decode(lv["text"][j]))}</div>'
                )
        elif k == Kind.SELECT:
            label_x = int(box[0]) - INPUT_X + 8
            out.append(
                f'<span class="lb" style="left:{label_x}px;top:{int(box[1]) + 6}px">{text}</span>'
            )
            options = ['<option value="">--</option>']
            for j in np.flatnonzero((kind == Kind.OPTION) & (lv["owner"] == i)):
                selected = " selected" if on[j] else ""
                options.append(
                    f'<option id="e{j}" value="e{j}"{selected}>'
                    f"{html.escape(decode(lv['text'][j]))}</option>"
                )
            out.append(f'<select {ident} name="e{i}">{"".join(options)}</select>')
        elif k in (Kind.CHECKBOX, Kind.RADIO):
            checked = " checked" if on[i] else ""
            if k == Kind.CHECKBOX:
                attrs = f'type="checkbox" name="e{i}" value="on"'
            else:
                attrs = f'type="radio" name="g{int(lv["owner"][i])}" value="e{i}"'
            out.append(f"<input {ident} {attrs}{checked}>")
            out.append(f'<span class="lb" style="{_pos(box, dx=24, size=False)}">{text}</span>')
        elif k == Kind.HEADING:
            out.append(f"<span {ident}><b>{text}</b></span>")
        else:
            attr = {Kind.NEXT: "data-next", Kind.SUBMIT: "", Kind.DISTRACTOR: "data-distractor"}[k]
            kind_name = "submit" if k == Kind.SUBMIT else "button"
            caption = text.capitalize()
            out.append(f'<button {ident} type="{kind_name}" {attr}>{caption}</button>')
    body = "\n".join(
        f'<div class="page" data-page="{p}" style="display:{"block" if p == page_now else "none"}">'
        + "\n".join(items)
        + "</div>"
        for p, items in pages.items()
    )
    script = _SCRIPT.replace("show(0);", f"show({page_now});")
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<style>{_STYLE}</style></head>\n<body><form id="form" autocomplete="off" '
        f'style="height:{height}px">\n{body}\n</form>\n<script>{script}</script>'
        "</body></html>\n"
    )
