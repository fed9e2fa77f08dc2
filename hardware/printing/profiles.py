"""Printer profiles as data: paper width, code page and CJK (kanji) mode.

Rules:

- Paper: 58 mm rolls print 32 characters (384 dots) per line in font A, 80 mm rolls 48
  characters (576 dots). Layouts wrap to ``paper.columns``; CJK characters count double.
- Latin text (English, German) is sent in a single-byte code page selected with ``ESC t n``;
  CP858 is the default because it has the umlauts, ``ß`` and ``€``. Characters the code page
  lacks print as ``?``.
- CJK text needs the printer's double-byte (kanji) mode, which depends on the model sold in that
  market: Chinese models take GB18030 after ``FS &``, Japanese models take Shift_JIS after
  ``FS &`` + ``FS C 1``. ``kanji`` says which one this printer has. A job always begins with
  ``ESC @`` and then either enters the kanji mode or leaves it with ``FS .`` (Chinese printers
  power up in kanji mode, where single-byte code pages would print as garbage).
- We encode text ourselves instead of using python-escpos's "magic" encoder, which knows only
  single-byte code pages and would guess a different one per character.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from escpos.capabilities import CAPABILITIES

from hardware.errors import ConfigError

ESC, FS = b"\x1b", b"\x1c"


@dataclass(frozen=True)
class PaperProfile:
    """A paper roll width in characters (font A) and in dots."""

    name: str
    columns: int
    dots: int


PAPER_58 = PaperProfile("58mm", 32, 384)
PAPER_80 = PaperProfile("80mm", 48, 576)
PAPERS = {paper.name: paper for paper in (PAPER_58, PAPER_80)}


@dataclass(frozen=True)
class CodePage:
    """A single-byte code page: the ``ESC t`` table number and the Python codec."""

    name: str
    table: int
    codec: str


CODE_PAGES = {
    page.name: page
    for page in (
        CodePage("cp437", 0, "cp437"),
        CodePage("cp850", 2, "cp850"),
        CodePage("cp1252", 16, "cp1252"),
        CodePage("cp866", 17, "cp866"),
        CodePage("cp852", 18, "cp852"),
        CodePage("cp858", 19, "cp858"),
    )
}


class KanjiMode(StrEnum):
    """Which double-byte encoding the printer's kanji mode takes, if any."""

    NONE = "none"
    GB18030 = "gb18030"
    SHIFT_JIS = "shift_jis"


_KANJI_CODECS = {KanjiMode.GB18030: "gb18030", KanjiMode.SHIFT_JIS: "cp932"}
_KANJI_SETUP = {KanjiMode.GB18030: FS + b"&", KanjiMode.SHIFT_JIS: FS + b"&" + FS + b"C\x01"}

# Which kanji mode each receipt language needs (None: a single-byte code page will do).
LANGUAGE_NEEDS: dict[str, KanjiMode | None] = {
    "en": None,
    "de": None,
    "zh": KanjiMode.GB18030,
    "ja": KanjiMode.SHIFT_JIS,
}


@dataclass(frozen=True)
class PrinterProfile:
    """Everything a layout needs to know about one printer."""

    paper: PaperProfile = PAPER_80
    code_page: CodePage = CODE_PAGES["cp858"]
    kanji: KanjiMode = KanjiMode.NONE
    escpos_profile: str = "default"

    def __post_init__(self) -> None:
        if self.escpos_profile not in CAPABILITIES["profiles"]:
            raise ConfigError(f"python-escpos has no printer profile {self.escpos_profile!r}")

    def can_print(self, language: str) -> bool:
        """True when this printer can print ``language``'s script."""
        needed = LANGUAGE_NEEDS.get(language)
        return needed is None or needed == self.kanji

    def job_prefix(self) -> bytes:
        """Initialise the printer and select this profile's character encoding."""
        if self.kanji is KanjiMode.NONE:
            return ESC + b"@" + FS + b"." + ESC + b"t" + bytes([self.code_page.table])
        return ESC + b"@" + _KANJI_SETUP[self.kanji]

    def encode(self, text: str) -> bytes:
        """Text as the printer expects it; unencodable characters become ``?``."""
        codec = _KANJI_CODECS.get(self.kanji, self.code_page.codec)
        return text.encode(codec, errors="replace")


def make_profile(
    paper: str = "80mm", code_page: str = "cp858", kanji: str = "none"
) -> PrinterProfile:
    """A profile from configuration strings, or ConfigError naming the bad one."""
    try:
        return PrinterProfile(
            PAPERS[paper], CODE_PAGES[code_page.lower()], KanjiMode(kanji.lower())
        )
    except (KeyError, ValueError) as err:
        raise ConfigError(
            f"bad printer profile (paper={paper!r}, code_page={code_page!r}, kanji={kanji!r}); "
            f"papers: {', '.join(PAPERS)}; code pages: {', '.join(CODE_PAGES)}; "
            f"kanji: {', '.join(KanjiMode)}"
        ) from err
