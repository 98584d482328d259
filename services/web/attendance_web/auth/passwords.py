"""The password policy, in one place: sign-up, the password change under Settings and the IT administrator's
`flask teachers set-password` all ask `password_problem`.

Length alone lets `aaaaaaaaaa`, `1234567890` and `password12` through. So a password must also be hard to guess
for the programs that guess passwords: zxcvbn estimates how many guesses they need, knowing the most common
passwords (its list of some 30,000 leaked ones), words, names, dates, keyboard rows, repeats and sequences, and
the teacher's own name and email. Fewer than MIN_GUESSES is refused, with the reason in words.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 200
#: zxcvbn's score 3, "safely unguessable": about three hours of guessing a stolen scrypt hash, and out of reach of
#: guessing through the log-in form (rate-limited: auth.throttle)
MIN_GUESSES = 1e8
#: zxcvbn refuses longer input; what follows only makes a password harder to guess
ESTIMATED_CHARS = 72
#: words any teacher of this service might build a password from
SERVICE_WORDS = ("attendance", "school", "teacher", "class", "classroom", "student", "students")

TOO_SHORT = f"Use at least {MIN_LENGTH} characters."
TOO_LONG = f"Use at most {MAX_LENGTH} characters."
ADVICE = "Try three or four unrelated words that only you would put together, or a short sentence."

# Why a guessable password is guessable, by the kind of pattern that makes it so (zxcvbn's match patterns).
REASONS = {
    "common": "it is one of the most common passwords",
    "user_inputs": "it is built from your name, your email address or this service's name",
    "repeat": "it repeats characters (like “aaaa” or “abcabc”)",
    "sequence": "it is a sequence (like “abcdef” or “123456”)",
    "spatial": "it follows a row or pattern of keys on the keyboard (like “qwerty”)",
    "date": "it is built around a date or a year",
    "dictionary": "it is made of common words or names",
}
FALLBACK_REASON = "password-guessing programs would find it quickly"

_zxcvbn_lock = threading.Lock()  # zxcvbn keeps the user inputs in a module-level dictionary between calls


def password_problem(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """None when the password may be used; otherwise what is wrong with it, in words a teacher understands.
    `user_inputs`: the teacher's name and email, which a guesser would try first."""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    estimate = _estimate(password[:ESTIMATED_CHARS], _personal_words(user_inputs))
    if estimate["guesses"] >= MIN_GUESSES:
        return None
    return f"This password is too easy to guess: {_reason(estimate['sequence'])}. {ADVICE}"


def _personal_words(user_inputs: Iterable[str]) -> list[str]:
    """The teacher's own words first (zxcvbn ranks earlier words as likelier), whole and in parts."""
    words: list[str] = []
    for text in user_inputs:
        text = (text or "").strip().lower()
        parts = [part for part in text.replace("@", " ").replace(".", " ").replace("-", " ").split() if len(part) > 2]
        words.extend([text, "".join(text.split()), *parts] if text else [])
    return [*dict.fromkeys(words), *SERVICE_WORDS]


def _estimate(password: str, user_inputs: list[str]) -> dict[str, Any]:
    with _zxcvbn_lock:
        return dict(zxcvbn(password, user_inputs=user_inputs, max_length=ESTIMATED_CHARS))


def _reason(matches: list[dict[str, Any]]) -> str:
    """The reason of the pattern that covers most of the password."""
    kinds: dict[str, int] = {}
    for match in matches:
        kind = _kind(match)
        if kind:
            kinds[kind] = kinds.get(kind, 0) + len(match.get("token", ""))
    if not kinds:
        return FALLBACK_REASON
    return REASONS[max(kinds, key=lambda k: (kinds[k], k == "common"))]


def _kind(match: dict[str, Any]) -> str | None:
    pattern = match.get("pattern")
    if pattern == "dictionary":
        source = match.get("dictionary_name")
        if source == "passwords":
            return "common"
        return "user_inputs" if source == "user_inputs" else "dictionary"
    if pattern in ("repeat", "sequence", "spatial", "date"):
        return str(pattern)
    return None
