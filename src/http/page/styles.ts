import { createHash } from 'node:crypto'

/**
 * The page's one stylesheet, sent in its one `<style>` element and allowed by its hash in the
 * Content-Security-Policy (no `'unsafe-inline'`): so nothing else styles the page, and no inline
 * `style=` attribute is used anywhere. Colours are custom properties switched by
 * `prefers-color-scheme`; the charts' SVG takes them through classes, so they follow the theme.
 */
export const PAGE_CSS = `
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--fg:#1b1f24;--muted:#59626e;--border:#d5dae1;--grid:#e7eaef;--accent:#0b5cbd;
--code:#eef1f5;--c1:#1f6feb;--c2:#c2410c;--c3:#15803d;--c4:#7c3aed;--ok:#15803d;--warn:#a15c07;--crit:#c81e1e;--info:#59626e}
@media (prefers-color-scheme:dark){:root{--bg:#0f1115;--card:#171a21;--fg:#e6e8eb;--muted:#9aa4b2;--border:#2c323d;--grid:#232832;
--accent:#6cb6ff;--code:#0b0d11;--c1:#58a6ff;--c2:#f0883e;--c3:#3fb950;--c4:#bc8cff;--ok:#3fb950;--warn:#d29922;--crit:#f85149;--info:#9aa4b2}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0 auto;max-width:1240px;padding:16px;background:var(--bg);color:var(--fg);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;overflow-wrap:anywhere}
h1{font-size:1.5rem;margin:0 0 4px}
h2{font-size:1.15rem;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--border)}
a{color:var(--accent)}
p{margin:6px 0}
.muted,.note{color:var(--muted)}
.note{font-size:.9rem}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:14px 0 0;padding:0;list-style:none}
.stats li{background:var(--card);border:1px solid var(--border);border-radius:8px;padding:8px 12px}
.stats .label{display:block;color:var(--muted);font-size:.8rem}
.stats .value{display:block;font-size:1.2rem;font-weight:600;font-variant-numeric:tabular-nums}
.stats .sub{display:block;color:var(--muted);font-size:.8rem}
.verdict{background:var(--card);border:1px solid var(--border);border-left:5px solid var(--info);border-radius:8px;padding:10px 14px}
.verdict.ok{border-left-color:var(--ok)}.verdict.warn{border-left-color:var(--warn)}.verdict.bad{border-left-color:var(--crit)}
.verdict.off{border-left-color:var(--border);color:var(--muted)}
.verdict .headline{font-weight:600;margin:0}
.verdict ul{margin:6px 0 0;padding-left:20px}
.flag{display:block;margin:8px 0 0;padding:8px 10px;background:var(--code);border:1px solid var(--border);border-radius:6px;
font:.95rem/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;user-select:all;white-space:pre-wrap;overflow-wrap:anywhere}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr));gap:14px}
.chart{margin:0;background:var(--card);border:1px solid var(--border);border-radius:8px;padding:10px 12px;min-width:0}
.chart figcaption{font-weight:600;margin-bottom:4px}
.chart svg{display:block;width:100%;height:auto}
.chart text{fill:var(--muted);font-size:12px}
.grid{stroke:var(--grid);stroke-width:1}
.frame,.tick{stroke:var(--border);stroke-width:1}
.line{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
.line.c1{stroke:var(--c1)}.line.c2{stroke:var(--c2)}.line.c3{stroke:var(--c3)}.line.c4{stroke:var(--c4)}
.ref{stroke-width:1.5}
.ref-limit{stroke:var(--crit)}
.ref-critical{stroke:var(--crit);stroke-dasharray:7 4}
.ref-warn{stroke:var(--warn);stroke-dasharray:7 4}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:6px 0 0;padding:0;list-style:none;font-size:.85rem}
.key{display:inline-block;width:16px;height:0;border-top:3px solid var(--muted);vertical-align:middle;margin-right:6px}
.key.c1{border-top-color:var(--c1)}.key.c2{border-top-color:var(--c2)}.key.c3{border-top-color:var(--c3)}.key.c4{border-top-color:var(--c4)}
.key.ref-limit{border-top:2px solid var(--crit)}
.key.ref-critical{border-top:2px dashed var(--crit)}
.key.ref-warn{border-top:2px dashed var(--warn)}
.scroll{overflow-x:auto;max-width:100%;background:var(--card);border:1px solid var(--border);border-radius:8px;margin:8px 0}
table{border-collapse:collapse;width:100%;font-size:.88rem}
caption{text-align:left;padding:8px 10px 4px;color:var(--muted);font-size:.85rem}
th,td{padding:5px 10px;text-align:left;border-top:1px solid var(--border);white-space:nowrap;overflow-wrap:normal}
th{font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}
.off{color:var(--muted)}
.failed{color:var(--crit)}
.downloads{margin:0;padding:0;list-style:none}
.downloads>li{background:var(--card);border:1px solid var(--border);border-radius:8px;padding:10px 14px;margin:0 0 10px}
.downloads a{font-weight:600}
footer{margin:28px 0 8px;color:var(--muted);font-size:.85rem}
@media (max-width:560px){body{padding:10px}h1{font-size:1.3rem}.chart{padding:8px}.chart text{font-size:15px}
.stats{grid-template-columns:repeat(2,minmax(0,1fr))}}
`

/** The CSP source that allows exactly {@link PAGE_CSS}: `'sha256-<base64>'` of its text, computed at load. */
export const PAGE_CSS_HASH = `'sha256-${createHash('sha256').update(PAGE_CSS, 'utf8').digest('base64')}'`

/**
 * The page's Content-Security-Policy: nothing may load (no script, font, frame or connection; an
 * image only as `data:`), the one stylesheet by its hash, no `<base>`, no form posts, no framing.
 */
export const PAGE_CSP = `default-src 'none'; style-src ${PAGE_CSS_HASH}; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`
