"""Tests for fourfold.core.data: the lookup order, real downloads from a local server, and the error message."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fourfold.core.data import DataNotFoundError, DataSource, cache_folder, data_file, locate

PAIR = DataSource(
    name="pair",
    root="sets/pair",
    files=("train.txt", "labels/train.txt"),
    base_url="http://127.0.0.1:9/pair/",
    description="two small files, one in a subfolder",
)
ONE = DataSource(name="one", root="one", files=("input.txt",), base_url="http://127.0.0.1:9/one/")


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No shared data folder, a cache under tmp_path, downloads allowed; returns tmp_path."""
    monkeypatch.delenv("FOURFOLD_DATA", raising=False)
    monkeypatch.delenv("FOURFOLD_OFFLINE", raising=False)
    monkeypatch.setenv("FOURFOLD_CACHE", str(tmp_path / "cache"))
    return tmp_path


def fill(folder: Path, source: DataSource, text: str = "x") -> Path:
    """Write every file of `source` under `folder`."""
    for relative in source.files:
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(f"{text}:{relative}")
    return folder


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to open a URL."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving tmp_path/served; yields (base URL, served folder)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(QuietHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", served
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def closed_port() -> int:
    """A local port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def with_url(source: DataSource, base_url: str) -> DataSource:
    return DataSource(source.name, source.root, source.files, base_url, source.description)


def test_explicit_folder_is_returned(isolated: Path, no_network: None) -> None:
    folder = fill(isolated / "mine", PAIR)
    assert locate(PAIR, folder) == folder
    assert locate(PAIR, str(folder)) == folder


def test_explicit_file_of_a_one_file_source(isolated: Path, no_network: None) -> None:
    folder = fill(isolated / "mine", ONE)
    assert locate(ONE, folder / "input.txt") == folder
    renamed = isolated / "shakespeare.txt"
    renamed.write_text("hello")
    assert data_file(ONE, "input.txt", renamed) == renamed


def test_missing_explicit_path_is_an_error_and_does_not_fall_through(isolated: Path, no_network: None) -> None:
    fill(cache_folder(PAIR), PAIR)  # the cache would have it, but an explicit path is the only place looked at
    missing = isolated / "nowhere"
    with pytest.raises(DataNotFoundError, match="does not exist") as error:
        locate(PAIR, missing)
    assert str(missing) in str(error.value)


def test_partial_explicit_folder_names_the_missing_file(isolated: Path, no_network: None) -> None:
    folder = fill(isolated / "mine", PAIR)
    (folder / "labels/train.txt").unlink()
    with pytest.raises(DataNotFoundError, match=r"lacks labels/train\.txt"):
        locate(PAIR, folder)


def test_explicit_file_for_a_many_file_source_is_an_error(isolated: Path, no_network: None) -> None:
    folder = fill(isolated / "mine", PAIR)
    with pytest.raises(DataNotFoundError, match="is a file"):
        locate(PAIR, folder / "train.txt")


def test_fourfold_data_is_used(isolated: Path, monkeypatch: pytest.MonkeyPatch, no_network: None) -> None:
    shared = isolated / "shared"
    fill(shared / "sets/pair", PAIR, "shared")
    fill(cache_folder(PAIR), PAIR, "cache")
    monkeypatch.setenv("FOURFOLD_DATA", str(shared))
    assert locate(PAIR) == shared / "sets/pair"  # FOURFOLD_DATA comes before the cache
    assert data_file(PAIR, "labels/train.txt").read_text() == "shared:labels/train.txt"


def test_partial_fourfold_data_falls_through_to_the_cache(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    shared = isolated / "shared"
    (shared / "sets/pair").mkdir(parents=True)
    (shared / "sets/pair/train.txt").write_text("only one of two files")
    fill(cache_folder(PAIR), PAIR)
    monkeypatch.setenv("FOURFOLD_DATA", str(shared))
    assert locate(PAIR) == isolated / "cache/sets/pair"


def test_cache_is_used(isolated: Path, no_network: None) -> None:
    fill(isolated / "cache/sets/pair", PAIR)
    assert locate(PAIR) == isolated / "cache/sets/pair"


def test_default_cache_is_under_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FOURFOLD_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_folder(PAIR) == tmp_path / ".cache/fourfold/sets/pair"


def test_real_download_from_a_local_server(isolated: Path, server: tuple[str, Path]) -> None:
    base_url, served = server
    fill(served / "pair", PAIR, "served")
    source = with_url(PAIR, base_url + "pair/")
    folder = locate(source)
    assert folder == isolated / "cache/sets/pair"
    assert (folder / "labels/train.txt").read_text() == "served:labels/train.txt"
    assert sorted(p.name for p in folder.rglob("*")) == ["labels", "train.txt", "train.txt"]  # no temporaries
    (served / "pair/train.txt").unlink()  # a second call finds the cache and needs no server
    assert locate(source) == folder


def test_404_names_the_url_and_the_folder(isolated: Path, server: tuple[str, Path]) -> None:
    base_url, _ = server
    source = with_url(ONE, base_url + "absent/")
    with pytest.raises(DataNotFoundError) as error:
        locate(source)
    message = str(error.value)
    assert "HTTP 404" in message
    assert base_url + "absent/input.txt" in message
    assert str(isolated / "cache/one") in message
    assert not (isolated / "cache/one/input.txt").exists()


def test_connection_refused_names_the_url_and_the_folder(isolated: Path) -> None:
    source = with_url(ONE, f"http://127.0.0.1:{closed_port()}/one/")
    with pytest.raises(DataNotFoundError, match="refused") as error:
        locate(source)
    assert source.base_url + "input.txt" in str(error.value)
    assert str(isolated / "cache/one") in str(error.value)


def test_fourfold_offline_attempts_no_download(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    monkeypatch.setenv("FOURFOLD_OFFLINE", "1")
    with pytest.raises(DataNotFoundError, match="downloading is off") as error:
        locate(ONE)
    message = str(error.value)
    assert "one data not found" in message
    assert "http://127.0.0.1:9/one/input.txt" in message
    assert str(isolated / "cache/one") in message


def test_download_false_attempts_no_download(isolated: Path, no_network: None) -> None:
    with pytest.raises(DataNotFoundError, match="downloading is off"):
        locate(ONE, download=False)


def test_error_points_at_fourfold_data_when_it_is_set(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    shared = isolated / "shared"
    (shared / "sets/pair").mkdir(parents=True)
    (shared / "sets/pair/train.txt").write_text("one of two")
    monkeypatch.setenv("FOURFOLD_DATA", str(shared))
    with pytest.raises(DataNotFoundError) as error:
        locate(PAIR, download=False)
    message = str(error.value)
    assert f"{shared / 'sets/pair'}: lacks labels/train.txt" in message
    assert message.endswith(f"into {shared / 'sets/pair'}")


def test_data_file_refuses_a_name_not_in_the_source() -> None:
    with pytest.raises(ValueError, match="not a file of pair"):
        data_file(PAIR, "test.txt")


@pytest.mark.parametrize("root", ["", "/abs", "../up"])
def test_bad_data_source_root_is_refused(root: str) -> None:
    with pytest.raises(ValueError, match="relative path"):
        DataSource("bad", root, ("a.txt",), "http://example.invalid/")


def test_real_tinyshakespeare_from_fourfold_data(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (shared_data / "tinyshakespeare/input.txt").is_file():
        pytest.skip(f"{shared_data} holds no tinyshakespeare/input.txt")
    monkeypatch.setenv("FOURFOLD_OFFLINE", "1")
    monkeypatch.setenv("FOURFOLD_CACHE", str(tmp_path / "cache"))
    source = DataSource(
        name="tinyshakespeare",
        root="tinyshakespeare",
        files=("input.txt",),
        base_url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/",
        description="1.1 MB of Shakespeare",
    )
    path = data_file(source, "input.txt")
    assert path == shared_data / "tinyshakespeare/input.txt"
    assert 1_000_000 < path.stat().st_size < 1_200_000
    assert path.read_text(encoding="utf-8").startswith("First Citizen:")
