"""Text for Streamlit's markdown renderers, shown literally.

Everything a document, a file name, a question or a model writes goes through :func:`escape`
before it reaches ``st.markdown``, ``st.table``, alerts or captions, so nothing in it is taken
as markdown, HTML, a link, an image or a Streamlit directive (``:red[...]``, ``$math$``).
"""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=&\"'])")


def escape(text: str) -> str:
    """Every markdown/HTML character backslash-escaped; line breaks kept as hard breaks."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def broken_index(exc: Exception) -> str:
    """The message for an index that cannot be used, with the command that recovers it."""
    return f"{escape(str(exc))}. Run `assistant index --rebuild` to rebuild it."
