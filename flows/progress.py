"""How far through the report a resident is, counted in sections: "Step 3 of about 8".

Sections, not questions, so a step means something ("When and where") and the count stays
steady. The total is an estimate ("about"): branches not yet decided are assumed to go the
way most reports go (the flow's typical answers), and it settles as answers arrive. The
essentials and the optional details after the acknowledgement are counted separately.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flows.messages import Progress
from flows.types import N_, Section, Step, Translator

ESSENTIALS_TEXT = N_("Step %(step)d of about %(total)d")
DETAILS_TEXT = N_("Extra details: step %(step)d of about %(total)d")


def progress(step: Step, steps: Sequence[Step], sections: Mapping[str, Section],
             answers: Mapping[str, Any], assume: Mapping[str, Any],
             t: Translator) -> Progress:
    """Return the progress shown with `step`: its section's place among those to ask."""
    same_part = [s for s in steps if s.essential == step.essential]
    known = {**assume, **answers} if step.essential else dict(answers)
    order: list[str] = []
    for candidate in same_part:
        if (candidate is step or candidate.applies(known)) and candidate.section not in order:
            order.append(candidate.section)
    if step.section not in order:  # pragma: no cover - the step itself is always counted
        order.append(step.section)
    number, total = order.index(step.section) + 1, len(order)
    template = ESSENTIALS_TEXT if step.essential else DETAILS_TEXT
    section = sections.get(step.section)
    return Progress(step=number, total=total,
                    text=t.gettext(template) % {"step": number, "total": total},
                    section=t.gettext(section.label) if section else "")
