"""Embedding providers: the offline local model by default, OpenAI-compatible endpoints when configured."""
