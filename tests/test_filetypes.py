"""Evidence types are judged by content: kept types pass, disguised pages do not."""

import base64

import pytest

from bot.filetypes import download_name, sniff

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def test_a_real_png_is_kept_as_png():
    kind = sniff(PNG)
    assert kind is not None and (kind.mime, kind.extension) == ("image/png", "png")


@pytest.mark.parametrize("data", [
    b"", b"<html><script>alert(1)</script></html>", b"<svg onload=alert(1)>",
    b"MZ\x90\x00\x03\x00\x00\x00", b"PK\x03\x04" + b"\0" * 40, b"plain words",
])
def test_pages_programs_and_archives_are_not_kept(data):
    assert sniff(data) is None


def test_download_names_carry_only_reference_number_and_extension():
    assert download_name("HRI-2026-0001", 2, "image/png") == "HRI-2026-0001-2.png"
    assert download_name('x"; filename=evil.html', 1, "text/html") == "xfilenameevilhtml-1.bin"
