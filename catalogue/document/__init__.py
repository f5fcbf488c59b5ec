"""The interactive CSPA 2.0 document: chapters as Markdown data, loaded and rendered by content.py."""
