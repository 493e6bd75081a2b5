"""The chapter cannot drift from the code: every fenced block of README.md in a checked language
appears in this step's sources, line for line (leading and trailing spaces aside). A line
`// ...` elides code: the pieces it separates must each appear."""
import pathlib
import re

import pytest

HERE = pathlib.Path(__file__).parent
# language of a fenced block -> the files its blocks are quoted from
SOURCES = {
    "rust": sorted(HERE.glob("src/**/*.rs")) + [HERE / "build.rs"],
}
ELISION = {"// ...", "/* ... */"}


def blocks(language):
    text = (HERE / "README.md").read_text()
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def pieces(block):
    piece = []
    for line in block.splitlines():
        if line.strip() in ELISION:
            if piece:
                yield piece
            piece = []
        else:
            piece.append(line.strip())
    if piece:
        yield piece


def contains(haystack, needle):
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


@pytest.mark.parametrize("language", sorted(SOURCES))
def test_every_block_is_quoted_from_the_sources(language):
    found = blocks(language)
    assert found, f"README.md has no {language} block"
    sources = {p: [line.strip() for line in p.read_text().splitlines()] for p in SOURCES[language]}
    for block in found:
        for piece in pieces(block):
            assert any(contains(lines, piece) for lines in sources.values()), (
                f"not found verbatim in {[str(p) for p in sources]}:\n" + "\n".join(piece)
            )


def test_the_check_sees_a_changed_line():
    """The control: the same check rejects a block with one line that the sources do not have."""
    sources = [[line.strip() for line in p.read_text().splitlines()] for p in SOURCES["rust"]]
    block = next(pieces(blocks("rust")[0]))
    changed = block[:-1] + [block[-1] + " // changed"]
    assert any(contains(lines, block) for lines in sources)
    assert not any(contains(lines, changed) for lines in sources)
