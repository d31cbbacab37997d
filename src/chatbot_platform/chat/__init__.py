"""Grounded answers: retrieval, the confidence rules, a prompt with numbered sources, the chat model
(or an extractive answer without one), citations checked against the context, conversation memory.

Channels (the OpenAI-compatible API in `openai_compat/`, later the widget) speak to `service`
with the product's own types in `schemas`.
"""
