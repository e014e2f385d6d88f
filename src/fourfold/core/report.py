"""A self-contained HTML report: sections of text, tables, images and code, with a status badge each.

Used by `fourfold demo` (`runs/demo/report.html`, one section per system) and by the analysis reports. The HTML
file stands alone: inline CSS, images embedded as base64 data URIs, no scripts and no external resources, so it
can be mailed, archived or opened offline on a phone or a laptop. `Report.to_markdown` gives the same content as
Markdown (images referenced by path) for the terminal or the docs.

Example:
    report = Report("fourfold demo")
    gpt = report.add_section("GPT", status="ok", note="trained 200 steps in 41 s")
    gpt.table(["step", "train/loss"], [[0, 10.97], [200, 4.51]])
    gpt.image(Path("runs/gpt/demo/loss.png"), caption="training loss")
    report.add_section("Five", status="not built")
    report.write(Path("runs/demo/report.html"))
"""

from __future__ import annotations

import base64
import contextlib
import html
import math
import numbers
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

Status = Literal["ok", "skipped", "failed", "not built"]
"""How a section's work went; shown as a coloured badge beside its title."""

# Image types a browser shows from a data URI, by file suffix.
_MIME_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}

_CSS = """
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #59636e; --line: #d1d9e0;
  --code: #f6f8fa; --ok: #1a7f37; --skipped: #6e7781; --failed: #cf222e; --notbuilt: #9a6700; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1;
  --line: #3d444d; --code: #161b22; --ok: #3fb950; --skipped: #8b949e; --failed: #f85149; --notbuilt: #d29922; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem; color: var(--fg); background: var(--bg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 0; }
section { border-top: 1px solid var(--line); padding: 1rem 0; }
.head { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; margin-bottom: 0.5rem; }
.badge { display: inline-block; padding: 0.05rem 0.55rem; border-radius: 1rem; color: #fff;
  font-size: 0.8rem; font-weight: 600; white-space: nowrap; }
.ok { background: var(--ok); } .skipped { background: var(--skipped); }
.failed { background: var(--failed); } .not-built { background: var(--notbuilt); }
.note { color: var(--muted); }
nav ul { padding-left: 1.2rem; } nav a { color: inherit; }
.scroll { overflow-x: auto; margin: 0.75rem 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 0.3rem 0.7rem; text-align: left; white-space: nowrap; }
th.num, td.num { text-align: right; }
figure { margin: 0.75rem 0; } img { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 0.9rem; }
pre { background: var(--code); padding: 0.75rem; border-radius: 6px; overflow-x: auto; font-size: 0.85rem; }
.missing { border-left: 4px solid var(--failed); padding: 0.3rem 0.75rem; color: var(--muted); }
"""


@dataclass(frozen=True)
class TextBlock:
    """Plain text; blank lines separate paragraphs."""

    text: str

    def to_html(self) -> str:
        paragraphs = [p.strip() for p in self.text.split("\n\n") if p.strip()]
        return "\n".join(f"<p>{_escape(p)}</p>" for p in paragraphs)

    def to_markdown(self, relative_to: Path | None) -> str:
        return self.text.strip()


@dataclass(frozen=True)
class TableBlock:
    """A table with a header row; numeric columns are right-aligned."""

    header: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]

    def to_html(self) -> str:
        numeric = self._numeric_columns()
        head = "".join(
            f'<th class="num">{_escape(h)}</th>' if numeric[i] else f"<th>{_escape(h)}</th>"
            for i, h in enumerate(self.header)
        )
        body = []
        for row in self.rows:
            cells = "".join(
                f'<td class="num">{_escape(format_cell(v))}</td>'
                if numeric[i]
                else f"<td>{_escape(format_cell(v))}</td>"
                for i, v in enumerate(row)
            )
            body.append(f"<tr>{cells}</tr>")
        rows = "\n".join(body)
        return f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table></div>'

    def to_markdown(self, relative_to: Path | None) -> str:
        numeric = self._numeric_columns()
        lines = [_markdown_row(self.header)]
        lines.append("| " + " | ".join("---:" if n else "---" for n in numeric) + " |")
        lines.extend(_markdown_row([format_cell(v) for v in row]) for row in self.rows)
        return "\n".join(lines)

    def _numeric_columns(self) -> list[bool]:
        return [bool(self.rows) and all(_is_number(row[i]) for row in self.rows) for i in range(len(self.header))]


@dataclass(frozen=True)
class ImageBlock:
    """An image file, embedded into the HTML when the report is rendered."""

    path: Path
    caption: str

    def to_html(self) -> str:
        caption = f"<figcaption>{_escape(self.caption)}</figcaption>" if self.caption else ""
        mime = _MIME_TYPES.get(self.path.suffix.lower())
        if mime is None:
            return _missing(f"image {self.path} is not a PNG, JPEG or GIF file, so it was not embedded", caption)
        try:
            data = self.path.read_bytes()
        except OSError as error:
            reason = "does not exist" if isinstance(error, FileNotFoundError) else f"could not be read ({error})"
            return _missing(f"image {self.path} {reason}", caption)
        uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        alt = _escape(self.caption or self.path.name)
        return f'<figure><img src="{uri}" alt="{alt}">{caption}</figure>'

    def to_markdown(self, relative_to: Path | None) -> str:
        target = self.path
        if relative_to is not None:
            # relpath fails across Windows drives; the path is then kept as given.
            with contextlib.suppress(ValueError):
                target = Path(os.path.relpath(self.path, relative_to))
        line = f"![{self.caption or self.path.name}]({target.as_posix()})"
        return f"{line}\n\n*{self.caption}*" if self.caption else line


@dataclass(frozen=True)
class CodeBlock:
    """Preformatted text such as a generated sample or a command line."""

    code: str

    def to_html(self) -> str:
        return f"<pre><code>{_escape(self.code)}</code></pre>"

    def to_markdown(self, relative_to: Path | None) -> str:
        # The fence must be longer than any run of backticks in the code.
        longest = max((len(run) for run in re.findall("`+", self.code)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"{fence}\n{self.code.rstrip()}\n{fence}"


Block = TextBlock | TableBlock | ImageBlock | CodeBlock


@dataclass
class Section:
    """One titled part of a report, with a status badge, an optional note and blocks shown in order."""

    title: str
    status: Status = "ok"
    note: str = ""
    blocks: list[Block] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in get_args(Status):
            choices = ", ".join(repr(s) for s in get_args(Status))
            raise ValueError(f"section {self.title!r}: status must be one of {choices}, got {self.status!r}")

    def text(self, text: str) -> Section:
        """Add plain text (HTML is escaped); blank lines separate paragraphs."""
        self.blocks.append(TextBlock(text))
        return self

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Section:
        """Add a table; numbers are formatted with `format_cell`.

        Raises:
            ValueError: a row has not as many cells as the header.
        """
        for number, row in enumerate(rows, start=1):
            if len(row) != len(header):
                raise ValueError(
                    f"table in section {self.title!r}: row {number} has {len(row)} cells, the header has {len(header)}"
                )
        self.blocks.append(TableBlock(tuple(header), tuple(tuple(row) for row in rows)))
        return self

    def image(self, path: Path, caption: str = "") -> Section:
        """Add an image (PNG, JPEG or GIF), read when the report is written; a missing file shows a note."""
        self.blocks.append(ImageBlock(Path(path), caption))
        return self

    def code(self, code: str) -> Section:
        """Add preformatted text, shown as is in a monospaced box."""
        self.blocks.append(CodeBlock(code))
        return self


class Report:
    """A titled list of sections, written as one self-contained HTML file or as Markdown."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.sections: list[Section] = []

    def add_section(self, title: str, status: Status = "ok", note: str = "") -> Section:
        """Append a section and return it, to add blocks to.

        Raises:
            ValueError: `status` is not one of "ok", "skipped", "failed", "not built".
        """
        section = Section(title, status, note)
        self.sections.append(section)
        return section

    def to_html(self) -> str:
        """The whole report as one HTML document (inline CSS, embedded images, no scripts)."""
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_escape(self.title)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            f"<h1>{_escape(self.title)}</h1>",
        ]
        if len(self.sections) > 1:
            items = "".join(
                f'<li><a href="#section-{i}">{_escape(s.title)}</a> {_badge(s.status)}</li>'
                for i, s in enumerate(self.sections, start=1)
            )
            parts.append(f"<nav><ul>{items}</ul></nav>")
        for i, section in enumerate(self.sections, start=1):
            note = f'<span class="note">{_escape(section.note)}</span>' if section.note else ""
            parts.append(f'<section id="section-{i}">')
            parts.append(f'<div class="head"><h2>{_escape(section.title)}</h2>{_badge(section.status)}{note}</div>')
            parts.extend(block.to_html() for block in section.blocks)
            parts.append("</section>")
        parts += ["</body>", "</html>", ""]
        return "\n".join(parts)

    def to_markdown(self, relative_to: Path | None = None) -> str:
        """The report as Markdown: headings, text, pipe tables, fenced code and image links.

        Args:
            relative_to: write image paths relative to this folder (where the Markdown will live); None keeps
                them as given.
        """
        parts = [f"# {self.title}"]
        for section in self.sections:
            parts.append(f"## {section.title} · {section.status}")
            if section.note:
                parts.append(f"*{section.note}*")
            parts.extend(block.to_markdown(relative_to) for block in section.blocks)
        return "\n\n".join(parts) + "\n"

    def write(self, path: Path) -> Path:
        """Write the HTML report to `path` atomically (a temporary file, then a rename) and return `path`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            temporary.write_text(self.to_html(), encoding="utf-8")
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        return path


def format_cell(value: object) -> str:
    """Format a table cell: ints with thousands separators, floats to about 4 significant digits.

    Examples: 1234567 -> "1,234,567"; 0.912345 -> "0.9123"; 123.456 -> "123.5"; 12345.6 -> "12,346";
    2.5e-05 -> "2.5e-05"; 3.2e7 -> "3.2e+07"; None -> ""; anything else -> str(value).
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    magnitude = abs(number)
    if number == 0 or 1e-3 <= magnitude < 1e3:
        return f"{number:.4g}"
    if 1e3 <= magnitude < 1e6:
        return f"{number:,.0f}"
    return f"{number:.3g}"


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _badge(status: Status) -> str:
    return f'<span class="badge {status.replace(" ", "-")}">{_escape(status)}</span>'


def _missing(message: str, caption: str) -> str:
    return f'<figure><p class="missing">{_escape(message)}</p>{caption}</figure>'


def _markdown_row(cells: Sequence[str]) -> str:
    # A pipe inside a cell would start a new column, a newline a new row.
    escaped = [cell.replace("|", "\\|").replace("\n", " ") for cell in cells]
    return "| " + " | ".join(escaped) + " |"
