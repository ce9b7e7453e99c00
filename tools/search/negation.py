"""The words that rule something out, declared once for every reader of requests.

Search (constraints, families, lineage, languages) and the agent's planner all ask the same
question of a phrase: does a negation govern it? They differ in what may stand between the
negation and the thing ruled out, so each builds its own pattern around :data:`NEGATOR`.
"""
from __future__ import annotations

import re

# a negation word or phrase, without its surrounding boundaries; "no more than", "not less
# than" and the like are comparisons, not negations (``COMPARATIVE`` tells them apart)
NEGATOR = (r"(?:not|no|nothing|none|never|nor|neither|without|besides|apart from|aside from|"
           r"except(?: for)?|excluding|other than|rather than|instead of|but not|"
           r"isn'?t|aren'?t|is not|are not|"
           r"(?:do|does|did)(?:n'?t| not) (?:want|need|like|use|care for)|dont (?:want|need)|"
           r"(?:anything|everything|any(?:one|thing)? else) but|skip(?:ping)?|leave out|leaving out|exclude|minus)")
COMPARATIVE = r"(?:more|less|fewer|bigger|larger|smaller|greater|higher|lower|older|newer|longer|shorter)\s+than\b"
# "not just English", "not only Llama": more than the thing named, not its exclusion
NOT_ONLY = re.compile(r"\b(?:not|isn'?t|aren'?t|is not|are not)\s+(?:just|only|purely|solely|exclusively)\s+$",
                      re.I)
