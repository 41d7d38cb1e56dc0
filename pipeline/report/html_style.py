"""The HTML report's one inline stylesheet: system fonts only, nothing fetched."""

from __future__ import annotations

STYLE = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --soft: #f6f8fa;
        --del: #ffe0de; --del-ink: #82071e; --ins: #d5f5dc; --ins-ink: #0a4f1f;
        --indication: #3b6fb6; --dose: #c8553d; --threshold: #b8860b; --criterion: #2a9d8f; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", "Liberation Sans", "DejaVu Sans", sans-serif;
       color: var(--ink); max-width: 68rem; margin: 0 auto; padding: 1.5rem 2rem 3rem; line-height: 1.45; }
a { color: #0b5cad; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; background: var(--soft);
       padding: 0 .3em; border-radius: 3px; word-break: break-all; }
header.report { border-bottom: 3px solid var(--ink); padding-bottom: 1rem; margin-bottom: 1.5rem; }
header.report h1 { margin: 0 0 .25rem; font-size: 1.8rem; }
.window { color: var(--muted); margin: 0 0 .75rem; }
.totals { display: flex; gap: 1rem; margin: 0 0 .75rem; padding: 0; flex-wrap: wrap; }
.totals div { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .4rem .9rem; }
.totals dt { font-size: .8rem; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.totals dd { margin: 0; font-size: 1.5rem; font-weight: 600; }
.chips { display: flex; flex-wrap: wrap; gap: .4rem; margin: .5rem 0; padding: 0; list-style: none; }
.chip { border-radius: 999px; padding: .1rem .65rem; font-size: .85rem; color: #fff; white-space: nowrap; }
.f-indication { background: var(--indication); } .f-dose { background: var(--dose); }
.f-threshold { background: var(--threshold); } .f-criterion { background: var(--criterion); }
nav ol { margin: .5rem 0 0; padding-left: 1.4rem; }
section.lcd { margin: 0 0 2.5rem; }
section.lcd > h2 { margin: 0; font-size: 1.4rem; border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
.lcd-id { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.meta { color: var(--muted); margin: .4rem 0 .8rem; }
.revision-note { color: var(--muted); font-style: italic; margin: .2rem 0 .6rem; }
table.versions { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .92rem; }
table.versions th, table.versions td { border: 1px solid var(--line); padding: .35rem .6rem; text-align: left;
                                        vertical-align: top; }
table.versions th { background: var(--soft); }
figure.plot { margin: 0 0 1.25rem; }
figure.plot svg { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .85rem; }
h3 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
ol.changes { list-style: none; padding: 0; margin: 0; }
li.change { border: 1px solid var(--line); border-left-width: 5px; border-radius: 6px; padding: .6rem .9rem;
            margin: 0 0 .8rem; }
li.change.f-indication { border-left-color: var(--indication); background: none; }
li.change.f-dose { border-left-color: var(--dose); background: none; }
li.change.f-threshold { border-left-color: var(--threshold); background: none; }
li.change.f-criterion { border-left-color: var(--criterion); background: none; }
.change-head { margin: 0 0 .3rem; }
.change-head .chip { margin-right: .4rem; }
.context { color: var(--muted); }
.values { margin: 0 0 .5rem; }
.sentences { display: grid; grid-template-columns: 1fr 1fr; gap: .6rem; }
.sentence { background: var(--soft); border-radius: 4px; padding: .45rem .65rem; margin: 0; }
.sentence h4 { margin: 0 0 .2rem; font-size: .75rem; text-transform: uppercase; letter-spacing: .05em;
               color: var(--muted); }
.sentence p { margin: 0; }
.sentence.absent p { color: var(--muted); font-style: italic; }
del { background: var(--del); color: var(--del-ink); text-decoration: line-through; border-radius: 2px; }
ins { background: var(--ins); color: var(--ins-ink); text-decoration: none; border-radius: 2px; }
ul.children { margin: .4rem 0 0; padding-left: 1.2rem; font-size: .92rem; }
ul.children li { margin: .15rem 0; }
footer { color: var(--muted); font-size: .85rem; border-top: 1px solid var(--line); padding-top: .6rem; }
"""
