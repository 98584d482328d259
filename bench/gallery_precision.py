"""A lever measured and not adopted: the gallery embedded by the fp32 recognizer, classroom faces by the int8 one.

    .venv/bin/python -m bench.gallery_precision        (about 3 min on 2 cores: embeds LFW once per recognizer)

Portraits are few and enrolled once, so the gallery could always be fp32 while classroom faces take the faster
int8 recognizer; int8's rounding would then touch one side of each comparison instead of both. This prints LFW's
open-set figures (section 1 of `make bench`, without the two mislabeled photos) for the four pairings, and TPIR /
FPIR at the pack's "present" threshold, native and with probes downscaled to 24 px faces.
"""

from __future__ import annotations

from typing import Any

from . import lfw
from .common import facedata_dir, pack_dir


def main() -> int:
    from attendance_worker.engine import Engine
    from attendance_worker.engine.pack import load_pack

    data: dict[str, dict[str, Any]] = {}
    for precision in ("fp32", "int8"):
        engine = Engine(load_pack(pack_dir()), recognizer_precision=precision)
        data[precision] = lfw.embed_lfw(engine, facedata_dir(), small_widths=(24,))
        present = engine.thresholds["present"]
    pairings = {
        "fp32 / fp32": data["fp32"],
        "int8 / int8": data["int8"],
        "fp32 / int8": {**data["int8"], "enroll": data["fp32"]["enroll"]},
        "int8 / fp32": {**data["fp32"], "enroll": data["int8"]["enroll"]},
    }
    print(
        f"| gallery / probes | rank-1 | TPIR@FPIR 1% | TPIR@FPIR 0.1% | TPIR / FPIR at {present} | same, 24 px probes |"
    )
    print("|---|---|---|---|---|---|")
    for name, d in pairings.items():
        r = lfw.evaluate(d, exclude_mislabeled=True)
        native, small = lfw.evaluate_small(d, present)[:2]
        print(
            f"| {name} | {r['rank1']:.2%} | {r['tpir@1%_pool']:.2%} | {r['tpir@0.1%_pool']:.2%} "
            f"| {native['tpir_at_present']:.2%} / {native['fpir_at_present']:.2%} "
            f"| {small['tpir_at_present']:.2%} / {small['fpir_at_present']:.2%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
