"""Words and characters of the web forms: every word is five letters, consonant-vowel-consonant...

A word id in ``[1, MAX_VOCAB]`` maps to its letters by arithmetic (no table: the id is scattered by
a multiplication modulo ``MAX_VOCAB``, then read as mixed-radix digits), so the same word has
the same spelling in JAX, in the exported HTML and in the browser. Text lives in fixed-width
character arrays: 0 is padding, 1-26 are ``a``-``z``, 27 is a space, 28-37 are the digits
``0``-``9``, 38 is ``/`` (dates, ``mm/dd/yyyy``), 39-64 are ``A``-``Z`` and 65-71 are
``-(),.'&`` (MiniWoB++'s names, passwords, countries and airports, which ``miniwob.py``
imports; generated forms use only the first 39 codes). Because every generated word has the
same length and starts with a consonant followed by a vowel, two different word sequences never
spell the same string, and no generated value starts with a repeated letter (imported ones such as
MiniWoB++'s ``Aaren`` do: ``engine._typeahead`` follows Chromium's cycling for them).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from curriculax.types import Array

CONSONANTS = "bcdfghjklmnprstvwxyz"
VOWELS = "aeiou"
WORD_LETTERS = 5
#: Number of distinct words (20 x 5 x 20 x 5 x 20).
MAX_VOCAB = 200_000
SPACE = 27
#: Code of the digit ``0`` (``1``-``9`` follow), and of ``/``.
DIGIT_0, SLASH = 28, 38
#: Code of ``A`` (``B``-``Z`` follow).
UPPER_A = 39
#: The character of each code (index 0, padding, is never printed).
ALPHABET = "\0abcdefghijklmnopqrstuvwxyz 0123456789/ABCDEFGHIJKLMNOPQRSTUVWXYZ-(),.'&"
#: Largest character code.
MAX_CHAR = len(ALPHABET) - 1
#: int32 [MAX_CHAR + 1]: each code's lower-case code (letters; other codes map to themselves).
FOLD = np.asarray(
    [c - UPPER_A + 1 if UPPER_A <= c < UPPER_A + 26 else c for c in range(MAX_CHAR + 1)], np.int32
)
_RADICES = (20, 5, 20, 5, 20)
# Coprime with MAX_VOCAB, so id -> id * _SCATTER % MAX_VOCAB is a bijection that makes words of
# nearby ids differ in every letter.
_SCATTER = 7_919
_UNSCATTER = pow(_SCATTER, -1, MAX_VOCAB)
_ALPHABETS = (CONSONANTS, VOWELS, CONSONANTS, VOWELS, CONSONANTS)
# Character code of each letter of each alphabet position.
_CODES = tuple(np.asarray([ord(c) - ord("a") + 1 for c in a], np.int32) for a in _ALPHABETS)


def word_chars(word: Array) -> Array:
    """Letters of word ids: int32 [...] in ``[1, MAX_VOCAB]`` -> character codes int32 [..., 5]."""
    rest = ((jnp.asarray(word, jnp.int32) - 1) * _SCATTER) % MAX_VOCAB
    letters = []
    for radix, codes in zip(_RADICES, _CODES, strict=True):
        letters.append(jnp.asarray(codes)[rest % radix])
        rest = rest // radix
    return jnp.stack(letters, axis=-1)


def word_of(chars: Array) -> Array:
    """The word id spelled by the first five letters of character codes [..., C] (0: none).

    The inverse of ``word_chars`` (the scattering multiplication is undone modulo
    ``MAX_VOCAB``).
    """
    scattered = jnp.zeros(chars.shape[:-1], jnp.int32)
    scale = 1
    for pos, (radix, alphabet) in enumerate(zip(_RADICES, _ALPHABETS, strict=True)):
        digit = np.zeros(SPACE + 1, np.int32)
        for i, letter in enumerate(alphabet):
            digit[ord(letter) - ord("a") + 1] = i
        scattered = scattered + jnp.asarray(digit)[chars[..., pos]] * scale
        scale *= radix
    # int32-safe: split the scattered id so no product exceeds 2**31.
    low, high = scattered % 512, scattered // 512
    unscattered = (low * _UNSCATTER + ((high * _UNSCATTER) % MAX_VOCAB) * 512) % MAX_VOCAB
    return jnp.where(chars[..., 0] > 0, unscattered + 1, 0)


def words_to_chars(words: Array, count: Array, width: int) -> tuple[Array, Array]:
    """Spells the first ``count`` of ``words`` joined by single spaces.

    Args:
        words: int32 [W] word ids.
        count: int32 [], words used (at most W).
        width: characters of the output (at least ``6 * W - 1``).

    Returns:
        ``(chars int32 [width], length int32 [])``.
    """
    num = words.shape[0]
    letters = word_chars(words)  # [W, 5]
    spaced = jnp.concatenate([letters, jnp.full((num, 1), SPACE, jnp.int32)], axis=1)
    used = jnp.arange(num) < count
    spaced = jnp.where(used[:, None], spaced, 0).reshape(-1)
    length = jnp.maximum(count * (WORD_LETTERS + 1) - 1, 0)
    spaced = jnp.where(jnp.arange(spaced.shape[0]) < length, spaced, 0)
    out = jnp.zeros(width, jnp.int32)
    return out.at[: spaced.shape[0]].set(spaced[:width]), length


def decode(chars: np.ndarray, length: int | None = None) -> str:
    """The string of character codes (host side); stops at ``length`` or the first padding."""
    out = []
    for code in np.asarray(chars).tolist()[: length if length is not None else None]:
        if code == 0:
            break
        out.append(ALPHABET[code])
    return "".join(out)


def encode(text: str) -> list[int]:
    """Character codes of ``text`` (host side; letters, space, digits and ``/-(),.'&``).

    Raises:
        ValueError: a character outside that alphabet.
    """
    bad = sorted({c for c in text if c not in ALPHABET[1:]})
    if bad:
        raise ValueError(f"characters {bad} are outside the form alphabet {ALPHABET[1:]!r}")
    return [ALPHABET.index(c) for c in text]


def date_chars(month: Array, day: Array, year: Array) -> Array:
    """``mm/dd/yyyy`` of int32 [...] month, day, year -> character codes int32 [..., 10]."""

    def digits(number: Array, count: int) -> list[Array]:
        return [DIGIT_0 + (number // 10**p) % 10 for p in reversed(range(count))]

    slash = jnp.full(jnp.shape(month), SLASH, jnp.int32)
    parts = [*digits(month, 2), slash, *digits(day, 2), slash, *digits(year, 4)]
    return jnp.stack([jnp.asarray(p, jnp.int32) for p in parts], axis=-1)


def word(word_id: int) -> str:
    """The spelling of one word id (host side)."""
    return decode(np.asarray(word_chars(jnp.asarray(word_id))))
