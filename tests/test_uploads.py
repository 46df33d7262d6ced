"""Uploads: safe names, the allow-list and size limit, atomic no-clobber saves of readable files only."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant import Settings
from assistant.errors import UploadError
from assistant.settings import AppSettings
from assistant.uploads import MIB, check, safe_name, save


@pytest.fixture
def upload_settings(tmp_path) -> Settings:
    (tmp_path / "seeds").mkdir()
    return Settings(root=tmp_path, upload_max_mb=1)


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notes.md", "notes.md"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/home/someone/report.txt", "report.txt"),
        ("C:\\Users\\me\\Report.PDF", "Report.pdf"),
        (".bashrc.txt", "bashrc.txt"),
        ("-rf.txt", "rf.txt"),
        ("my report (final).txt", "my_report_final.txt"),
        ("<script>alert(1)</script>.html", "script.html"),  # "/" separates path parts
        ("<img src=x onerror=alert(2)>.md", "img_src_x_onerror_alert_2.md"),
        ("a\x00b\nc.txt", "a_b_c.txt"),
        ("Доклад о войне.md", "Доклад_о_войне.md"),
        ("e\u0301te\u0301.txt", "\u00e9t\u00e9.txt"),  # NFC: one code point per accented letter
        ("README", "README"),
    ],
)
def test_safe_name_keeps_only_a_plain_base_name(name, expected):
    assert safe_name(name) == expected


def test_safe_name_truncates_long_names_and_refuses_empty_ones():
    assert safe_name("x" * 500 + ".txt") == "x" * 100 + ".txt"
    for name in ("", "...", "../", "/tmp/", "$$$", "\u202e\u202e"):
        with pytest.raises(UploadError, match="no usable characters"):
            safe_name(name)


def test_check_allows_the_loader_formats_up_to_the_limit(upload_settings):
    for name in ("a.txt", "b.md", "c.markdown", "d.html", "e.htm", "f.pdf", "G.TXT", "h.docx"):
        assert check(name, MIB, upload_settings) == safe_name(name)
    with pytest.raises(UploadError, match=r"\.exe files are not accepted \(allowed: \.docx \.htm \.html \.markdown \.md \.pdf \.txt\)"):
        check("setup.exe", 10, upload_settings)
    with pytest.raises(UploadError, match="files without an extension are not accepted"):
        check("README", 10, upload_settings)
    with pytest.raises(UploadError, match=r"the file is 1\.0 MB, over the 1 MB upload limit"):
        check("big.txt", MIB + 1, upload_settings)


def test_save_writes_into_the_uploads_folder_and_nowhere_else(upload_settings, tmp_path):
    saved = save("../../../outside.txt", b"The harbour festival opens in June.\n", upload_settings)
    assert saved.source == "seeds/uploads/outside.txt" and not saved.replaced and not saved.unchanged
    assert str(saved) == "Saved seeds/uploads/outside.txt"
    assert (tmp_path / saved.source).read_bytes() == b"The harbour festival opens in June.\n"
    assert files_under(tmp_path) == ["seeds/uploads/outside.txt"]  # no temporary file left behind


def test_save_never_overwrites_without_replace(upload_settings, tmp_path):
    first = save("notes.md", b"first version", upload_settings)
    target = tmp_path / first.source
    assert save("notes.md", b"first version", upload_settings).unchanged
    with pytest.raises(UploadError, match="a different document named notes.md is already there"):
        save("notes.md", b"second version", upload_settings)
    assert target.read_bytes() == b"first version"
    replaced = save("notes.md", b"second version", upload_settings, replace=True)
    assert replaced.replaced and str(replaced) == "Replaced seeds/uploads/notes.md"
    assert target.read_bytes() == b"second version"
    assert files_under(tmp_path / "seeds") == ["uploads/notes.md"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b" \n\t\n", r"no text \(only whitespace\)"),
        ("latin1.txt", "caf\u00e9".encode("latin-1"), "not valid UTF-8"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00", "binary content"),
        ("scan.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
        ("scripts.html", b"<html><script>alert(1)</script></html>", r"no visible text \(only markup or scripts\)"),
    ],
)
def test_save_refuses_files_the_loader_cannot_read(upload_settings, tmp_path, name, data, reason):
    with pytest.raises(UploadError, match=f"the file cannot be read as a document: .*{reason}"):
        save(name, data, upload_settings)
    assert files_under(tmp_path) == []


def test_concurrent_uploads_of_one_name_never_clobber(upload_settings, tmp_path):
    start = threading.Barrier(2, timeout=10)
    results: dict[int, object] = {}

    def upload(i: int) -> None:
        start.wait()
        try:
            results[i] = save("race.txt", f"version {i}".encode(), upload_settings)
        except UploadError as exc:
            results[i] = exc

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    winners = [i for i, r in results.items() if not isinstance(r, UploadError)]
    assert len(results) == 2 and len(winners) == 1
    assert "already there" in str(results[1 - winners[0]])
    assert (tmp_path / "seeds/uploads/race.txt").read_text() == f"version {winners[0]}"


def test_upload_dir_must_stay_inside_the_seeds(tmp_path):
    assert Settings(root=tmp_path, upload_dir=Path("incoming/app")).upload_path == tmp_path / "seeds/incoming/app"
    for bad in ("../elsewhere", "/tmp/elsewhere"):
        with pytest.raises(ValidationError, match="inside seeds_dir"):
            Settings(root=tmp_path, upload_dir=Path(bad))


def test_streamlit_server_upload_cap_is_the_apps_limit():
    """The uploader's own limit is enforced in the browser only; Streamlit's server takes uploads
    up to server.maxUploadSize (default 200 MB) from any client, so the project config caps it at
    the app's limit."""
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == AppSettings.model_fields["upload_max_mb"].default
