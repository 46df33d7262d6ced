"""The Streamlit app's pieces, beside ``app.py``: the library (:mod:`assistant`) has no UI code."""
