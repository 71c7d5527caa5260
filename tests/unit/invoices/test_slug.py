from __future__ import annotations

from stellarstream.invoices.slug import SLUG_LENGTH, is_slug, new_slug


def test_slugs_are_alphanumeric_memo_sized_and_distinct() -> None:
    slugs = {new_slug() for _ in range(5000)}
    assert len(slugs) == 5000
    for slug in slugs:
        assert is_slug(slug) and slug.isalnum() and len(slug) == SLUG_LENGTH <= 32


def test_slugs_use_the_whole_alphabet() -> None:
    # 128 random bits in base62: over many slugs every position varies and all 62 symbols occur.
    seen = set("".join(new_slug() for _ in range(2000)))
    assert len(seen) == 62


def test_is_slug_rejects_other_strings() -> None:
    assert not is_slug("short")
    assert not is_slug("a" * 21 + "-")
