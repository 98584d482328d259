"""Errors the engine raises; messages are meant for the person who runs the worker."""

from __future__ import annotations

FIX_COMMAND = "make models"


class ModelPackError(RuntimeError):
    """A model pack is missing, incomplete or corrupt; the message names the file and the fixing command."""

    @classmethod
    def for_file(cls, path: object, problem: str) -> ModelPackError:
        return cls(
            f"Model file {path} {problem}. Run `{FIX_COMMAND}` (or point MODEL_PACK at a valid pack) and restart."
        )
