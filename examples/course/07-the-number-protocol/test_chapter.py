"""The chapter cannot drift from the code: every ```rust block of README.md appears in this
step's Rust sources, line for line (leading and trailing spaces aside). A line `// ...` elides
code: the pieces it separates must each appear, in any file."""
import pathlib
import re

HERE = pathlib.Path(__file__).parent
SOURCES = sorted(HERE.glob("src/**/*.rs")) + sorted(HERE.glob("build.rs"))
ELISION = "// ..."


def blocks():
    text = (HERE / "README.md").read_text()
    return re.findall(r"^```rust\n(.*?)^```", text, flags=re.S | re.M)


def pieces(block):
    piece = []
    for line in block.splitlines():
        if line.strip() == ELISION:
            if piece:
                yield piece
            piece = []
        else:
            piece.append(line.strip())
    if piece:
        yield piece


def contains(haystack, needle):
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def source_lines():
    return {p: [line.strip() for line in p.read_text().splitlines()] for p in SOURCES}


def test_every_rust_block_is_quoted_from_the_sources():
    found = blocks()
    assert found, "README.md has no rust block"
    sources = source_lines()
    for block in found:
        for piece in pieces(block):
            assert any(contains(lines, piece) for lines in sources.values()), (
                "not found verbatim in src/:\n" + "\n".join(piece)
            )


def test_the_check_sees_a_changed_line():
    """The control: the same check rejects a piece whose last line the sources do not have."""
    sources = source_lines()
    piece = next(pieces(blocks()[0]))
    assert any(contains(lines, piece) for lines in sources.values())
    changed = piece[:-1] + [piece[-1] + " // changed"]
    assert not any(contains(lines, changed) for lines in sources.values())
