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
import json
from typing import Any

import numpy as np

from curriculax.envs.webform.calendar import CALENDAR_FIELDS
from curriculax.envs.webform.engine import CALENDAR_KINDS, VALUE_KINDS, Kind
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
  white-space: nowrap; z-index: 2; }
#cal { position: absolute; box-sizing: border-box; background: #fff; outline: 1px solid #aaa;
  z-index: 1; }
#cal .el { text-align: center; background: #f6f6f6; border: 1px solid #c5c5c5; }
#cal .off { pointer-events: none; opacity: 0.35; }
"""

_SCRIPT = r"""
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
  // Refused (book-flight's Search outlines them in red): an autocomplete box holding a text
  // that is none of its entries, or an instructed autocomplete box or datepicker left empty.
  const shown = (el) => el.closest(".page").style.display !== "none";
  for (const box of document.querySelectorAll("[data-suggest], [data-required]")) {
    if (!shown(box)) continue;
    const rows = document.querySelectorAll(`[data-box="${box.id}"]`);
    const entries = [...rows].map((s) => s.textContent);
    if (box.dataset.suggest !== undefined && box.value && !entries.includes(box.value)) return;
    if (box.dataset.required !== undefined && !box.value) return;
  }
  episode.ended = 1;
  episode.formdata = [...new FormData(form)].map(([k, v]) => [k, String(v)]);
});
// A click on a box leaves the caret after its text, whatever its length (the mock's rule).
for (const box of document.querySelectorAll("input[type=text], input[type=password]")) {
  box.addEventListener("click", () => box.setSelectionRange(box.value.length, box.value.length));
}
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
// The datepicker's calendar as jQuery UI's runs it: the box gaining the focus opens a closed
// calendar on its date's month (else the start), clamped into the range; Prev and Next step
// (disabled at the ends: pointer-events none); a day writes mm/dd/yyyy and closes it; a press
// outside the calendar and its box closes it; keys and blurs do not.
const cal = window.cal = {month: -1};
const calDiv = document.getElementById("cal");
if (calDiv) {
  const g = JSON.parse(calDiv.dataset.geometry);
  const picker = document.getElementById(calDiv.dataset.picker);
  const NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December"];
  const two = (n) => String(n).padStart(2, "0");
  const draw = () => {
    calDiv.style.display = cal.month < 0 ? "none" : "block";
    if (cal.month < 0) return;
    const year = Math.floor(cal.month / 12), m = cal.month % 12;
    const first = new Date(year, m, 1).getDay(), days = new Date(year, m + 1, 0).getDate();
    const weeks = Math.floor((first + days - 1) / 7) + 1;
    calDiv.style.height = `${g.base_height + g.pitch_y * weeks}px`;
    document.querySelector("[data-cal=title]").textContent = `${NAMES[m]} ${year}`;
    document.querySelector("[data-cal=prev]").classList.toggle("off", cal.month <= g.first);
    document.querySelector("[data-cal=next]").classList.toggle("off", cal.month >= g.last);
    for (const d of document.querySelectorAll("[data-day]")) {
      const day = Number(d.dataset.day), cell = first + day - 1;
      d.style.display = day <= days ? "block" : "none";
      d.style.left = `${g.grid_x - g.x + g.pitch_x * (cell % 7)}px`;
      d.style.top = `${g.grid_y - g.y + g.pitch_y * Math.floor(cell / 7)}px`;
    }
  };
  picker.addEventListener("focus", () => {
    if (cal.month >= 0) return;
    const date = /^(\d\d)\/(\d\d)\/(\d\d\d\d)$/.exec(picker.value);
    const month = date ? Number(date[3]) * 12 + Number(date[1]) - 1 : g.start;
    cal.month = Math.min(Math.max(month, g.first), g.last);
    draw();
  });
  // Prev and Next redraw the month and give the focus back to the box, as jQuery UI does.
  document.querySelector("[data-cal=prev]").addEventListener("click", () => {
    cal.month = Math.max(cal.month - 1, g.first); draw(); picker.focus();
  });
  document.querySelector("[data-cal=next]").addEventListener("click", () => {
    cal.month = Math.min(cal.month + 1, g.last); draw(); picker.focus();
  });
  for (const d of document.querySelectorAll("[data-day]")) {
    d.addEventListener("click", () => {
      const year = Math.floor(cal.month / 12), m = cal.month % 12 + 1;
      picker.value = `${two(m)}/${two(Number(d.dataset.day))}/${year}`;
      cal.month = -1; draw();
    });
  }
  document.addEventListener("mousedown", (e) => {
    if (cal.month >= 0 && !calDiv.contains(e.target) && e.target !== picker) {
      cal.month = -1; draw();
    }
  });
  draw();
}
show(0);
"""


def _pos(box: np.ndarray, dx: int = 0, dy: int = 0, size: bool = True) -> str:
    x, y, w, h = (int(v) for v in box)
    style = f"left:{x + dx}px;top:{y + dy}px;"
    return style + (f"width:{w}px;height:{h}px;" if size else "")


def _calendar_html(lv: dict[str, np.ndarray], picker: int) -> str:
    """The datepicker's calendar: a hidden ``<div id="cal">`` holding its rows.

    Its Prev, Next, title and day rows (``e<row>``) are placed inside it; the page's script
    shows it and lays out the month.
    """
    c = {name: int(v) for name, v in zip(CALENDAR_FIELDS, lv["calendar"], strict=True)}
    kind, box = lv["kind"], lv["box"]
    rows = []
    for j in np.flatnonzero(np.isin(kind, [int(k) for k in CALENDAR_KINDS])):
        k = Kind(int(kind[j]))
        if k == Kind.DAY:
            day = int(lv["number"][j])
            size = f"width:{c['cell_width']}px;height:{c['cell_height']}px;"
            rows.append(f'<div id="e{j}" class="el" data-day="{day}" style="{size}">{day}</div>')
            continue
        name = {Kind.CAL_PREV: "prev", Kind.CAL_NEXT: "next", Kind.CAL_TITLE: "title"}[k]
        at = _pos(box[j], dx=-c["x"], dy=-c["y"])
        rows.append(f'<div id="e{j}" class="el" data-cal="{name}" style="{at}">{name}</div>')
    geometry = html.escape(json.dumps(c), quote=True)
    style = f"left:{c['x']}px;top:{c['y']}px;width:{c['width']}px;display:none"
    return (
        f'<div id="cal" data-picker="e{picker}" data-geometry="{geometry}" style="{style}">'
        + "".join(rows)
        + "</div>"
    )


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
        if k in (Kind.PAD, Kind.OPTION, Kind.SUGGESTION, *CALENDAR_KINDS):
            continue
        box, text = lv["box"][i], html.escape(decode(lv["text"][i]))
        out = pages[int(lv["page"][i])]
        ident = f'id="e{i}" class="el" style="{_pos(box)}"'
        if k in VALUE_KINDS:
            kind_name = "password" if k == Kind.PASSWORD else "text"
            extra = {
                Kind.DATE: ' placeholder="mm/dd/yyyy"',
                Kind.AUTOCOMPLETE: " data-suggest",
                Kind.DATEPICKER: " readonly",
            }
            typed = html.escape(decode(value[i], int(value_len[i])), quote=True)
            required = k in (Kind.AUTOCOMPLETE, Kind.DATEPICKER) and int(lv["goal_len"][i]) > 0
            label_x = int(box[0]) - INPUT_X + 8
            out.append(
                f'<span class="lb" style="left:{label_x}px;top:{int(box[1]) + 6}px">{text}</span>'
            )
            out.append(
                f'<input {ident} type="{kind_name}" name="e{i}" maxlength="{lv["value"].shape[1]}" '
                f'value="{typed}"{extra.get(k, "")}{" data-required" if required else ""}>'
            )
            for j in np.flatnonzero((kind == Kind.SUGGESTION) & (lv["owner"] == i)):
                out.append(
                    f'<div id="e{j}" class="el sug" data-box="e{i}" style="{_pos(lv["box"][j])}'
                    f'visibility:hidden">{html.escape(decode(lv["text"][j]))}</div>'
                )
            if k == Kind.DATEPICKER:
                out.append(_calendar_html(lv, i))
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
