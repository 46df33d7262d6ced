"""spaCy, imported once and without torch.

thinc, under spaCy, imports torch whenever it is installed (a second and 200 MB), though the CPU
pipelines used here (the sentencizer, the small English model's entity recogniser) never use it:
unless something loaded torch already, spaCy is imported with torch hidden, and torch is
importable again right after. The window is spaCy's import (under a second, once per process): a
thread importing torch in it would fail.
"""

from __future__ import annotations

import sys


def import_spacy():
    hide = "torch" not in sys.modules and "spacy" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # makes `import torch` raise ImportError
    try:
        import spacy
    finally:
        if hide and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy
