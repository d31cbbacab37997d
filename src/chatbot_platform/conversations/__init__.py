"""Conversations stored server-side: the exchanges of a `conversation_id`, with their sources."""
