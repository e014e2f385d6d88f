"""GPT corpora: JSONL records, folders by suffix, the standard library's source, errors that name file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fourfold.gpt.corpus import DataError, iter_documents
from fourfold.gpt.data import write_shards
from fourfold.gpt.tokenizer import CharTokenizer


def test_jsonl_source_one_document_per_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    lines = [json.dumps({"text": f"record {i}", "id": i}) for i in range(5)]
    path.write_text("\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]) + "\n", encoding="utf-8")
    documents = list(iter_documents([path]))
    assert [d.text for d in documents] == [f"record {i}" for i in range(5)]
    assert documents[2].name == f"{path}:4"  # the blank line 3 is skipped, line numbers are the file's


@pytest.mark.parametrize(
    ("line", "problem"),
    [("{not json", "not valid JSON"), ('{"txt": "a"}', '"text" string'), ('["a"]', '"text" string')],
)
def test_jsonl_bad_line_names_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"bad\.jsonl:2: .*{problem}"):
        write_shards([path], tmp_path / "out", CharTokenizer.from_text("fine"), progress=False)


def test_folder_source_reads_suffixes_recursively(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    for name in ("a.txt", "sub/b.md", "sub/deeper/c.py", "d.rst", "e.json", ".hidden/f.txt", "sub/.g.txt"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name, encoding="utf-8")
    assert [d.text for d in iter_documents([folder])] == ["a.txt", "d.rst", "sub/b.md", "sub/deeper/c.py"]
    assert [d.text for d in iter_documents([folder], suffixes=["json"])] == ["e.json"]
    assert [d.text for d in iter_documents([folder], max_files=2)] == ["a.txt", "d.rst"]
    with pytest.raises(DataError, match=r"holds no file ending in \.csv"):
        list(iter_documents([folder], suffixes=[".csv"]))


def test_stdlib_source_is_python_files_without_tests(tmp_path: Path) -> None:
    documents = list(iter_documents(["stdlib"], max_files=40))
    assert len(documents) == 40
    names = [d.name for d in documents]
    assert all(name.endswith(".py") for name in names)
    assert not any("/test/" in name or "/tests/" in name or "site-packages" in name for name in names)
    assert [d.text for d in iter_documents(["stdlib"], max_files=40)] == [d.text for d in documents]
    tokenizer = CharTokenizer.from_texts((d.text for d in documents), eot=True)
    summary = write_shards(["stdlib"], tmp_path, tokenizer, max_files=40, progress=False)
    assert summary.train.documents + summary.val.documents == sum(1 for d in documents if d.text)
    assert summary.sources[0].startswith("stdlib (")
