"""Tests of fourfold.core.report: escaping, embedded images, statuses, Markdown tables, atomic writes."""

from __future__ import annotations

import base64
import re
import struct
import zlib
from pathlib import Path

import pytest

from fourfold.core.report import Report, format_cell


def _tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG, built by hand: signature, IHDR, one zlib IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))  # filter 0, red pixels
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_script_in_text_table_title_and_note_stays_inert() -> None:
    attack = "<script>alert('x')</script>"
    report = Report(f"title {attack}")
    section = report.add_section(f"section {attack}", status="failed", note=f"note {attack}")
    section.text(f"text {attack}")
    section.table([f"head {attack}"], [[f"cell {attack}"]])
    section.code(f"code {attack}")
    html = report.to_html()
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    # Escaped in all 8 places: <title>, <h1>, section title, note, text, table header, table cell, code.
    assert html.count("&lt;script&gt;") == 8


def test_text_paragraphs_are_split_on_blank_lines() -> None:
    report = Report("r")
    report.add_section("s").text("first paragraph\nstill first\n\nsecond & last")
    html = report.to_html()
    assert "<p>first paragraph\nstill first</p>" in html
    assert "<p>second &amp; last</p>" in html


def test_image_is_embedded_as_a_data_uri(tmp_path: Path) -> None:
    png = _tiny_png()
    (tmp_path / "loss.png").write_bytes(png)
    report = Report("r")
    report.add_section("s").image(tmp_path / "loss.png", caption="training loss")
    html = report.to_html()
    match = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="training loss">', html)
    assert match is not None
    assert base64.b64decode(match.group(1)) == png
    assert "<figcaption>training loss</figcaption>" in html
    assert str(tmp_path) not in html  # the file is not referenced, only embedded


def test_missing_image_gives_a_visible_note_not_a_crash(tmp_path: Path) -> None:
    report = Report("r")
    section = report.add_section("s")
    section.image(tmp_path / "absent.png", caption="never drawn")
    section.image(tmp_path / "plot.svg")
    html = report.to_html()
    assert f"image {tmp_path / 'absent.png'} does not exist" in html
    assert "is not a PNG, JPEG or GIF file" in html
    assert "<img" not in html


def test_every_status_is_shown_as_a_badge_with_its_note() -> None:
    report = Report("demo")
    report.add_section("GPT", status="ok")
    report.add_section("Gym", status="skipped", note="tinyshakespeare not found")
    report.add_section("RL", status="failed", note="ZeroDivisionError")
    report.add_section("Five", status="not built", note="not in this version")
    html = report.to_html()
    for css, label in [("ok", "ok"), ("skipped", "skipped"), ("failed", "failed"), ("not-built", "not built")]:
        assert f'<span class="badge {css}">{label}</span>' in html
        assert f".{css} {{ background:" in html  # each badge class has a colour
    assert '<span class="note">tinyshakespeare not found</span>' in html
    # With several sections, a contents list links to each.
    assert '<a href="#section-4">Five</a>' in html and 'id="section-4"' in html


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="status must be one of"):
        Report("r").add_section("s", status="great")  # type: ignore[arg-type]


def test_html_is_self_contained_and_fits_a_phone(tmp_path: Path) -> None:
    (tmp_path / "p.png").write_bytes(_tiny_png())
    report = Report("r")
    report.add_section("s").image(tmp_path / "p.png")
    html = report.to_html()
    assert html.startswith("<!DOCTYPE html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<style>" in html
    assert re.search(r"(src|href)=\"(https?:)?//", html) is None  # nothing fetched from elsewhere
    assert "<link" not in html and "@import" not in html


def test_table_numbers_are_formatted_and_right_aligned() -> None:
    report = Report("r")
    report.add_section("s").table(["name", "steps", "loss"], [["small", 120000, 0.912345], ["big", 5, 12345.6]])
    html = report.to_html()
    assert '<tr><th>name</th><th class="num">steps</th><th class="num">loss</th></tr>' in html
    assert '<td>small</td><td class="num">120,000</td><td class="num">0.9123</td>' in html
    assert '<td class="num">12,346</td>' in html


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234567, "1,234,567"),
        (-3, "-3"),
        (0.912345, "0.9123"),
        (123.456, "123.5"),
        (2.0, "2"),
        (0.0, "0"),
        (12345.6, "12,346"),
        (2.5e-05, "2.5e-05"),
        (3.2e7, "3.2e+07"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
        (True, "True"),
        (None, ""),
        ("text", "text"),
    ],
)
def test_format_cell(value: object, text: str) -> None:
    assert format_cell(value) == text


def test_markdown_has_headings_tables_code_and_relative_images(tmp_path: Path) -> None:
    report = Report("demo")
    section = report.add_section("GPT", status="skipped", note="no data")
    section.text("Some words.")
    section.table(["metric", "value"], [["loss", 1.5], ["a|b", 2], ["multi\nline", 3]])
    section.image(tmp_path / "plots" / "loss.png", caption="loss curve")
    section.code("```\nsample\n```")
    markdown = report.to_markdown(relative_to=tmp_path)
    assert markdown.startswith("# demo\n\n## GPT · skipped\n\n*no data*\n\nSome words.\n\n")
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert table == [
        "| metric | value |",
        "| --- | ---: |",
        "| loss | 1.5 |",
        "| a\\|b | 2 |",
        "| multi line | 3 |",
    ]
    # Every row has as many columns as the header (escaped pipes do not count).
    assert {len(re.split(r"(?<!\\)\|", line)) for line in table} == {4}
    assert "![loss curve](plots/loss.png)" in markdown
    assert "````\n```\nsample\n```\n````" in markdown  # the fence is longer than the code's own


def test_table_rows_must_match_the_header() -> None:
    with pytest.raises(ValueError, match="row 2 has 1 cells, the header has 2"):
        Report("r").add_section("s").table(["a", "b"], [[1, 2], [3]])


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    report = Report("r")
    report.add_section("s").text("hello")
    target = tmp_path / "demo" / "report.html"
    assert report.write(target) == target
    assert target.read_text(encoding="utf-8") == report.to_html()
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]
    report.add_section("t").text("again")  # rewriting replaces the file whole
    report.write(target)
    assert "again" in target.read_text(encoding="utf-8")
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_a_failed_write_keeps_the_old_report_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("old report")
    report = Report("r")

    def broken_to_html() -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "to_html", broken_to_html)
    with pytest.raises(RuntimeError):
        report.write(target)
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
