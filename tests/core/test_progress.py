"""Tests of fourfold.core.progress: plain lines (content, rate limit, final line) and the rich bar."""

from __future__ import annotations

import io

from rich.console import Console

from fourfold.core.progress import ProgressBar


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_plain_line_has_counts_percentage_rate_eta_and_postfix() -> None:
    stream, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(5000, "train", stream=stream, clock=clock)
    bar.set_postfix("loss 1.234")
    bar.advance(1200)
    assert _lines(stream) == []  # nothing before the first interval has passed
    clock.now += 10.0
    bar.advance(0)
    # 1200 in 10 s is 120 it/s; the 3800 left take 31.67 s.
    assert _lines(stream) == ["train: 1200/5000 (24%) 120.0 it/s, eta 0:00:32 · loss 1.234"]


def test_lines_are_rate_limited_to_one_per_interval() -> None:
    stream, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(100, "prep", unit="file", stream=stream, clock=clock, interval=5.0)
    for _ in range(100):
        clock.now += 0.5  # 2 files/s, so a line is due every 10 advances
        bar.advance()
    lines = _lines(stream)
    assert len(lines) == 10
    assert lines[0] == "prep: 10/100 (10%) 2.00 file/s, eta 0:00:45"
    assert lines[-1] == "prep: 100/100 (100%) 2.00 file/s, eta 0:00:00"


def test_rate_is_measured_over_the_last_interval() -> None:
    stream, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(1000, "eval", stream=stream, clock=clock)
    clock.now += 10.0
    bar.advance(100)
    clock.now += 10.0
    bar.advance(400)
    assert _lines(stream) == [
        "eval: 100/1000 (10%) 10.0 it/s, eta 0:01:30",
        "eval: 500/1000 (50%) 40.0 it/s, eta 0:00:12",
    ]


def test_close_prints_one_final_line_with_average_rate_and_total_time() -> None:
    stream, clock = io.StringIO(), FakeClock()
    with ProgressBar(50, "train", unit="step", stream=stream, clock=clock) as bar:
        clock.now += 4.0
        bar.advance(20)
        bar.set_postfix("loss 0.5")
    assert _lines(stream) == ["train: 20/50 (40%) 5.00 step/s, done in 0:00:04 · loss 0.5"]
    bar.close()  # a second close prints nothing more
    assert len(_lines(stream)) == 1


def test_unknown_total_has_no_percentage_or_eta() -> None:
    stream, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(None, "tokenize", unit="tok", stream=stream, clock=clock)
    clock.now += 10.0
    bar.advance(523_000)
    bar.close()
    assert _lines(stream) == [
        "tokenize: 523000 52.3k tok/s",
        "tokenize: 523000 52.3k tok/s, done in 0:00:10",
    ]


def test_large_rates_and_long_durations_are_formatted_compactly() -> None:
    stream, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(10**12, "big", stream=stream, clock=clock)
    clock.now += 10.0
    bar.advance(25_000_000)
    # The rest takes 399,990 s: 111 hours, 6 minutes, 30 seconds.
    assert _lines(stream) == ["big: 25000000/1000000000000 (0%) 2.5M it/s, eta 111:06:30"]


def test_disabled_bar_prints_nothing_but_still_counts() -> None:
    stream, clock = io.StringIO(), FakeClock()
    with ProgressBar(10, "quiet", enabled=False, stream=stream, clock=clock) as bar:
        clock.now += 100.0
        bar.advance(7)
    assert stream.getvalue() == ""
    assert bar.completed == 7


def test_zero_total_reads_as_complete() -> None:
    stream, clock = io.StringIO(), FakeClock()
    ProgressBar(0, "empty", stream=stream, clock=clock).close()
    assert _lines(stream) == ["empty: 0/0 (100%) ? it/s, done in 0:00:00"]


def test_rich_bar_renders_description_counts_rate_and_postfix() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    clock = FakeClock()
    with ProgressBar(200, "train", unit="step", clock=clock, console=console) as bar:
        for _ in range(50):
            clock.now += 0.1
            bar.advance()
        bar.set_postfix("loss 1.234")
    output = buffer.getvalue()
    for fragment in ["train", "50/200", "step/s", "loss 1.234"]:
        assert fragment in output


def test_rich_bar_with_unknown_total_renders() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    with ProgressBar(None, "scan", console=console) as bar:
        bar.advance(3)
    assert "scan" in buffer.getvalue()
    assert "3/?" in buffer.getvalue()


def test_nested_rich_bars_share_a_console() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    with ProgressBar(2, "outer", console=console) as outer:
        with ProgressBar(5, "inner", console=console) as inner:
            inner.advance(5)
        outer.advance(2)
    output = buffer.getvalue()
    assert "inner" in output
    assert "outer" in output


def test_a_stream_that_is_not_a_terminal_gets_plain_lines() -> None:
    stream = io.StringIO()  # isatty() is False
    bar = ProgressBar(3, "plain", stream=stream, clock=FakeClock())
    bar.advance(3)
    bar.close()
    assert _lines(stream)[-1].startswith("plain: 3/3 (100%)")
    assert "\x1b[" not in stream.getvalue()  # no terminal control codes
