"""Knowledge bases: named collections of documents with a full-text language."""
